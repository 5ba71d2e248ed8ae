"""scikit-learn estimators wrapping Keras image models.

``fit`` reads as its list of steps; the Keras work lives in ``_training``, the
input checks in ``_validation`` and the model builders in ``architectures``.
TensorFlow is imported on the first ``fit``, not when this module is.
"""

import math
import os
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _routing
from ._validation import check_class_labels, check_images
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
_KERAS_INITIALIZER_ALIASES = {"uniform": "random_uniform", "normal": "random_normal"}


class _BaseCNN(BaseEstimator):
    """Shared parameters, validation and training loop of the estimators."""

    _parameter_constraints = {
        "architecture": [StrOptions(ARCHITECTURES.keys()), callable],
        "model": [None, callable],
        "image_shape": [None, tuple, list],
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
(n_samples, height, width) or (n_samples, n_features)
            Images; uint8 input is scaled by 1/255, other dtypes are used as given.
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
        self._validate_params()
        _routing.check_routed_names(type(self).__name__, self._routed_params(), self._get_param_names())
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X, y = check_images(self, X, y, reset=True, y_numeric=self._numeric_targets)
        targets = self._encode_targets(y)
        weights = self._training_weights(targets, _check_sample_weight(sample_weight, X))
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        train, validation = self._split_validation(len(X), targets, seed)
        if self.batch_size > len(train):
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {len(train)} training samples: each "
                f"epoch is one batch of {len(train)}. Lower batch_size to get more than one step per epoch.",
                UserWarning, stacklevel=3,
            )  # fmt: skip
        from . import _model_cache, _training

        with _training.seeded(seed), _training.dropped_gradient_registrations():
            model = self._build_compiled_model(X.shape[1:])
            trainer = _model_cache.trainer_for(
                model, self._structure_key(model, X.shape[1:]), self._compile_kwargs()
            )
            key = self._checkpoint_key(X, targets, weights)
            past = self._restore_checkpoint(trainer, key)
            history = self._train(trainer, X, targets, weights, train, validation, seed, past.epochs)
            _training.check_finite_loss(history)
            if trainer is not model:
                _model_cache.copy_state(trainer, model)
            _training.release_kernel_cache()
        self.model_ = model
        self._record_history(past, history)
        if key is not None and history is not None:  # a restored fit is on disk already
            self._save_checkpoint(trainer, key)
        return self

    def save(self, path):
        """Write the fitted estimator to directory ``path`` as Keras ``.keras`` plus JSON
        (no pickle); read it back with :func:`sklearn_keras_hpo.load`."""
        from .persistence import save

        return save(self, path)

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

    def _build_compiled_model(self, input_shape):
        from . import _training
        from .architectures import build_model

        params = self.get_params(deep=False)
        optimizer = _training.make_optimizer(
            self.optimizer,
            learning_rate=self.learning_rate,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
            extra=_routing.routed(params, "optimizer"),
        )
        if self.model is not None:
            model = self._build_scikeras_style(input_shape, optimizer, params)
        else:
            hyperparameters = {**self._architecture_hyperparameters(), **_routing.routed(params, "model")}
            model = build_model(self.architecture, input_shape, self._n_model_outputs(), **hyperparameters)
        return _training.compile_model(model, optimizer, **self._compile_kwargs())

    def _compile_kwargs(self):
        extra = _routing.routed(self.get_params(deep=False), "compile")
        return {"loss": self._training_loss(), "metrics": self._metrics, "extra": extra}

    def _architecture_hyperparameters(self):
        return {
            "output_activation": self._output_activation,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dense_units": self.dense_units,
            "n_blocks": self.n_blocks,
            "activation": self.activation or "linear",
            "kernel_initializer": _KERAS_INITIALIZER_ALIASES.get(
                self.kernel_initializer, self.kernel_initializer
            ),
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "l1": self.l1,
            "l2": self.l2,
        }

    def _build_scikeras_style(self, input_shape, optimizer, params):
        """Call a scikeras-style ``model=`` builder with ``meta``/``compile_kwargs``/``params``."""
        from .architectures import _accepted_kwargs

        meta = {
            "n_features_in_": self.n_features_in_,
            "X_shape_": (None, *input_shape),
            "n_outputs_expected_": 1,
            **self._target_metadata(),
        }
        compile_kwargs = {"optimizer": optimizer, "loss": self._training_loss(), "metrics": self._metrics}
        available = {
            **_routing.routed(params, "model"),
            "meta": meta,
            "compile_kwargs": compile_kwargs,
            "params": params,
        }
        return self.model(**_accepted_kwargs(self.model, available))

    # -- traced-model reuse and warm start ---------------------------------------------
    def _structure_key(self, model, input_shape):
        """What shapes the traced graph; fits with equal keys share one traced model."""
        from ._model_cache import structure_key

        if self.model is not None:  # a scikeras-style builder may do anything
            return None
        params = self.get_params(deep=False)
        optimizer = {k: v for k, v in model.optimizer.get_config().items() if k not in ("name", "learning_rate")}
        return structure_key(
            type(self).__name__, tuple(input_shape), self._n_model_outputs(), self.architecture,
            self._architecture_hyperparameters(), _routing.routed(params, "model"),
            type(model.optimizer).__name__, optimizer, self._training_loss(), self._metrics,
            _routing.routed(params, "compile"),
        )  # fmt: skip

    def _can_continue(self):
        """Whether a longer fit may continue a shorter one's checkpoint and match a straight run:
        schedules of the absolute epoch only, no early stopping, no stateful user callbacks."""
        from .schedules import EPOCH_COUNT_FREE_SCHEDULES

        return (
            self.checkpoint_dir is not None
            and self.model is None
            and self.callbacks is None
            and not self.early_stopping
            and self.lr_schedule in EPOCH_COUNT_FREE_SCHEDULES
            and not isinstance(self.random_state, np.random.RandomState)
        )

    def _checkpoint_key(self, X, targets, weights):
        """Name of this fit's checkpoints, or None without ``checkpoint_dir``. A fit that
        cannot continue a shorter one is keyed with its epochs: only restored whole."""
        from ._checkpoints import checkpoint_key

        if self.checkpoint_dir is None or self.callbacks is not None:
            return None
        params = {"class": type(self).__name__, **self.get_params(deep=False)}
        if not self._can_continue():
            params["total_epochs"] = self.epochs
        return checkpoint_key(params, X, targets, weights)

    def _restore_checkpoint(self, trainer, key):
        from . import _checkpoints, _model_cache

        found = key is not None and _checkpoints.latest(self.checkpoint_dir, key, self.epochs)
        if not found:
            return _checkpoints.Checkpoint(0, [], [], {})
        _model_cache.copy_variables(found.model_values, trainer.variables)
        _model_cache.copy_variables(found.optimizer_values, trainer.optimizer.variables)
        if not self._can_continue():  # a finished fit (maybe stopped early): nothing to train
            found = found._replace(epochs=self.epochs)
        return found

    def _save_checkpoint(self, trainer, key):
        from . import _checkpoints

        _checkpoints.save(self.checkpoint_dir, key, self.n_epochs_, trainer.variables,
                          trainer.optimizer.variables, self.history_, self.best_epoch_)  # fmt: skip

    def _train(self, model, X, targets, weights, train, validation, seed, initial_epoch=0):
        """Train ``model`` from ``initial_epoch`` to ``epochs``; the Keras History, or None."""
        from . import _training

        if initial_epoch >= self.epochs:
            return None

        fit_targets = self._targets_for_loss(targets, model)
        augment = self._batch_augmenter(X.shape[-1], seed)
        X_train, y_train, w_train = X[train], fit_targets[train], weights[train]
        if augment is not None and self.augment_mode == "precomputed":
            X_train, y_train, w_train = _training.precompute_augmentation(
                augment, X_train, y_train, w_train, self.augment_copies
            )
            augment = None
        train_data, set_epoch = _training.make_training_dataset(
            X_train, y_train, self.batch_size, sample_weight=w_train, seed=seed, augment=augment
        )
        validation_data = None
        if validation is not None:
            validation_data = _training.make_dataset(
                X[validation], fit_targets[validation], self.batch_size
            )
        params = self.get_params(deep=False)
        callbacks = [set_epoch, *_training.instantiate_callbacks(self.callbacks, _routing.routed(params, "callbacks"))]
        callbacks += self._schedule_callbacks(has_validation=validation is not None)
        callbacks.append(_training.terminate_on_nan())
        self._early_stopping_callback = None
        if self.early_stopping:
            self._early_stopping_callback = _training.early_stopping_callback(
                self.n_iter_no_change, self.tol
            )
            callbacks.append(self._early_stopping_callback)
        return model.fit(
            train_data,
            validation_data=validation_data,
            epochs=self.epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=self.verbose,
            **{"shuffle": False, **_routing.routed(params, "fit")},  # tf.data shuffles
        )

    def _augmentation_settings(self):
        return {name: getattr(self, name) for name in (*TRANSFORMS, *LABEL_MIXERS)}

    def _batch_augmenter(self, channels, seed):
        from .augmentation import make_batch_augmenter

        n_classes = len(getattr(self, "classes_", ()))
        return make_batch_augmenter(
            self._augmentation_settings(), channels=channels, n_classes=n_classes, seed=seed
        )

    def _uses_label_mixing(self):
        return any(getattr(self, name) for name in LABEL_MIXERS)

    def _schedule_callbacks(self, has_validation):
        from .schedules import schedule_callbacks

        return schedule_callbacks(
            self.lr_schedule, self.learning_rate, epochs=self.epochs,
            decay=self.lr_decay, step_size=self.lr_step_size, drop=self.lr_drop,
            min_fraction=self.lr_min_fraction, power=self.lr_power,
            restart_epochs=self.lr_restart_epochs, warmup_epochs=self.warmup_epochs,
            patience=self.lr_patience, monitor="val_loss" if has_validation else "loss",
        )  # fmt: skip

    def _training_loss(self):
        return self._loss

    def _record_history(self, past, history):
        from . import _training

        new = _training.history_to_dict(history) if history is not None else {}
        names = [*past.history, *(k for k in new if k not in past.history)]
        self.history_ = {k: past.history.get(k, []) + new.get(k, []) for k in names}
        self.n_epochs_ = len(self.history_.get("loss", []))
        stopper = self.__dict__.pop("_early_stopping_callback", None)
        self.best_epoch_ = stopper.best_epoch + 1 if stopper is not None else past.best_epoch

    def _targets_for_loss(self, targets, model):
        return targets

    def _outputs(self, X):
        from . import _training

        check_is_fitted(self)
        X = check_images(self, X, reset=False)
        return _training.predict_outputs(self.model_, X)


