"""The hooks through which an estimator says what its targets are, and what they call for:
the output layer, the default loss and metrics, the weights and the validation split.

``_BaseCNN.fit`` calls them in order; the classifier (``_class_targets``) and the
regressor implement them. ``_encode_targets`` returns an ``EncodedTargets`` value that
every later hook receives, so no hook reads state an earlier step of the same fit left
on the estimator.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

import numpy as np
from sklearn.model_selection import ShuffleSplit

from . import _planning, _scikeras
from ._targets import EncodedTargets
from ._validation import split_validation


class TargetHooks(metaclass=ABCMeta):
    """The abstract hooks (a subclass implements them) and the defaults both estimators
    share (the classifier overrides some)."""

    # -- the hooks a subclass implements: its targets and what they call for ------------
    @property
    @abstractmethod
    def _numeric_targets(self) -> bool:
        """Whether ``y`` holds numbers to predict (the regressor: scikit-learn's checks
        convert it to float) rather than class labels of any type (the classifier)."""

    @abstractmethod
    def _encode_targets(self, y, classes=None, reset=True) -> EncodedTargets:
        """``y`` (already through scikit-learn's checks) as the model trains on it, with
        what the rest of the fit derives from it.

        ``reset``: a fit that starts afresh learns the classes or outputs from ``y``
        (``classes``, where given, names the classifier's classes) and returns them as
        fitted attributes, which the fit sets once the model is trained; otherwise ``y``
        is checked against those of the fitted model it continues. Returned, not set,
        so that every later step of the fit reads this fit's targets, never state a step
        before it has left on the estimator.
        """

    @abstractmethod
    def _output_activation(self, targets: EncodedTargets) -> str:
        """The activation of the output layer of a registered architecture: softmax over
        the classes, sigmoid per label, linear for regression."""

    @abstractmethod
    def _output_losses(self, params, targets: EncodedTargets) -> dict[int, Any]:
        """The default loss for each output width the model may have (the user's
        ``loss`` replaces it): a ``model=`` builder may choose, say, one sigmoid unit or
        two softmax units for two classes, and the loss must fit the width it chose. The
        largest width is the one a registered architecture is built with."""

    @abstractmethod
    def _metrics(self, targets: EncodedTargets) -> list[str]:
        """The metrics compiled (and logged in ``history_``) when ``metrics=None``."""

    @abstractmethod
    def _target_metadata(self, targets: EncodedTargets) -> dict[str, Any]:
        """The keyword arguments of ``_scikeras.meta`` that describe the targets: what a
        scikeras builder reads from ``meta`` about ``y`` (``n_outputs``, and the
        classifier's ``classes``, ``target_encoder`` and ``target_type``)."""

    # -- what the hooks leave the same for both estimators (the classifier overrides) ----
    def _n_classes(self, targets):
        """Classes of one-hot targets (label mixing); None where targets are not classes."""
        return None

    def _training_weights(self, targets, sample_weight):
        """The per-sample weights of the loss: ``sample_weight`` (already checked)."""
        return sample_weight

    def _split_validation(self, targets, seed, params=None):
        """Indices (train, validation); validation is None when no split is asked for."""
        params = params or _scikeras.effective_params(self.get_params(deep=False))
        fraction = _planning.validation_fraction(params)
        n_samples = len(targets.values)
        if fraction is None:
            return np.arange(n_samples), None
        return split_validation(
            self._validation_splitter(fraction, seed, targets), fraction, n_samples, targets.values
        )

    def _validation_splitter(self, fraction, seed, targets):
        """The splitter of the validation set: shuffled (the classifier's: stratified)."""
        return ShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
