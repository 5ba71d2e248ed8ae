"""The estimators' shared face: parameters, validation, the fit plan, predictions.

``fit``, ``partial_fit`` and ``initialize`` validate, turn the parameters into one
``training.FitPlan`` and call ``training.run_fit`` once; the training package never
calls back. TensorFlow is imported on the first ``fit``, not when this module is.

What differs between the classifier and the regressor (their targets, and the output,
loss and metrics that go with them) is a small set of hooks ``_BaseCNN`` declares as
abstract methods; ``_encode_targets`` returns an ``EncodedTargets`` that the fit hands
to the others.
"""

from __future__ import annotations

import inspect
import os
import warnings
from abc import ABCMeta
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.callback import CallbackSupportMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._sklearn_compat import _check_sample_weight
from .._stacklevel import user_stacklevel
from . import _planning, _routing, _scikeras
from ._constraints import PARAMETER_CONSTRAINTS, Activation, AugmentMode, Flip, Initializer
from ._params import RoutedParameters
from ._sklearn_callbacks import reports_to_callbacks
from ._target_hooks import TargetHooks
from ._validation import changed_parameters, check_images
from .persistence import fill_new_parameters

if TYPE_CHECKING:
    from typing import TypeAlias

    import keras
    from typing_extensions import Self

    # losses and metrics: Keras names, Loss/Metric classes or instances, functions, or a
    # list or dict of them
    KerasObjects: TypeAlias = str | Callable[..., Any] | list[Any] | dict[str, Any]
    # a callback, a Callback class (built with callbacks__*), or a list or dict of them
    Callbacks: TypeAlias = (
        keras.callbacks.Callback | type[keras.callbacks.Callback] | list[Any] | dict[str, Any]
    )

# the scikeras names set on the estimator after fit (the rest of meta is the builder's)
SCIKERAS_ATTRIBUTES = ("n_classes_", "n_outputs_", "n_outputs_expected_", "target_type_")


class _BaseCNN(
    CallbackSupportMixin,
    _scikeras.EncoderAttributes,
    RoutedParameters,
    TargetHooks,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Shared parameters, validation, plan and predictions of the estimators.

    A subclass implements the hooks below (the abstract methods): what its targets are,
    and the output layer, default loss and metrics they call for.
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        architecture: str | Callable[..., keras.Model] = "auto",
        *,
        model: keras.Model | Callable[..., keras.Model] | None = None,
        image_shape: Sequence[int] | None = None,
        image_size: Sequence[int] | None = None,
        channels: Literal[1, 3] | None = None,
        image_cache: str | os.PathLike[str] | None = None,
        filters: int = 32,
        kernel_size: int | tuple[int, int] = 3,
        dense_units: int = 128,
        n_blocks: int = 2,
        activation: Activation | None = "relu",
        kernel_initializer: Initializer = "glorot_uniform",
        dropout: float = 0.25,
        batch_norm: bool | None = None,
        residual: bool = False,
        l1: float = 0.0,
        l2: float = 0.0,
        weights: str | os.PathLike[str] | None = None,
        freeze_epochs: int = 0,
        fine_tune_layers: Literal["all"] | int = "all",
        fine_tune_learning_rate: float | None = None,
        optimizer: str | type[keras.optimizers.Optimizer] | keras.optimizers.Optimizer = "adam",
        learning_rate: float = 0.001,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float | None = None,
        loss: KerasObjects | None = None,
        metrics: KerasObjects | None = None,
        run_eagerly: bool = False,
        batch_size: int | None = 32,
        epochs: int = 10,
        shuffle: bool = True,
        warm_start: bool = False,
        lr_schedule: str = "auto",
        lr_decay: float = 0.0,
        lr_step_size: int = 10,
        lr_drop: float = 0.5,
        lr_min_fraction: float = 0.0,
        lr_power: float = 1.0,
        lr_restart_epochs: int = 10,
        lr_schedule_epochs: int | None = None,
        lr_patience: int = 3,
        warmup_epochs: int = 0,
        rotation: float | None = 0.0,
        translation: float | None = 0.0,
        zoom: float | None = 0.0,
        shear: float | None = 0.0,
        flip: Flip | None = "auto",
        elastic: float | None = 0.0,
        brightness: float | None = 0.0,
        contrast: float | None = 0.0,
        gamma: float | None = 0.0,
        hue: float | None = 0.0,
        saturation: float | None = 0.0,
        erasing: float | None = 0.0,
        randaugment: int | None = 0,
        mixup: float | None = 0.0,
        cutmix: float | None = 0.0,
        augment_mode: AugmentMode = "online",
        augment_copies: int = 1,
        early_stopping: bool = False,
        validation_fraction: float | None = None,
        validation_split: float = 0.0,
        n_iter_no_change: int = 5,
        tol: float = 1e-4,
        class_weight: dict[Any, float] | Literal["balanced"] | None = None,
        callbacks: Callbacks | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        **routed_params: Any,
    ) -> None:
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
        self.residual = residual
        self.l1 = l1
        self.l2 = l2
        self.weights = weights
        self.freeze_epochs = freeze_epochs
        self.fine_tune_layers = fine_tune_layers
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.loss = loss
        self.metrics = metrics
        self.run_eagerly = run_eagerly
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.lr_step_size = lr_step_size
        self.lr_drop = lr_drop
        self.lr_min_fraction = lr_min_fraction
        self.lr_power = lr_power
        self.lr_restart_epochs = lr_restart_epochs
        self.lr_schedule_epochs = lr_schedule_epochs
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
        self.validation_split = validation_split
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(routed_params)

    # -- fit, as a list of steps ------------------------------------------------------
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train a fresh Keras model on images ``X`` and targets ``y``.

        With ``warm_start=True`` a fitted estimator trains its ``model_`` further
        (``epochs`` more epochs) instead of building a new one.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels), \
