"""The estimators' shared face: parameters, validation, the fit plan, predictions.

``fit`` validates, turns the parameters into one ``training.FitPlan`` and calls
``training.run_fit`` once; the training package never calls back. TensorFlow is
imported on the first ``fit``, not when this module is.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import ShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _planning, _routing
from ._validation import check_images
from .architectures import ARCHITECTURES
from .augmentation import LABEL_MIXERS, TRANSFORMS
from .schedules import SCHEDULE_NAMES

ACTIVATIONS = {"relu", "tanh", "sigmoid", "elu", "selu", "swish", "gelu", "linear"}
INITIALIZERS = {
    "uniform", "lecun_uniform", "lecun_normal", "normal", "zeros", "glorot_normal",
    "glorot_uniform", "he_normal", "he_uniform", "random_uniform", "random_normal",
    "orthogonal",
}  # fmt: skip
OPTIMIZER_NAMES = {"sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", "nadam", "adamw"}
DEFAULT_VALIDATION_FRACTION = 0.1


class _BaseCNN(BaseEstimator):
    """Shared parameters, validation, plan and predictions of the estimators."""

    _parameter_constraints = {
        "architecture": [StrOptions(ARCHITECTURES.keys()), callable],
        "model": [None, callable],
        "image_shape": [None, tuple, list],
        "image_size": [None, tuple, list],
        "channels": [None, Options(Integral, {1, 3})],
        "image_cache": [None, str, os.PathLike],
        "filters": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), tuple],
        "dense_units": [Interval(Integral, 1, None, closed="left")],
        "n_blocks": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(ACTIVATIONS), None],
        "kernel_initializer": [StrOptions(INITIALIZERS)],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "l1": [Interval(Real, 0, None, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(OPTIMIZER_NAMES), type],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterov": ["boolean"],
        "weight_decay": [None, Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "lr_schedule": [StrOptions(SCHEDULE_NAMES)],
        "lr_decay": [Interval(Real, 0, None, closed="left")],
        "lr_step_size": [Interval(Integral, 1, None, closed="left")],
        "lr_drop": [Interval(Real, 0, 1, closed="right")],
        "lr_min_fraction": [Interval(Real, 0, 1, closed="both")],
        "lr_power": [Interval(Real, 0, None, closed="neither")],
        "lr_restart_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr_patience": [Interval(Integral, 1, None, closed="left")],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        **{name: [None, Interval(Real, 0, None, closed="left")] for name in TRANSFORMS},
        "flip": [None, StrOptions({"horizontal", "vertical", "horizontal_and_vertical"})],
        "randaugment": [None, Interval(Integral, 0, None, closed="left")],
        **{name: [None, Interval(Real, 0, None, closed="left")] for name in LABEL_MIXERS},
        "augment_mode": [StrOptions({"online", "precomputed"})],
        "augment_copies": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [None, Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "class_weight": [None, dict, StrOptions({"balanced"})],
        "callbacks": [None, list],
        "checkpoint_dir": [None, str, os.PathLike],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        architecture="cnn",
        *,
        model=None,
        image_shape=None,
        image_size=None,
        channels=None,
        image_cache=None,
        filters=32,
        kernel_size=3,
        dense_units=128,
        n_blocks=2,
        activation="relu",
        kernel_initializer="glorot_uniform",
        dropout=0.25,
        batch_norm=False,
        l1=0.0,
        l2=0.0,
        optimizer="adam",
        learning_rate=0.001,
        momentum=0.0,
        nesterov=False,
        weight_decay=None,
        batch_size=32,
        epochs=10,
        lr_schedule="constant",
        lr_decay=0.0,
        lr_step_size=10,
        lr_drop=0.5,
        lr_min_fraction=0.0,
        lr_power=1.0,
        lr_restart_epochs=10,
        lr_patience=3,
        warmup_epochs=0,
        rotation=0.0,
        translation=0.0,
        zoom=0.0,
        shear=0.0,
        flip=None,
        elastic=0.0,
        brightness=0.0,
        contrast=0.0,
        gamma=0.0,
        hue=0.0,
        saturation=0.0,
        erasing=0.0,
        randaugment=0,
        mixup=0.0,
        cutmix=0.0,
        augment_mode="online",
        augment_copies=1,
        early_stopping=False,
        validation_fraction=None,
        n_iter_no_change=5,
        tol=1e-4,
        class_weight=None,
        callbacks=None,
        checkpoint_dir=None,
        random_state=None,
        verbose=0,
        **routed_params,
    ):
        self.architecture = architecture
        self.model = model
        self.image_shape = image_shape
        self.image_size = image_size
        self.channels = channels
        self.image_cache = image_cache
        self.filters = filters
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.n_blocks = n_blocks
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.l1 = l1
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.lr_step_size = lr_step_size
        self.lr_drop = lr_drop
        self.lr_min_fraction = lr_min_fraction
        self.lr_power = lr_power
        self.lr_restart_epochs = lr_restart_epochs
        self.lr_patience = lr_patience
        self.warmup_epochs = warmup_epochs
        self.rotation = rotation
        self.translation = translation
        self.zoom = zoom
        self.shear = shear
        self.flip = flip
        self.elastic = elastic
        self.brightness = brightness
        self.contrast = contrast
        self.gamma = gamma
        self.hue = hue
        self.saturation = saturation
        self.erasing = erasing
        self.randaugment = randaugment
        self.mixup = mixup
        self.cutmix = cutmix
        self.augment_mode = augment_mode
        self.augment_copies = augment_copies
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(routed_params)

    # -- scikeras-style routed parameters are real parameters -------------------------
    def _routed_params(self):
        """Parameters beyond the signature: scikeras-style ``model__*`` & co.

        Like ``__init__``, ``set_params`` only stores them; ``fit`` rejects any
        whose name does not start with a routing prefix.
        """
        named = set(self._get_param_names())
        return {k: v for k, v in vars(self).items() if k not in named and not k.endswith("_")
                and not k.startswith("_")}

    def get_params(self, deep=True):
        return {**super().get_params(deep=deep), **self._routed_params()}

    def set_params(self, **params):
        named = set(self._get_param_names())
        for name in [name for name in params if name not in named]:
            setattr(self, name, params.pop(name))
        return super().set_params(**params)

    # -- fit, as a list of steps ------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train a fresh Keras model on images ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels), \
(n_samples, height, width) or (n_samples, n_features); or array of str of shape (n_samples,)
            Images in any numeric dtype, used as given (uint8 is scaled by 1/255 per
            batch, never copied whole; memory-mapped arrays are read batch by batch),
            or paths of PNG/JPEG/BMP/GIF files, decoded per batch to ``image_size``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classifier) or targets (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights for the training loss.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        TrainingDivergedError
            The loss became NaN or infinite; training stopped there. A search scores
            this configuration with its ``error_score`` and goes on.
        InsufficientMemoryError
            The fit would need more memory than is available; nothing was allocated.
        """
        try:
            return self._fit(X, y, sample_weight)
        except Exception as error:  # name the configuration in a search's FitFailedWarning
            if hasattr(error, "add_note"):
                error.add_note(f"{type(self).__name__} configuration: {self._configuration()}")
            raise

    def _configuration(self):
        """The parameters that differ from the defaults, as ``name=value, ...``."""
        defaults = type(self)().get_params(deep=False)
        changed = {k: v for k, v in self.get_params(deep=False).items()
                   if k not in ("checkpoint_dir", "verbose") and (k not in defaults or repr(v) != repr(defaults[k]))}
        return ", ".join(f"{k}={v!r}" for k, v in sorted(changed.items())) or "all defaults"

    def _fit(self, X, y, sample_weight):
        from .training import FitPlan, run_fit

        self._validate_params()
        _routing.check_routed_names(type(self).__name__, self._routed_params(), self._get_param_names())
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        images, y = check_images(self, X, y, reset=True, y_numeric=self._numeric_targets)
        targets = self._encode_targets(y)
        n_samples = len(targets)
        weights = self._training_weights(targets, _check_sample_weight(sample_weight, _rows(n_samples)))
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        train, validation = self._split_validation(n_samples, targets, seed)
        self._warn_about_settings(len(train))
        params = self.get_params(deep=False)
        plan = FitPlan(
            images, targets, weights, train, validation, self._n_classes(), self._model_spec(params),
            _planning.training_settings(params), seed, _planning.checkpointing(params, type(self).__name__),
        )  # fmt: skip
        result = run_fit(plan)
        self.model_, self.history_ = result.model, result.history
        self.n_epochs_, self.best_epoch_ = result.n_epochs, result.best_epoch
        return self

    def _model_spec(self, params):
        meta = {
            "n_features_in_": self.n_features_in_,
            "X_shape_": (None, *self.image_shape_),
            "n_outputs_expected_": 1,
            **self._target_metadata(),
        }
        return _planning.model_spec(
            params, n_outputs=self._n_model_outputs(), output_activation=self._output_activation,
            loss=self._training_loss(), metrics=self._metrics, meta=meta,
        )  # fmt: skip

    def _warn_about_settings(self, n_train):
        if self.batch_size > n_train:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {n_train} training samples: each "
                f"epoch is one batch of {n_train}. Lower batch_size to get more than one step per epoch.",
                UserWarning, stacklevel=4,
            )  # fmt: skip

    def save(self, path):
        """Write the fitted estimator to directory ``path`` as Keras ``.keras`` plus JSON
        (no pickle); read it back with :func:`sklearn_keras_hpo.load`."""
        from .persistence import save

        return save(self, path)

    def _n_classes(self):
        return None

    def _training_weights(self, targets, sample_weight):
        return sample_weight

    def _split_validation(self, n_samples, targets, seed):
        """Indices (train, validation); validation is None when no split is asked for."""
        fraction = self.validation_fraction
        if fraction is None and self.early_stopping:
            fraction = DEFAULT_VALIDATION_FRACTION
        if fraction is None:
            return np.arange(n_samples), None
        splitter = self._validation_splitter(fraction, seed)
        try:
            return next(splitter.split(np.zeros((n_samples, 1)), targets))
        except ValueError as error:
            raise ValueError(
                f"validation_fraction={fraction} cannot hold out a validation split from "
                f"{n_samples} samples ({error}). Pass more data or a larger "
                "validation_fraction, or set early_stopping=False."
            ) from error

    def _validation_splitter(self, fraction, seed):
        return ShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)

    def _augmentation_settings(self):
        return _planning.augmentation_settings(self.get_params(deep=False))

    def _training_loss(self):
        return self._loss

    def _outputs(self, X):
        from .training import predict_outputs

        check_is_fitted(self)
        return predict_outputs(self.model_, check_images(self, X, reset=False))


def _rows(n_samples):
    """A stand-in for X where only the number of rows matters (no memory: zero strides)."""
    return np.broadcast_to(np.float32(0), (n_samples, 1))
