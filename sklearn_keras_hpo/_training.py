"""The Keras side of ``fit``: seeds, optimizer, tf.data input, callbacks, history.

Everything here takes plain values from the estimator, so the estimator module
stays free of TensorFlow until ``fit`` is called.
"""

import contextlib
import random
import threading

import numpy as np

from ._backend import keras_and_tf

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
PREDICT_CHUNK = 2048
# Batches tf.data prepares ahead of the training step. A fixed buffer, not AUTOTUNE:
# with one core per process (a worker of an n_jobs search), tf.data's autotuner
# stalls each epoch about 0.15 s (measured: a 2-epoch fit 0.31 s with it off, 0.47-0.62 s on).
PREFETCH_BATCHES = 2


class _ThreadRandom:
    """Stands in for the ``random`` module inside Keras' seed generator.

    Keras draws every default seed (dropout, initializers) from Python's global
    ``random``, which other threads of a worker (Dask's event loop) also draw from,
    so a fit's weights could change with what else the process was doing. Inside
    ``seeded`` this thread draws from its own generator instead.
    """

    def __init__(self):
        self.local = threading.local()

    def __getattr__(self, name):
        return getattr(getattr(self.local, "rng", None) or random, name)


_THREAD_RANDOM = _ThreadRandom()


@contextlib.contextmanager
def thread_random_state():
    """Restore, after the block, the generator Keras draws default seeds from here."""
    generator = getattr(_THREAD_RANDOM.local, "rng", None) or random
    state = generator.getstate()
    try:
        yield
    finally:
        generator.setstate(state)


@contextlib.contextmanager
def seeded(seed):
    """Seed Python, NumPy and Keras for the block (Keras' default seeds from a
    generator private to this thread); restore Python's and NumPy's global
    generators afterwards."""
    keras_and_tf()
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    seed_generator.python_random = _THREAD_RANDOM
    python_state, numpy_state = random.getstate(), np.random.get_state()
    previous, _THREAD_RANDOM.local.rng = getattr(_THREAD_RANDOM.local, "rng", None), random.Random(int(seed))
    try:
        # keras.utils.set_random_seed, except tf.random.set_seed: that clears TensorFlow's
        # kernel cache, and re-instantiating the traced training step then cost ~0.25 s
        # per fit (measured). Nothing here draws from TensorFlow's global seed: Keras uses
        # stateless ops seeded by its own generators, the shuffle is stateless too.
        global_state.set_global_attribute(GLOBAL_RANDOM_SEED, int(seed))
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
        random.seed(int(seed))
        np.random.seed(int(seed) % 2**32)
        yield
    finally:
        _THREAD_RANDOM.local.rng = previous
        random.setstate(python_state)
        np.random.set_state(numpy_state)


@contextlib.contextmanager
def dropped_gradient_registrations():
    """Forget the gradient functions TensorFlow registers while the block traces.

    Each traced training step calls tf.distribute's ``all_reduce``, a graph-mode
    ``tf.custom_gradient``, which registers a uniquely named gradient function in a
    global registry and never removes it. The function's closure holds the step's
    tensors, so every traced training graph stayed alive: about 6 MiB of RSS per fit
    when the architecture changes from fit to fit (measured over a random search).
    The traced step already holds its gradient (Keras differentiates with a
    GradientTape, which does not look the registry up), so the names are dropped.
    """
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    before = set(registry) if isinstance(registry, dict) else None
    try:
        yield
    finally:
        if before is not None:
            for name in set(registry) - before:
                if name.startswith("CustomGradient-"):
                    registry.pop(name, None)


KERNEL_CACHE_FITS = 20
_fits_since_clear = 0


def release_kernel_cache():
    """Clear TensorFlow's eager kernel cache every ``KERNEL_CACHE_FITS`` fits.

    Without clearing, RSS grew by about 1.8 MiB per fit (measured: kernels of each
    fit's dataset functions and variables, freed by nothing else); with it, under 1.
    Clearing costs the next fit about 0.25 s (its traced step is instantiated again),
    so it is done now and then, not every fit.
    """
    global _fits_since_clear
    _fits_since_clear += 1
    if _fits_since_clear >= KERNEL_CACHE_FITS:
        from tensorflow.python.eager import context

        context.context().clear_kernel_cache()
        _fits_since_clear = 0


def make_optimizer(name, *, learning_rate, momentum, nesterov, weight_decay, extra):
    """A fresh Keras optimizer from its name (or class) and flat hyperparameters."""
    keras, _ = keras_and_tf()
    if not isinstance(name, str):
        return name(learning_rate=learning_rate, **extra)
    kwargs = {"learning_rate": learning_rate}
    if weight_decay:
        kwargs["weight_decay"] = weight_decay
    if name == "sgd":
        kwargs.update(momentum=momentum, nesterov=nesterov)
    elif name == "rmsprop":
        kwargs["momentum"] = momentum
    return getattr(keras.optimizers, OPTIMIZERS[name])(**kwargs, **extra)


