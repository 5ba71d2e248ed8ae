"""The Keras side of one fit: optimizer, model build and compile, callbacks, the
``model.fit`` call, divergence check, history, prediction."""

import numpy as np

from .._backend import keras_and_tf
from ..architectures import accepted_kwargs, build_model
from .pipeline import PREDICT_BATCH, ordered_batches
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


def optimizer_kwargs(name, *, learning_rate, momentum, nesterov, weight_decay, extra):
    """Constructor arguments of optimizer ``name`` from the flat hyperparameters.

    ``extra`` (the ``optimizer__*`` parameters) wins over the flat ones, so
    ``optimizer__learning_rate=0.1`` overrides ``learning_rate``.
    """
    kwargs = {"learning_rate": learning_rate}
    if isinstance(name, str):
        if weight_decay:
            kwargs["weight_decay"] = weight_decay
        if name == "sgd":
            kwargs.update(momentum=momentum, nesterov=nesterov)
        elif name == "rmsprop":
            kwargs["momentum"] = momentum
    return {**kwargs, **extra}


def make_optimizer(name, kwargs):
    """A fresh Keras optimizer from its name (or class, or an instance to copy)."""
    keras, _ = keras_and_tf()
    if isinstance(name, keras.optimizers.Optimizer):
        return type(name).from_config({**name.get_config(), **kwargs})
    if not isinstance(name, str):
        return name(**kwargs)
    return getattr(keras.optimizers, OPTIMIZERS[name])(**kwargs)


def build_compiled(spec, input_shape):
    """Build ``spec``'s model for ``input_shape`` and compile it (unless its builder did)."""
    optimizer = make_optimizer(*spec.optimizer)
    if spec.scikeras_builder is not None:
        compile_kwargs = {"optimizer": optimizer, "loss": spec.loss, "metrics": spec.metrics}
        available = {**spec.builder_kwargs, "compile_kwargs": compile_kwargs}
        model = spec.scikeras_builder(**accepted_kwargs(spec.scikeras_builder, available))
    else:
        model = build_model(spec.builder, input_shape, spec.n_outputs, **spec.hyperparameters)
    return compile_model(model, optimizer, spec.loss, spec.metrics, spec.compile_kwargs)


def compile_model(model, optimizer, loss, metrics, extra):
    """Compile unless the builder already did (a scikeras-style builder may)."""
    if not model.compiled:
        kwargs = {"steps_per_execution": STEPS_PER_EXECUTION, **extra}
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
    return model


def structure_parts(spec, input_shape, optimizer):
    """What shapes the traced graph (None: a scikeras builder may do anything)."""
    if spec.scikeras_builder is not None or not spec.cacheable:
        return None
    config = {k: v for k, v in optimizer.get_config().items() if k not in ("name", "learning_rate")}
    return (tuple(input_shape), spec.n_outputs, spec.builder, spec.hyperparameters,
            type(optimizer).__name__, config, spec.loss, spec.metrics, spec.compile_kwargs)  # fmt: skip


def loss_targets(targets, model, n_classes, label_mixing):
    """One-hot targets for MixUp/CutMix, or when a builder compiled with categorical
    cross-entropy; the encoded targets otherwise."""
    loss = getattr(model, "loss", None)
    name = loss if isinstance(loss, str) else getattr(loss, "name", "")
    categorical = name in ("categorical_crossentropy", "CategoricalCrossentropy")
    if n_classes and (label_mixing or categorical):
        return np.eye(n_classes, dtype=np.float32)[targets]
    return targets


def keras_fit(model, train_data, set_epoch, validation_data, training, *, initial_epoch):
    """``model.fit`` from ``initial_epoch`` to ``training.epochs``; ``(History, stopper)``."""
    callbacks = [set_epoch, *fit_callbacks(training, has_validation=validation_data is not None)]
    stopper = next((c for c in callbacks if type(c).__name__ == "EarlyStopping"), None)
    history = model.fit(
        train_data, validation_data=validation_data, epochs=training.epochs,
        initial_epoch=initial_epoch, callbacks=callbacks, verbose=training.verbose,
        **{"shuffle": False, **(training.fit_kwargs or {})},  # tf.data shuffles
    )  # fmt: skip
    return history, stopper


def fit_callbacks(training, has_validation):
    """The user's callbacks, the schedule's, stop-on-NaN and early stopping."""
    from ..schedules import schedule_callbacks

    keras, _ = keras_and_tf()
    kwargs = training.callback_kwargs or {}
    callbacks = [cb(**kwargs) if isinstance(cb, type) else cb for cb in training.callbacks or ()]
    monitor = "val_loss" if has_validation else "loss"
    callbacks += schedule_callbacks(**training.schedule, monitor=monitor)
    callbacks.append(terminate_on_nan())
    if training.early_stopping is not None:
        patience, min_delta = training.early_stopping
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, min_delta=min_delta, restore_best_weights=True))  # fmt: skip
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
            f"Training diverged: the loss became {losses[-1]} in epoch {len(losses)}. Lower learning_rate, "
            "add gradient clipping (optimizer__clipnorm=1.0) or batch_norm=True."
        )


def history_to_dict(history):
    """Keras History -> ``{metric: [float per epoch]}``."""
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def predict_outputs(model, images):
    """Model outputs for every image of ``images`` (``plan.Images``), batch by batch.

    Every batch the model sees has ``PREDICT_BATCH`` rows (the last one padded): a
    matrix multiply rounds a partial last tile of rows differently, so without the
    padding an image's probabilities moved by ~1e-8 with its position in X
    (measured; sklearn's sample-order check caught it).
    """
    _, tf = keras_and_tf()
    if images.from_files:
        batches = (x for (x,) in ordered_batches(images, np.arange(len(images)), PREDICT_BATCH))
    else:  # eager chunks: no tf.data pipeline to set up for each predict of a search
        read, n = ArrayReader(images.source), len(images)
        batches = (to_float(read(np.arange(i, min(i + PREDICT_BATCH, n))), images.scaled_from_uint8)
                   for i in range(0, n, PREDICT_BATCH))  # fmt: skip
    chunks = []
    for x in batches:
        rows = int(x.shape[0])
        padded = tf.pad(x, [[0, PREDICT_BATCH - rows]] + [[0, 0]] * (len(x.shape) - 1))
        chunks.append(np.asarray(model(padded, training=False))[:rows])
    return np.concatenate(chunks).astype(np.float64)