class CNNClassifier(ClassifierMixin, _BaseCNN):
    """Keras image classifier with the tutorials' hyperparameters as flat parameters.

    Every architecture, optimisation and early-stopping choice is an ordinary
    parameter, so ``GridSearchCV``, ``RandomizedSearchCV``, ``BayesSearchCV`` and
    the halving searches tune it, and ``clone`` keeps it. scikeras code keeps
    working: ``model=`` takes a scikeras-style builder, and ``model__*``,
    ``optimizer__*``, ``compile__*``, ``fit__*`` and ``callbacks__*`` parameters
    are routed to the builder, optimizer, ``compile``, ``fit`` and callbacks.

    Parameters
    ----------
    architecture : {"cnn", "mlp", "vgg", "resnet"} or callable, default="cnn"
        A registered builder (see ``architectures.ARCHITECTURES``) or a callable
        ``(input_shape, n_outputs, **hyperparameters) -> keras.Model``.
    model : callable, default=None
        scikeras-style builder; it may take ``meta``, ``compile_kwargs``,
        ``params`` and ``model__*`` arguments, and may return a compiled model.
        Overrides ``architecture`` when given.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)`` of flat 2-D input.
        When None, 2-D input of ``s*s`` features is read as ``s x s`` grayscale,
        anything else as a ``1 x n_features`` strip.
    filters : int, default=32
        Convolution filters of the first block (later blocks use multiples).
    kernel_size : int or tuple, default=3
        Convolution kernel size.
    dense_units : int, default=128
        Neurons of each hidden dense layer.
    n_blocks : int, default=2
        Blocks of the "vgg" and "resnet" stacks; hidden layers of "mlp".
    activation : {"relu", "tanh", "sigmoid", "elu", "selu", "swish", "gelu", \
"linear"} or None, default="relu"
        Hidden-layer activation; None means linear.
    kernel_initializer : str, default="glorot_uniform"
        One of uniform, lecun_uniform, lecun_normal, normal, zeros, glorot_normal,
        glorot_uniform, he_normal, he_uniform, random_uniform, random_normal,
        orthogonal.
    dropout : float in [0, 1), default=0.25
        Dropout rate after the pooling and dense layers.
    batch_norm : bool, default=False
        Batch normalisation after every convolution and hidden dense layer.
    l1, l2 : float, default=0.0
        L1 / L2 penalties on convolution and dense kernels.
    optimizer : {"sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", \
"nadam", "adamw"} or keras Optimizer class, default="adam"
        Optimizer; ``optimizer__*`` parameters reach its constructor.
    learning_rate : float, default=0.001
        Initial learning rate.
    momentum : float in [0, 1], default=0.0
        Momentum of SGD and RMSprop (ignored by the others).
    nesterov : bool, default=False
        Nesterov momentum for SGD.
    weight_decay : float, default=None
        Decoupled weight decay, for every optimizer.
    batch_size : int, default=32
        Mini-batch size.
    epochs : int, default=10
        Maximum number of passes over the training data.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the best epoch's weights.
    validation_fraction : float in (0, 1), default=None
        Share of the data given to ``fit`` held out, shuffled and stratified, for
        validation. None means 0.1 with early stopping and no split without it.
    n_iter_no_change : int, default=5
        Early-stopping patience in epochs.
    tol : float, default=1e-4
        Smallest validation-loss decrease that counts as an improvement.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, by label.
    callbacks : list of keras Callback instances or classes, default=None
        Extra callbacks; classes are built with the ``callbacks__*`` parameters.
    checkpoint_dir : str or path, default=None
        Warm start across the rungs of a search over ``epochs``: each fit leaves
        its final weights and optimizer state there, keyed by the training data
        and every other parameter, and a later fit with more epochs continues
        from the longest such checkpoint. Used only where continuing equals a
        straight run's schedule: no early stopping, no ``callbacks``, an
        ``lr_schedule`` that does not depend on the epoch count (constant,
        time_based, step, exponential, cosine_restarts). The same files make a
        search resumable: a fit already on disk (same data, every parameter
        equal) is restored, not trained again. Ignored with ``callbacks``.
    random_state : int, RandomState instance or None, default=None
        Seeds weights, dropout, shuffling and the validation split. The same int
        gives the same model.
    verbose : int, default=0
        Keras' ``fit`` verbosity.
    **routed_params
        scikeras-style ``model__*``, ``optimizer__*``, ``compile__*``, ``fit__*``
        and ``callbacks__*`` parameters.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Pixels x channels per image.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the images the model takes.
    model_ : keras.Model
        The trained model.
    history_ : dict of list of float
        Per-epoch ``loss``, ``accuracy`` and, with a validation split,
        ``val_loss`` and ``val_accuracy``.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int or None
        With early stopping, the 1-based epoch whose weights were restored.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_keras_hpo import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier(image_shape=(8, 8), filters=8, epochs=2, random_state=0)
    >>> clf.fit(X[:500] / 16, y[:500]).score(X[500:600] / 16, y[500:600]) > 0.5
    True
    """

    _loss = "sparse_categorical_crossentropy"
    _metrics = ["accuracy"]
    _output_activation = "softmax"
    _numeric_targets = False

    def _encode_targets(self, y):
        self.classes_ = check_class_labels(self, y)
        self._label_encoder = LabelEncoder().fit(self.classes_)
        return self._label_encoder.transform(y).astype(np.int32)

    def _training_weights(self, targets, sample_weight):
        if self.class_weight is None:
            return sample_weight
        if self.class_weight == "balanced":
            per_class = compute_class_weight("balanced", classes=np.arange(len(self.classes_)), y=targets)
        else:
            per_class = self._class_weight_by_index()
        return sample_weight * per_class[targets]

    def _class_weight_by_index(self):
        unknown = set(self.class_weight) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(
                f"class_weight names label(s) {sorted(unknown, key=str)} that are not in y; "
                f"the classes are {self.classes_.tolist()}."
            )
        return np.array([self.class_weight.get(c, 1.0) for c in self.classes_.tolist()], float)

    def _validation_splitter(self, fraction, seed):
        return StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)

    def _n_model_outputs(self):
        return len(self.classes_)

    def _target_metadata(self):
        n_classes = len(self.classes_)
        return {
            "classes_": self.classes_,
            "n_classes_": n_classes,
            "n_outputs_": 1,
            "target_type_": "binary" if n_classes == 2 else "multiclass",
        }

    def _training_loss(self):
        return "categorical_crossentropy" if self._uses_label_mixing() else self._loss

    def _targets_for_loss(self, targets, model):
        """One-hot targets for MixUp/CutMix, or when a scikeras-style builder compiled
        with categorical cross-entropy."""
        loss = getattr(model, "loss", None)
        name = loss if isinstance(loss, str) else getattr(loss, "name", "")
        if self._uses_label_mixing() or name in ("categorical_crossentropy", "CategoricalCrossentropy"):
            return np.eye(len(self.classes_), dtype=np.float32)[targets]
        return targets

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of images
            As for ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        proba = self._outputs(X)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class of each image.

        Parameters
        ----------
        X : array-like of images
            As for ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        outputs = self._outputs(X)
        return self.classes_[np.argmax(outputs, axis=1)]