def make_dataset(X, y, batch_size, *, sample_weight=None, augment=None):
    """Batched, prefetched ``tf.data`` pipeline in the given order (validation, predict)."""
    _, tf = keras_and_tf()
    tensors = (X, y) if sample_weight is None else (X, y, sample_weight)
    ds = tf.data.Dataset.from_tensor_slices(tensors).batch(batch_size)
    if augment is not None:
        ds = ds.map(augment)
    return _prefetched(ds)


def make_training_dataset(X, y, batch_size, *, sample_weight, seed, augment=None):
    """Batched, prefetched training pipeline, and the callback that tells it the epoch.

    Epoch ``e`` visits the samples in the order ``stateless_shuffle(range(n), [seed, e])``:
    a function of the epoch alone, so a fit continued from epoch 3 sees exactly the
    batches a straight run sees in epochs 3, 4, ... (Keras re-iterates the dataset each
    epoch, after ``on_epoch_begin`` has set the epoch.) No TensorFlow global seed is
    involved. ``augment`` maps each batch to a new random transform. It runs in
    tf.data's own thread, overlapped with the training step by the prefetch; the map is
    sequential because the layers' random generators are stateful, and parallel calls
    would draw from them in a varying order (not reproducible under ``random_state``).
    """
    keras, tf = keras_and_tf()
    n = len(X)
    tensors = tuple(tf.constant(t) for t in ((X, y) if sample_weight is None else (X, y, sample_weight)))
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)

    def epoch_batches(_):
        key = tf.stack([tf.constant(int(seed), tf.int64), epoch.read_value()])
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=key)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    ds = tf.data.Dataset.from_tensors(0).flat_map(epoch_batches)
    ds = ds.apply(tf.data.experimental.assert_cardinality(-(-n // batch_size)))  # Keras knows the steps
    ds = ds.map(lambda index: tuple(tf.gather(t, index) for t in tensors))
    if augment is not None:
        ds = ds.map(augment)

    class SetEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, current, logs=None):
            epoch.assign(current)

    return _prefetched(ds), SetEpoch()


def _prefetched(ds):
    """``ds`` with ``PREFETCH_BATCHES`` prepared ahead and tf.data's autotuner off."""
    _, tf = keras_and_tf()
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(PREFETCH_BATCHES).with_options(options)


def precompute_augmentation(augment, X, y, sample_weight, copies, batch_size=256):
    """The originals plus ``copies`` augmented copies of them, in memory (the galaxy
    tutorial's precomputed mode)."""
    images, labels, weights = [X], [y], [sample_weight]
    for _ in range(copies):
        for batch_X, batch_y, batch_w in make_dataset(X, y, batch_size, sample_weight=sample_weight, augment=augment):
            images.append(np.asarray(batch_X))
            labels.append(np.asarray(batch_y))
            weights.append(np.asarray(batch_w))
    if labels[0].ndim != labels[-1].ndim:  # label mixing made the copies one-hot
        labels[0] = np.eye(labels[-1].shape[1], dtype=np.float32)[labels[0]]
    return np.concatenate(images), np.concatenate(labels), np.concatenate(weights)


def early_stopping_callback(patience, min_delta):
    keras, _ = keras_and_tf()
    return keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, min_delta=min_delta, restore_best_weights=True
    )


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite (for example SGD with too large a
    learning rate); training stopped at that batch."""


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
    losses = [] if history is None else history.history.get("loss", [])
    if losses and not np.isfinite(losses[-1]):
        raise TrainingDivergedError(
            f"Training diverged: the loss became {losses[-1]} in epoch {len(losses)}. Lower learning_rate, "
            "add gradient clipping (optimizer__clipnorm=1.0) or batch_norm=True."
        )


def instantiate_callbacks(callbacks, routed_kwargs):
    """Callback instances as given (copied by ``clone``); classes built with ``callbacks__*``."""
    return [cb(**routed_kwargs) if isinstance(cb, type) else cb for cb in callbacks or ()]


def compile_model(model, optimizer, loss, metrics, extra):
    """Compile unless the builder already did (a scikeras-style builder may)."""
    if not model.compiled:
        kwargs = {"steps_per_execution": STEPS_PER_EXECUTION, **extra}
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
    return model


def history_to_dict(history):
    """Keras History -> ``{metric: [float per epoch]}``."""
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def predict_outputs(model, X):
    """Model outputs for ``X`` in eager chunks: no predict-function tracing per model."""
    chunks = [
        np.asarray(model(X[start : start + PREDICT_CHUNK], training=False))
        for start in range(0, len(X), PREDICT_CHUNK)
    ]
    return np.concatenate(chunks).astype(np.float64)