(n_samples, height, width) or (n_samples, n_features); or array of str of shape (n_samples,)
            Images in any numeric dtype, used as given (uint8 is scaled by 1/255 per
            batch, never copied whole; memory-mapped arrays are read batch by batch),
            or paths of PNG/JPEG/BMP/GIF files, decoded per batch to ``image_size``.
            With ``model=`` and no ``image_shape``, X reaches the model in its own
            shape and values (cast to float32), as in scikeras.
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
        return self._fit_with_error_note(X, y, sample_weight, mode="fit")

    def initialize(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Build and compile the model for ``X`` and ``y`` without training it
        (scikeras's ``initialize``: a pre-trained ``model=`` predicts at once).

        Parameters
        ----------
        X, y : array-like
            As for ``fit``; they fix the input shape and the classes or targets.

        Returns
        -------
        self : object
        """
        return self._fit_with_error_note(X, y, None, mode="initialize")

    def _fit_with_error_note(self, X, y, sample_weight, *, mode, classes=None):
        """``_fit``; an error raised there gets a note naming the parameters that differ
        from their defaults, so a search's ``FitFailedWarning`` says which configuration
        failed."""
        try:
            return self._fit(X, y, sample_weight, mode=mode, classes=classes)
        except Exception as error:
            if hasattr(error, "add_note"):
                error.add_note(f"{type(self).__name__} configuration: {changed_parameters(self)}")
            raise

    @reports_to_callbacks
    def _fit(self, X, y, sample_weight, *, mode, classes=None):
        """One fit: ``mode`` is "fit", "partial" (one more epoch) or "initialize" (none)."""
        from ..training import FitPlan, run_fit

        self._validate_params()
        raw = self.get_params(deep=False)
        params, extras = _scikeras.effective_params(raw), _routing.unrouted(self._routed_params())
        extras = [name for name in extras if name not in _scikeras.FIT_KEYWORDS]
        params["model"] = self._builder()
        _routing.check_routed_names(
            type(self).__name__,
            extras,
            self._get_param_names(),
            builder=params["model"] is not None,
        )
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        previous = self._previous_model(mode)
        images, y = check_images(
            self,
            X,
            y,
            reset=previous is None,
            y_numeric=self._numeric_targets,
            keep_layout=self._keeps_layout(),
        )
        targets = self._encode_targets(y, classes, reset=previous is None)
        params = _planning.resolve_auto(params, images.image_shape)
        self._check_augmentation(params, images)
        weights = self._training_weights(
            targets, _check_sample_weight(sample_weight, _rows(len(targets.values)))
        )
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        train, validation = self._split_validation(targets, seed, params)
        params = _planning.resolved_batch_sizes(params, len(train))
        self._warn_about_settings(len(train), params["batch_size"])
        meta = self._meta(images, y, targets)
        spec = _planning.model_spec(
            params,
            raw_params=raw,
            extras=extras,
            output_losses=self._output_losses(params, targets),
            default_metrics=self._metrics(targets),
            output_activation=self._output_activation(targets),
            meta=meta,
            continue_from=previous,
            loss_is_default=self._is_default("loss"),
        )
        start = self.n_epochs_ if mode == "partial" and previous is not None else 0
        stop = {"fit": params["epochs"], "partial": start + 1, "initialize": 0}[mode]
        training = _planning.training_settings(
            params, lr0=_planning.initial_learning_rate(spec), epochs=stop, initial_epoch=start
        )
        if mode == "fit":  # partial_fit's epochs follow the schedule one call at a time
            _planning.warn_if_schedule_inert(training.schedule, stacklevel=user_stacklevel())
        fresh = mode == "fit" and previous is None  # only a fresh fit may resume from a checkpoint
        checkpoint = _planning.checkpointing(params, type(self).__name__) if fresh else None
        result = run_fit(
            FitPlan(
                images,
                targets.values,
                weights,
                train,
                validation,
                self._n_classes(targets),
                spec,
                training,
                seed,
                checkpoint,
            )
        )
        self._record(result, meta, targets, continued=start > 0)
        self.architecture_ = params["architecture"] if params["model"] is None else None
        return self

    def __setstate__(self, state):
        """Unpickle; a parameter added since the pickle was made takes its default."""
        super().__setstate__(state)
        fill_new_parameters(self)

    def _builder(self):
        """The scikeras-style builder: ``model``, or a subclass's ``_keras_build_fn``."""
        own = getattr(self, "_keras_build_fn", None)
        if self.model is not None and own is not None:
            raise ValueError(
                "This class cannot implement ``_keras_build_fn`` if using the `model` "
                "parameter: pass one builder."
            )
        return self.model if self.model is not None else own

    def _is_default(self, name):
        """Whether parameter ``name`` still holds its constructor default (the object itself)."""
        parameter = inspect.signature(type(self).__init__).parameters.get(name)
        return parameter is not None and getattr(self, name) is parameter.default

    def _keeps_layout(self):
        """X goes to a builder's model as given, unless ``image_shape`` asks for images."""
        return self._builder() is not None and self.image_shape is None

    def _previous_model(self, mode):
        """The fitted model a warm-started fit or a ``partial_fit`` trains further."""
        fitted = hasattr(self, "model_")
        return (
            self.model_
            if fitted and (mode == "partial" or (mode == "fit" and self.warm_start))
            else None
        )

    def _meta(self, images, y, targets):
        """scikeras's ``meta`` for this fit (the model's view of X, and y)."""
        X_dtype = np.dtype(np.uint8) if images.from_files else images.source.dtype
        X_shape = (len(images), *images.image_shape)
        return _scikeras.meta(X_shape, X_dtype, np.asarray(y), **self._target_metadata(targets))

    def _record(self, result, meta, targets, continued):
        """Fitted attributes from the targets and the fit's result (a continued fit
        extends the history)."""
        vars(self).update(targets.attributes)
        if continued:
            result = result._replace(
                history={k: self.history_.get(k, []) + v for k, v in result.history.items()},
                n_epochs=self.n_epochs_ + result.n_epochs,
                best_epoch=result.best_epoch or self.best_epoch_,
            )
        self.model_, self.history_ = result.model, result.history
        self.n_epochs_, self.best_epoch_ = result.n_epochs, result.best_epoch
        self.epoch_seconds_ = result.epoch_seconds
        # the epochs restored from a checkpoint or trained before
        self.initial_epoch_ = min(result.initial_epoch, self.n_epochs_)
        vars(self).update({k: meta[k] for k in SCIKERAS_ATTRIBUTES if k in meta})

    def _check_augmentation(self, params, images):
        if _planning.uses_augmentation(params) and len(images.image_shape) != 3:
            raise ValueError(
                "Augmentation needs images of shape (height, width, channels), but X reaches the "
                f"model with samples of shape {images.image_shape}: pass image_shape=..., or turn "
                "augmentation off."
            )

    def _warn_about_settings(self, n_train, batch_size):
        if batch_size > n_train:
            warnings.warn(
                f"batch_size={batch_size} is larger than the {n_train} training samples: each "
                f"epoch is one batch of {n_train}. Lower batch_size to get more than one step per "
                "epoch.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted estimator to directory ``path`` as Keras ``.keras`` plus JSON
        (no pickle); read it back with :func:`sklearn_keras_hpo.load`.

        Parameters
        ----------
        path : str or path-like
            The directory to write (created if needed).

        Returns
        -------
        path : pathlib.Path
            The directory written.
        """
        from .persistence import save

        return save(self, path)

    def _augmentation_settings(self, image_shape=None):
        """The augmentation as a fit on images of ``image_shape`` (default: the fitted
        ``image_shape_``) applies it: ``flip="auto"`` resolved (off when no shape is known)."""
        params = self.get_params(deep=False)
        shape = getattr(self, "image_shape_", None) or image_shape
        params = (
            _planning.resolve_auto(params, shape) if shape is not None else {**params, "flip": None}
        )
        return _planning.augmentation_settings(params)

    def _outputs(self, X):
        from ..training import predict_outputs

        check_is_fitted(self)
        images = check_images(self, X, reset=False, keep_layout=self._keeps_layout())
        return predict_outputs(self.model_, images)


def _rows(n_samples):
    """A stand-in for X where only the number of rows matters (no memory: zero strides)."""
    return np.broadcast_to(np.float32(0), (n_samples, 1))
