"""Read batches of images by index from an array, a memory-mapped array or image files.

Nothing here copies a whole dataset: arrays are gathered batch by batch (the
split into training and validation is a list of indices), memory-mapped arrays
give back the pages they read now and then, and image files are decoded per
batch (or once, into a uint8 cache, when asked).
"""

import hashlib
import mmap
import os
import tempfile
from pathlib import Path

import numpy as np

from .._backend import keras_and_tf
from ..data.rows import ImageRows

# Pages of a file mapped into the process count in its RSS once touched, and the
# kernel maps whole page-cache folios (up to 2 MiB) around each touched page: 256
# images of 12 KiB gathered at random from a memory-mapped array mapped 265 MiB
# (measured). So rows of a memory-mapped array are read with pread into the batch,
# never through the mapping: the file stays in the kernel's page cache, not in RSS.
DECODE_BATCH = 64
DECODE_THREADS = max(1, min(8, os.cpu_count() or 1))


def _mapped_file(array):
    """``(path, byte offset of row 0, row bytes)`` of a C-contiguous view of an
    ``np.memmap`` (``np.load(..., mmap_mode="r")``, joblib's memmapping), or None."""
    base = array
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    mapping = getattr(base, "_mmap", None)
    if mapping is None or base.filename is None or not array.flags.c_contiguous or array.ndim == 0:
        return None
    start = np.frombuffer(mapping, np.uint8).ctypes.data  # where the mapping begins in memory
    mapped_from = base.offset - base.offset % mmap.ALLOCATIONGRANULARITY
    return base.filename, mapped_from + array.ctypes.data - start, array[:1].nbytes


class ArrayReader:
    """``reader(indices) -> images[indices]``; rows of a memory-mapped array are read
    from its file with ``pread``, so they never become part of the process's RSS.
    ``images`` may be an ``ImageRows`` view: its rows are read from the array under it."""

    def __init__(self, images):
        self.rows = images.index if isinstance(images, ImageRows) else None
        images = images.array if isinstance(images, ImageRows) else images
        self.images = images
        self.mapped = _mapped_file(images)
        self.file = open(self.mapped[0], "rb", buffering=0) if self.mapped else None

    def __call__(self, indices):
        indices = np.asarray(indices) if self.rows is None else self.rows[np.asarray(indices)]
        if self.file is None:
            return self.images[indices]
        _, first, row_bytes = self.mapped
        batch = np.empty((len(indices), *self.images.shape[1:]), self.images.dtype)
        rows = batch.reshape(len(indices), -1).view(np.uint8)
        if len(indices) and np.all(np.diff(indices) == 1):  # a contiguous run (predict): one read
            os.preadv(self.file.fileno(), [rows], first + int(indices[0]) * row_bytes)
            return batch
        for row, index in zip(rows, indices.tolist(), strict=False):
            os.preadv(self.file.fileno(), [row], first + index * row_bytes)
        return batch


def to_float(batch, scaled_from_uint8):
    """The model's input: float32, uint8 pixels scaled to [0, 1] (in the graph, per batch)."""
    _, tf = keras_and_tf()
    batch = tf.cast(batch, tf.float32)
    return batch * (1.0 / 255.0) if scaled_from_uint8 else batch


def file_decoder(image_shape):
    """``path -> uint8 (h, w, c)``: PNG, JPEG, BMP or GIF (first frame), resized to
    ``image_shape`` (bilinear, then rounded: an image of that size already is unchanged)."""
    _, tf = keras_and_tf()
    height, width, channels = image_shape

    def decode(path):
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        image = _to_channels(tf, image, channels)
        resized = tf.image.resize(image, (height, width), method="bilinear")
        return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)

    return decode


def _to_channels(tf, image, channels):
    """Grayscale <-> RGB, alpha dropped, whatever the file holds."""
    colour = tf.shape(image)[-1] >= 3
    if channels == 1:
        image = tf.cond(
            colour, lambda: tf.image.rgb_to_grayscale(image[..., :3]), lambda: image[..., :1]
        )
    else:
        image = tf.cond(
            colour, lambda: image[..., :3], lambda: tf.image.grayscale_to_rgb(image[..., :1])
        )
    image.set_shape((None, None, channels))
    return image


def decode_all(paths, image_shape, out):
    """Decode ``paths`` into the uint8 array ``out`` (in memory or memory-mapped)."""
    _, tf = keras_and_tf()
    decode = file_decoder(image_shape)
    ds = tf.data.Dataset.from_tensor_slices(np.asarray(paths, dtype=str))
    ds = ds.map(decode, num_parallel_calls=DECODE_THREADS, deterministic=True).batch(DECODE_BATCH)
    for start, batch in zip(
        range(0, len(paths), DECODE_BATCH), ds.as_numpy_iterator(), strict=False
    ):
        out[start : start + len(batch)] = batch
    return out


def cached_images(images):
    """``images`` with files decoded once into a uint8 array, as ``images.cache`` asks.

    ``"memory"``: an array in this process. A directory: a ``.npy`` file named by the
    paths, their sizes and times and the image shape, memory-mapped and reused by
    every later fit (and worker) that reads the same files.
    """
    if not images.from_files or images.cache is None:
        return images
    shape = (len(images.source), *images.image_shape)
    if images.cache == "memory":
        decoded = decode_all(images.source, images.image_shape, np.empty(shape, np.uint8))
    else:
        decoded = _disk_cache(images, shape)
    return images._replace(source=decoded, from_files=False, cache=None)


def _disk_cache(images, shape):
    directory = Path(images.cache)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"images-{files_digest(images.source, images.image_shape)}.npy"
    if not path.exists():
        handle, temporary = tempfile.mkstemp(dir=directory, suffix=".npy.tmp")
        os.close(handle)
        out = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.uint8, shape=shape)
        decode_all(images.source, images.image_shape, out)
        out.flush()
        del out
        os.replace(temporary, path)
    return np.load(path, mmap_mode="r")


def files_digest(paths, image_shape):
    """Hex digest of file names, sizes, modification times and the decoded shape."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(tuple(image_shape)).encode())
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def array_digest(array, chunk_bytes=64 * 2**20):
    """Hex digest of an array's dtype, shape and bytes, read in chunks."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{array.dtype}{array.shape}".encode())
    rows = max(1, chunk_bytes // max(1, array[:1].nbytes)) if array.ndim else 1
    reader = ArrayReader(array) if array.ndim else None
    for start in range(0, len(array) if array.ndim else 0, rows):
        digest.update(
            np.ascontiguousarray(reader(np.arange(start, min(start + rows, len(array))))).data
        )
    if not array.ndim:
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def find_unreadable(paths, image_shape):
    """The first file of ``paths`` that cannot be decoded, with TensorFlow's reason, or None."""
    _, tf = keras_and_tf()
    decode = file_decoder(image_shape)
    for path in paths:
        try:
            decode(tf.constant(str(path)))
        except (tf.errors.OpError, ValueError) as error:
            return str(path), str(error).strip().splitlines()[0]
    return None
