"""The Keras side of one fit: optimizer, model build and compile, callbacks, the
``model.fit`` call, divergence check, history, prediction."""

import numpy as np

from .._backend import keras_and_tf
from ..model.architectures import build_model
from .pipeline import ordered_batches, predict_rows
from .sources import ArrayReader, to_float

OPTIMIZERS = {
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adam": "Adam",
    "adamax": "Adamax",
    "nadam": "Nadam",
    "adamw": "AdamW",
}
# Fewer Python round trips per epoch: measured 0.75-0.8x epoch time on 8x8 digits.
STEPS_PER_EXECUTION = 16


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite (for example SGD with too large a
    learning rate); training stopped at that batch."""


def optimizer_kwargs(optimizer, *, learning_rate, momentum, nesterov, weight_decay, extra):
    """Constructor arguments of ``optimizer`` (a name, class or instance).

    Precedence: the ``optimizer__*`` parameters (``extra``) win over the flat ones,
    so ``optimizer__learning_rate=0.1`` overrides ``learning_rate``. An optimizer
    instance keeps its own settings; only ``extra`` changes them.
    """
    if not isinstance(optimizer, (str, type)):
        return dict(extra)
    name = (optimizer if isinstance(optimizer, str) else optimizer.__name__).lower()
    kwargs = {"learning_rate": learning_rate}
    if weight_decay:
        kwargs["weight_decay"] = weight_decay
    if name == "sgd":
        kwargs.update(momentum=momentum, nesterov=nesterov)
    elif name == "rmsprop":
        kwargs["momentum"] = momentum
    return {**kwargs, **extra}


def make_optimizer(optimizer, kwargs):
    """A fresh Keras optimizer from a name (ours or Keras'), a class, or an instance to copy."""
    keras, _ = keras_and_tf()
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return type(optimizer).from_config({**optimizer.get_config(), **kwargs})
    if isinstance(optimizer, str):
        known = OPTIMIZERS.get(optimizer.lower())
        optimizer = (
            getattr(keras.optimizers, known) if known else type(keras.optimizers.get(optimizer))
        )
    return optimizer(**kwargs)


def build_compiled(spec, input_shape, n_classes=None):
    """Build ``spec``'s model for ``input_shape`` and compile it (unless its builder did).

    A model to continue (``spec.continue_from``) is returned as it is. A ``model=``
    builder's model must have one output of a width in ``spec.output_losses``
    (``n_classes``, when given, names the classes in the error).
    """
    if spec.continue_from is not None:
        return spec.continue_from
    optimizer = make_optimizer(*spec.optimizer)
    losses = spec.output_losses
    if spec.scikeras_builder is None:
        model = build_model(spec.builder, input_shape, spec.n_outputs, **spec.hyperparameters)
        if callable(spec.builder):  # a user's architecture= function may get the width wrong
            _check_width(output_width(model, input_shape), losses, n_classes, "architecture=")
        return compile_model(model, optimizer, spec.loss, spec.metrics, spec.compile_kwargs)
    model = _from_builder(spec, optimizer)
    width = output_width(model, input_shape)
    _check_width(width, losses, n_classes, "model=")
    if model.compiled:
        if getattr(model, "loss", None) is None or model.loss == [None]:
            raise ValueError(
                "The model from model= was compiled without a loss: provide a loss "
                "(loss=... or in its compile call), or return it uncompiled."
            )
        check_compiled_loss(spec.loss, model)
        return model
    loss = losses[width] if losses is not None else spec.loss
    return compile_model(model, optimizer, loss, spec.metrics, spec.compile_kwargs)


def _from_builder(spec, optimizer):
    """Call the scikeras-style builder (``compile_kwargs`` given the optimizer), or copy a
    ``keras.Model`` given as ``model=`` (the parameter itself is never trained)."""
    keras, _ = keras_and_tf()
    builder = spec.scikeras_builder
    if isinstance(builder, keras.Model):
        return copy_model(builder)
    kwargs = dict(spec.builder_kwargs or {})
    if "compile_kwargs" in kwargs:
        kwargs["compile_kwargs"] = {**kwargs["compile_kwargs"], "optimizer": optimizer}
    model = builder(**kwargs)
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model= must build and return a keras.Model; {builder!r} returned "
            f"{type(model).__name__}."
        )
    return model


def copy_model(model):
    """A copy of ``model``: same layers, weights and compile settings, fresh optimizer state."""
    keras, _ = keras_and_tf()
    try:
        copy = keras.models.clone_model(model)
    except Exception as error:  # subclassed models without get_config cannot be cloned
        raise ValueError(
            f"model= got a keras.Model that cannot be copied ({error}); pass a function "
            "that builds the model instead."
        ) from error
    copy.set_weights(model.get_weights())
    if model.compiled:
        copy.compile_from_config(model.get_compile_config())
    return copy