class CNNRegressor(RegressorMixin, _BaseCNN):
    """Keras image regressor: the parameters of ``CNNClassifier`` with a linear output
    and mean squared error.

    Parameters
    ----------
    architecture, model, image_shape, filters, kernel_size, dense_units, n_blocks, \
activation, kernel_initializer, dropout, batch_norm, l1, l2, optimizer, \
learning_rate, momentum, nesterov, weight_decay, batch_size, epochs, \
early_stopping, validation_fraction, n_iter_no_change, tol, callbacks, \
random_state, verbose
        As for :class:`CNNClassifier`; the validation split is shuffled, not
        stratified.
    class_weight : None
        Must stay None: a regressor has no classes.

    Attributes
    ----------
    n_outputs_ : int
        Number of regression targets.
    n_features_in_, image_shape_, model_, history_, n_epochs_, best_epoch_
        As for :class:`CNNClassifier` (``history_`` holds ``loss`` and ``mae``).

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
    _loss = "mse"
    _metrics = ["mae"]
    _output_activation = "linear"
    _numeric_targets = True

    def _encode_targets(self, y):
        y = np.asarray(y, dtype=np.float32)
        self._single_target = y.ndim == 1
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        return y.reshape(len(y), -1)

    def _n_model_outputs(self):
        return self.n_outputs_

    def _target_metadata(self):
        return {"n_outputs_": self.n_outputs_, "target_type_": "continuous"}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
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
