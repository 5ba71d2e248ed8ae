"""``EncodedTargets``: what ``_encode_targets`` returns to the shared fit of ``_BaseCNN``.

The targets of one fit, encoded for Keras, with everything the rest of that fit derives
from them (output width, default loss and metrics, scikeras's ``meta``, class weights, the
validation split). The fit hands this value to each hook that needs it, so no hook reads
state that an earlier step of the same fit has set on the estimator; the fitted
attributes it carries are set on the estimator in one step, once the model is trained.
"""

from typing import Any, NamedTuple

import numpy as np

from ._multilabel import TARGET_TYPE as MULTILABEL


class EncodedTargets(NamedTuple):
    """One fit's targets as the model trains on them, and what follows from them.

    Attributes
    ----------
    values : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        What Keras trains on: class indices (int32), a 0/1 label matrix (float32) or
        regression targets as columns (float32).
    n_outputs : int
        scikeras's ``n_outputs_``: columns of ``y`` (1 for class labels, the labels of a
        label matrix, the regression targets).
    target_type : str or None
        "binary", "multiclass" or "multilabel-indicator" for the classifier; None for
        the regressor (scikeras's ``target_type_`` is then ``type_of_target(y)``).
    classes : ndarray or None
        The classifier's ``classes_`` (a label matrix's column labels); None for the
        regressor.
    encoder : transformer or None
        scikeras's ``target_encoder_`` (None: the identity).
    attributes : dict
        The estimator attributes a fit that starts afresh sets from these targets
        (``classes_``, ``n_outputs_``, and private ones ``predict`` reads); empty when
        the fit continues a fitted model, whose attributes stay.
    """

    values: np.ndarray
    n_outputs: int
    target_type: str | None
    classes: np.ndarray | None
    encoder: Any
    attributes: dict[str, Any]

    @property
    def multilabel(self) -> bool:
        """Whether the targets are a multi-label 0/1 indicator matrix."""
        return self.target_type == MULTILABEL