def output_width(model, input_shape):
    """Units of ``model``'s single output (a model not built yet is run on one zero sample)."""
    keras, _ = keras_and_tf()
    try:
        outputs = list(model.outputs)
    except (AttributeError, ValueError):
        result = model(np.zeros((1, *input_shape), keras.backend.floatx()), training=False)
        outputs = list(result) if isinstance(result, (list, tuple)) else [result]
    if len(outputs) != 1:
        raise ValueError(
            f"The model from model= has {len(outputs)} outputs; these estimators train a "
            "model with one output (one unit per class, or per target column)."
        )
    shape = tuple(outputs[0].shape)
    return int(shape[-1]) if len(shape) > 1 else 1


def _units(model):
    try:
        return int(model.outputs[0].shape[-1])
    except (AttributeError, ValueError, IndexError, TypeError):
        return None


def check_compiled_loss(loss, model):
    """scikeras's guard: a ``loss`` parameter that differs from the loss the builder
    compiled with is an error (the data may not suit the loss)."""
    given, compiled = loss_name(loss), loss_name(getattr(model, "loss", None))
    if given and compiled and given != compiled:
        raise ValueError(
            f"loss={loss!r} but model compiled with {model.loss!r}: pass the loss the "
            "builder compiles with, or leave loss=None."
        )


def loss_name(loss):
    """A comparable name of a single loss ("mse", MeanSquaredError(), mean_squared_error ->
    "meansquarederror"); None for lists, dicts and the unknown."""
    keras, _ = keras_and_tf()
    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except ValueError:
            return None
    if isinstance(loss, (list, tuple, dict)) or loss is None:
        return None
    if isinstance(loss, keras.losses.Loss):  # a LossFunctionWrapper names the function it wraps
        name = getattr(getattr(loss, "fn", None), "__name__", None) or type(loss).__name__
    else:  # a class or a function
        name = getattr(loss, "__name__", None)
    return name.replace("_", "").lower() if name else None


def _check_width(width, losses, n_classes, source):
    """A clear error where the model's output width fits no loss of ``losses``."""
    if losses is not None and width not in losses:
        raise ValueError(_width_message(width, sorted(losses, reverse=True), n_classes, source))


def _width_message(width, allowed, n_classes, source="model="):
    needed = " or ".join(str(w) for w in allowed)
    if n_classes is not None:
        what = f"y has {n_classes} classes: its last layer needs {needed} units"
        what += (
            " (one per class with softmax, or 1 with sigmoid)"
            if len(allowed) > 1
            else " (one per class)"
        )
    else:
        what = f"y has {needed} target column(s): its last layer needs {needed} units"
    return f"The model from {source} has {width} output unit(s), but {what}."


def compile_model(model, optimizer, loss, metrics, extra):
    """Compile unless the builder already did (a scikeras-style builder may)."""
    if not model.compiled:
        kwargs = {"steps_per_execution": STEPS_PER_EXECUTION, **extra}
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
    return model


def structure_parts(spec, input_shape, optimizer):
    """What shapes the traced graph (None: a scikeras builder may do anything)."""
    if spec.scikeras_builder is not None or spec.continue_from is not None or not spec.cacheable:
        return None
    config = {k: v for k, v in optimizer.get_config().items() if k not in ("name", "learning_rate")}
    return (
        tuple(input_shape),
        spec.n_outputs,
        spec.builder,
        spec.hyperparameters,
        type(optimizer).__name__,
        config,
        spec.loss,
        spec.metrics,
        spec.compile_kwargs,
    )


def loss_targets(targets, model, n_classes, label_mixing):
    """One-hot targets for MixUp/CutMix, or when a builder compiled with categorical
    cross-entropy; a float column for one sigmoid unit (binary); the encoded targets
    otherwise (float rows, mixed as they are, for regression and multi-label targets,
    whose ``n_classes`` is None)."""
    if n_classes and not label_mixing and _units(model) == 1:
        return targets.astype(np.float32).reshape(-1, 1)
    loss = getattr(model, "loss", None)
    if isinstance(loss, str):
        name = loss
    else:  # a Loss instance (its name, or its wrapped function's) or a loss function
        name = getattr(loss, "name", None) or getattr(getattr(loss, "fn", loss), "__name__", "")
    categorical = name in ("categorical_crossentropy", "CategoricalCrossentropy", "cce")
    if n_classes and (label_mixing or categorical):
        return np.eye(n_classes, dtype=np.float32)[targets]
    return targets


