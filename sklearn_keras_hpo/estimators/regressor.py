"""``CNNRegressor``: the scikit-learn regressor over the shared ``_BaseCNN``."""

from __future__ import annotations

from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin

from .._sklearn_compat import Options
from ..model.augmentation import LABEL_MIXERS
from ._base import _BaseCNN
from ._targets import EncodedTargets

if TYPE_CHECKING:
    from typing_extensions import Self


class CNNRegressor(RegressorMixin, _BaseCNN):
    """Keras image regressor: the parameters of ``CNNClassifier`` with a linear output
    and mean squared error.

    Parameters
    ----------
    architecture, model, image_shape, filters, kernel_size, dense_units, n_blocks, residual, \
activation, kernel_initializer, dropout, batch_norm, l1, l2, weights, freeze_epochs, \
fine_tune_layers, fine_tune_learning_rate, optimizer, \
learning_rate, momentum, nesterov, weight_decay, loss, metrics, run_eagerly, \
batch_size, epochs, shuffle, warm_start, early_stopping, validation_fraction, \
validation_split, n_iter_no_change, tol, callbacks, random_state, verbose
        As for :class:`CNNClassifier`; the validation split is shuffled, not
        stratified.
    class_weight : None
        Must stay None: a regressor has no classes.

    Attributes
    ----------
    n_outputs_ : int
        Number of regression targets.
    n_features_in_, image_shape_, model_, history_, n_epochs_, best_epoch_, architecture_, \
epoch_seconds_, initial_epoch_
        As for :class:`CNNClassifier` (``history_`` holds ``loss`` and ``mae``).
    target_type_, n_outputs_expected_
        scikeras's names: ``type_of_target(y)`` and 1.
    target_encoder_, feature_encoder_
        scikeras's names: identity transformers (y and X reach the model as given).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_keras_hpo import CNNRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((200, 8, 8))
    >>> y = X.mean(axis=(1, 2))
    >>> reg = CNNRegressor(filters=4, epochs=2, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        **_BaseCNN._parameter_constraints,
        "class_weight": [None],
        **{name: [None, Options(Real, {0.0})] for name in LABEL_MIXERS},  # no labels to mix
    }
    _numeric_targets = True

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Train for one more epoch, from the fitted model (a new one on the first call).

        Parameters
        ----------
        X, y, sample_weight
            As for ``fit``.

        Returns
        -------
        self : object
        """
        return self._fit_with_error_note(X, y, sample_weight, mode="partial")

    def _encode_targets(self, y, classes=None, reset=True):
        y = np.asarray(y, dtype=np.float32)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if not reset and n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} target column(s), but {type(self).__name__} was fitted "
                f"on {self.n_outputs_}."
            )
        # predict returns 1-D predictions for a 1-D y
        attributes = {"n_outputs_": n_outputs, "_single_target": y.ndim == 1} if reset else {}
        return EncodedTargets(y.reshape(len(y), -1), n_outputs, None, None, None, attributes)

    def _output_activation(self, targets):
        return "linear"

    def _output_losses(self, params, targets):
        return {targets.n_outputs: "mse"}

    def _metrics(self, targets):
        return ["mae"]

    def _target_metadata(self, targets):
        return {"n_outputs": targets.n_outputs}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted targets.

        Parameters
        ----------
        X : array-like of images
            As for ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        outputs = self._outputs(X)
        return outputs.ravel() if self._single_target else outputs
