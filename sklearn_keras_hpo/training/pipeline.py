"""tf.data pipelines over a fit's images: shuffled training batches, ordered batches.

Images stay in the dtype they came in (uint8 pixels stay uint8) until a batch is
cast to float32 in the graph. The training/validation split is a list of indices
gathered batch by batch, never a copy of the data.
"""

import numpy as np

from .._backend import keras_and_tf
from .sources import DECODE_THREADS, ArrayReader, file_decoder, to_float

# Batches tf.data prepares ahead of the training step. A fixed buffer, not AUTOTUNE:
# with one core per process (a worker of an n_jobs search), tf.data's autotuner
# stalls each epoch about 0.15 s (measured: a 2-epoch fit 0.31 s with it off, 0.47-0.62 s on).
PREFETCH_BATCHES = 2
PREDICT_BATCH = (
    128  # rows of every batch predict runs on small images (see keras_fit.predict_outputs)
)
PREDICT_VALUES = (
    128 * 32 * 32 * 3
)  # at most this many input values a predict batch, so fewer rows of large images


def predict_rows(image_shape):
    """Rows of every predict batch for images of ``image_shape``: ``PREDICT_BATCH``, fewer
    for large images, so the activations a batch holds stay small (an eager call on 128
    images of 96x96x3 held 471 MiB at its peak, 14 images about 60; measured).

    >>> (
    ...     predict_rows((8, 8)),
    ...     predict_rows((32, 32, 3)),
    ...     predict_rows((96, 96, 3)),
    ...     predict_rows((512, 512, 3)),
    ... )
    (128, 128, 14, 8)
    """
    values = int(np.prod(image_shape)) or 1
    return max(8, min(PREDICT_BATCH, PREDICT_VALUES // values))


def labelled_batches(indices, images, columns, batch_size):
    """Index scalars -> ``(float32 images, *columns)`` batches; ``columns`` are small
    per-sample arrays (targets, weights) gathered alongside."""
    _, tf = keras_and_tf()
    columns = tuple(tf.constant(column) for column in columns)
    scaled = images.scaled_from_uint8
    if images.from_files:
        paths, decode = tf.constant(images.source.astype(str)), file_decoder(images.image_shape)
        ds = indices.map(
            lambda i: (decode(paths[i]), *(c[i] for c in columns)),
            num_parallel_calls=DECODE_THREADS,
            deterministic=True,
        )
        ds = ds.batch(batch_size)
    else:
        read, dtype = ArrayReader(images.source), tf.as_dtype(images.source.dtype)

        def gather(index):
            batch = tf.numpy_function(read, [index], dtype, stateful=False)
            batch.set_shape((None, *images.image_shape))
            return (batch, *(tf.gather(c, index) for c in columns))

        ds = indices.batch(batch_size).map(gather)
    return ds.map(lambda x, *rest: (to_float(x, scaled), *rest))


def ordered_batches(images, indices, batch_size, columns=()):
    """Batches of ``images[indices]`` (and columns) in the given order: validation, predict."""
    _, tf = keras_and_tf()
    ds = tf.data.Dataset.from_tensor_slices(np.asarray(indices, dtype=np.int64))
    return prefetched(labelled_batches(ds, images, columns, batch_size))


def training_batches(images, columns, train, batch_size, *, seed, augment=None, shuffle=True):
    """Shuffled training batches, and the callback that tells the pipeline the epoch.

    Epoch ``e`` visits ``train`` in the order ``stateless_shuffle(range(n), [seed, e])``:
    a function of the epoch alone, so a fit continued from epoch 3 sees exactly the
    batches a straight run sees in epochs 3, 4, ... (Keras re-iterates the dataset each
    epoch, after ``on_epoch_begin`` has set the epoch.) No TensorFlow global seed is
    involved. ``augment`` maps each batch to a new random transform, sequentially:
    the layers' generators are stateful, and parallel calls would draw from them in a
    varying order (not reproducible under ``random_state``). ``shuffle=False``
    visits ``train`` in its given order every epoch.
    """
    keras, tf = keras_and_tf()
    train = tf.constant(np.asarray(train, dtype=np.int64))
    n = int(train.shape[0])
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)

    def epoch_indices(_):
        key = tf.stack([tf.constant(int(seed), tf.int64), epoch.read_value()])
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        return tf.data.Dataset.from_tensor_slices(tf.gather(train, order))

    indices = tf.data.Dataset.from_tensors(0).flat_map(epoch_indices)
    ds = labelled_batches(indices, images, columns, batch_size)
    ds = ds.apply(
        tf.data.experimental.assert_cardinality(-(-n // batch_size))
    )  # Keras knows the steps
    if augment is not None:
        ds = ds.map(augment)

    class SetEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, current, logs=None):
            epoch.assign(current)

    return prefetched(ds), SetEpoch()


def prefetched(ds):
    """``ds`` with ``PREFETCH_BATCHES`` prepared ahead and tf.data's autotuner off."""
    _, tf = keras_and_tf()
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(PREFETCH_BATCHES).with_options(options)


def precompute_augmentation(augment, images, columns, train, copies, batch_size=256):
    """The training images plus ``copies`` augmented copies, in one new array (the
    galaxy tutorial's precomputed mode), with their columns. uint8 input gives uint8
    copies (rounded), so the copies take a quarter of the memory float32 would."""
    n, uint8 = len(train), images.scaled_from_uint8
    out = np.empty((n * (copies + 1), *images.image_shape), np.uint8 if uint8 else np.float32)
    outputs = [[] for _ in columns]
    for copy in range(copies + 1):
        batches = ordered_batches(images, train, batch_size, columns)
        start = copy * n
        for x, *cols in batches.map(augment) if copy else batches:
            x = np.asarray(x)
            out[start : start + len(x)] = np.round(np.clip(x, 0, 1) * 255) if uint8 else x
            start += len(x)
            for kept, col in zip(outputs, cols, strict=False):
                kept.append(np.asarray(col))
    return images._replace(source=out, from_files=False, cache=None), [
        np.concatenate(k) for k in outputs
    ]