def keras_fit(model, train_data, set_epoch, validation_data, training, *, initial_epoch):
    """``model.fit`` from ``initial_epoch`` to ``training.epochs``; ``(History, stopper)``."""
    callbacks = [set_epoch, *fit_callbacks(training, validation_data is not None, model.optimizer)]
    stopper = next((c for c in callbacks if type(c).__name__ == "EarlyStopping"), None)
    history = model.fit(
        train_data,
        validation_data=validation_data,
        epochs=training.epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=training.verbose,
        **{"shuffle": False, **(training.fit_kwargs or {})},  # tf.data shuffles
    )
    return history, stopper


def fit_callbacks(training, has_validation, optimizer):
    """The user's callbacks, the schedule's, stop-on-NaN and early stopping.

    The schedule starts from ``training.schedule["lr0"]``, or from ``optimizer``'s
    learning rate when that is None (an optimizer a ``model=`` builder chose). An
    optimizer driven by its own ``LearningRateSchedule`` gets no schedule callback.
    """
    from ..model.schedules import schedule_callbacks

    keras, _ = keras_and_tf()
    kwargs = training.callback_kwargs or {}
    callbacks = [cb(**kwargs) if isinstance(cb, type) else cb for cb in training.callbacks or ()]
    monitor = "val_loss" if has_validation else "loss"
    schedule = dict(training.schedule)
    if isinstance(optimizer.get_config().get("learning_rate"), dict):  # a LearningRateSchedule
        if schedule["name"] != "constant":
            raise ValueError(
                f"lr_schedule={schedule['name']!r} cannot drive an optimizer whose learning "
                "rate is a keras LearningRateSchedule; use one or the other."
            )
    else:
        if schedule["lr0"] is None:
            schedule["lr0"] = float(np.asarray(optimizer.learning_rate))
        callbacks += schedule_callbacks(**schedule, monitor=monitor)
    if (
        training.fine_tuning is not None
    ):  # after the schedule: it scales the fine-tuning epochs' rate
        from ..model.fine_tuning import fine_tuning_callbacks

        plateau = (
            schedule["name"] == "reduce_on_plateau"
        )  # sets the rate on plateaus, not each epoch
        callbacks += fine_tuning_callbacks(**training.fine_tuning, rate_set_each_epoch=not plateau)
    callbacks.append(terminate_on_nan())
    if training.early_stopping is not None:
        patience, min_delta = training.early_stopping
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=patience,
                min_delta=min_delta,
                restore_best_weights=True,
            )
        )
    return callbacks


def terminate_on_nan():
    """Keras' TerminateOnNaN without its print: workers of a search stay quiet."""
    keras, _ = keras_and_tf()

    class StopOnNonFiniteLoss(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not np.isfinite(float(loss)):
                self.model.stop_training = True

    return StopOnNonFiniteLoss()


def check_finite_loss(history):
    """Raise ``TrainingDivergedError`` when the last recorded loss is not finite."""
    losses = history.get("loss", [])
    if losses and not np.isfinite(losses[-1]):
        raise TrainingDivergedError(
            f"Training diverged: the loss became {losses[-1]} in epoch {len(losses)}. Lower "
            "learning_rate, add gradient clipping (optimizer__clipnorm=1.0) or batch_norm=True."
        )


def history_to_dict(history):
    """Keras History -> ``{metric: [float per epoch]}``."""
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def predict_outputs(model, images):
    """Model outputs for every image of ``images`` (``plan.Images``), batch by batch.

    Every batch the model sees has the same number of rows (``predict_rows``, the last
    batch padded): a matrix multiply rounds a partial last tile of rows differently, so
    without the padding an image's probabilities moved by ~1e-8 with its position in X
    (measured; sklearn's sample-order check caught it).
    """
    _, tf = keras_and_tf()
    size = predict_rows(images.image_shape)
    if images.from_files:
        batches = (x for (x,) in ordered_batches(images, np.arange(len(images)), size))
    else:  # eager chunks: no tf.data pipeline to set up for each predict of a search
        read, n = ArrayReader(images.source), len(images)
        batches = (
            to_float(read(np.arange(i, min(i + size, n))), images.scaled_from_uint8)
            for i in range(0, n, size)
        )
    chunks = []
    for x in batches:
        rows = int(x.shape[0])
        padded = tf.pad(x, [[0, size - rows]] + [[0, 0]] * (len(x.shape) - 1))
        chunks.append(np.asarray(model(padded, training=False))[:rows])
    return np.concatenate(chunks).astype(np.float64)
