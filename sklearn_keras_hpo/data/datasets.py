"""Offline image datasets: scikit-learn's digits, IDX (MNIST-style), NPZ, CSV, image folders.

Every loader returns ``(X, y)`` with ``X`` of shape (n, height, width) for
grayscale or (n, height, width, channels) for colour, and ``y`` of shape (n,).
Nothing is downloaded. Files that are missing, truncated or inconsistent raise a
``ValueError`` (or ``FileNotFoundError``) naming the file and what is wrong.

Examples
--------
>>> from sklearn_keras_hpo.data.datasets import load_digits_images
>>> X, y = load_digits_images()
>>> X.shape, X.dtype, y[:3]
((1797, 8, 8), dtype('float32'), array([0, 1, 2]))
"""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

# IDX type codes (http://yann.lecun.com/exdb/mnist/): code -> big-endian dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits as float32 images in [0, 1] and int labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target


def _existing(path):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    return path


def _read_bytes(path):
    path = _existing(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError) as error:  # gzip raises these on corrupt/truncated data
        raise ValueError(
            f"{path} cannot be read ({error}); the file is corrupt or truncated."
        ) from error


def load_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into a numpy array of its declared shape."""
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {data[:4].hex()!r}).")
    dtype, n_dims = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * n_dims
    if len(data) < header:
        raise ValueError(
            f"{path} is truncated: its header needs {header} bytes, it has {len(data)}."
        )
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=n_dims, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{path} has {len(data)} bytes but its header declares shape {shape} "
            f"({expected} bytes): the file is truncated or corrupt."
        )
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(directory, stem):
    for name in (stem, stem + ".gz"):
        if (directory / name).exists():
            return directory / name
    raise FileNotFoundError(f"{directory} has neither {stem} nor {stem}.gz.")


def load_mnist(
    directory: str | os.PathLike[str], subset: Literal["train", "test"] = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-style IDX files from ``directory`` (MNIST, Fashion-MNIST, KMNIST layouts).

    Parameters
    ----------
    directory : str or Path
        Folder holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.
    subset : {"train", "test"}, default="train"

    Returns
    -------
    X : ndarray of shape (n, 28, 28), uint8
    y : ndarray of shape (n,), uint8
    """
    if subset not in _MNIST_FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    directory = _existing(directory)
    images, labels = (load_idx(_find_idx(directory, stem)) for stem in _MNIST_FILES[subset])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{directory}: images of shape {images.shape} and labels of shape {labels.shape} "
            "do not match (expected (n, h, w) and (n,))."
        )
    return images, labels


def load_npz(
    path: str | os.PathLike[str],
    x_key: str | None = None,
    y_key: str | None = None,
    *,
    require_labels: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Images and labels from an ``.npz`` archive (keys ``x``/``y``, ``X``/``y``,
    ``images``/``labels`` or ``x_train``/``y_train`` are found automatically).

    With ``require_labels=False`` an archive without labels gives ``y=None``. A 2-D
    label array of two or more columns (a multi-label 0/1 matrix) is kept 2-D.
    """
    path = _existing(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable .npz archive ({error}).") from error
    with archive:
        x_key = _npz_key(archive, x_key, ("x", "X", "images", "x_train", "arr_0"), path, "x_key")
        y_key = _npz_key(
            archive, y_key, ("y", "labels", "y_train", "arr_1"), path, "y_key", require_labels
        )
        X, y = archive[x_key], (archive[y_key] if y_key else None)
    if y is not None and len(X) != len(y):
        raise ValueError(
            f"{path}: {x_key!r} has {len(X)} images but {y_key!r} has {len(y)} labels."
        )
    if y is not None and not (y.ndim == 2 and y.shape[1] > 1):
        y = y.ravel()
    return X, y


def _npz_key(archive, key, candidates, path, name, required=True):
    if key is not None and key not in archive.files:
        raise ValueError(f"{path} has keys {archive.files}; {name}={key!r} is not one of them.")
    found = key or next((k for k in candidates if k in archive.files), None)
    if found is None and required:
        raise ValueError(
            f"{path} has keys {archive.files}; pass x_key= and y_key= to say which to use "
            "(--x-key and --y-key on the command line)."
        )
    return found


def load_csv(
    path: str | os.PathLike[str],
    image_shape: Sequence[int] | None = None,
    label_column: int | list[int] | None = 0,
    skip_header: bool | Literal["auto"] = "auto",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Images from a CSV file with one label column and one column per pixel
    (the Kaggle MNIST layout). ``image_shape`` defaults to a square grayscale image;
    ``label_column=None`` reads a file of pixels only (``y`` is None); a list of
    columns reads a multi-label 0/1 matrix ``y`` of shape (n, len(label_column))."""
    path = _existing(path)
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if rows and (skip_header is True or (skip_header == "auto" and not _is_number(rows[0][0]))):
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{path} has no data rows.")
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(f"{path}: rows have different numbers of columns {sorted(widths)}.")
    try:
        table = np.asarray(rows, dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"{path} holds a value that is not a number ({error}).") from error
    if label_column is None:  # pixels only: images to predict
        y, pixels = None, table.astype(np.float32)
    else:
        y = table[:, label_column].astype(np.int64)
        pixels = np.delete(table, label_column, axis=1).astype(np.float32)
    return pixels.reshape(len(pixels), *_csv_shape(path, pixels.shape[1], image_shape)), y


def _csv_shape(path, n_pixels, image_shape):
    if image_shape is None:
        side = int(round(n_pixels**0.5))
        if side * side != n_pixels:
            raise ValueError(
                f"{path}: {n_pixels} pixel columns are not a square image; pass image_shape."
            )
        return (side, side)
    if int(np.prod(image_shape)) != n_pixels:
        raise ValueError(
            f"{path}: image_shape={tuple(image_shape)} needs {int(np.prod(image_shape))} "
            f"pixel columns, the file has {n_pixels}."
        )
    return tuple(image_shape)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_image_folder(
    directory: str | os.PathLike[str],
    image_size: Sequence[int] | None = None,
    color_mode: Literal["grayscale", "rgb"] | None = None,
    lazy: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Images from ``directory/<class name>/*.png|jpg|...``, resized to ``image_size``.

    Parameters
    ----------
    directory : str or Path
        One subfolder per class; files sorted by class name, then file name.
    image_size : (height, width) or None, default=None
        None: the first file's own size (CIFAR-10's JPEGs stay 32x32).
    color_mode : {"grayscale", "rgb"} or None, default=None
        None: the first file's own (grayscale for a grayscale file, else RGB).
    lazy : bool, default=False
        Return the file paths instead of decoding any image.

    Returns
    -------
    X : ndarray
        uint8 of shape (n, h, w) for grayscale or (n, h, w, 3) for ``color_mode="rgb"``;
        with ``lazy=True`` a 1-D array of the files' paths (str).
    y : ndarray of shape (n,)
        The class folder names (strings).
    """
    files, labels = _class_files(_existing(directory))
    if lazy:
        return np.asarray([str(file) for file in files]), np.asarray(labels)
    return _decode_images(files, image_size, color_mode), np.asarray(labels)


def file_image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(height, width)`` of an image file."""
    from PIL import Image

    with Image.open(path) as image:
        return image.height, image.width


def is_class_folder(source: str | os.PathLike[str]) -> bool:
    """Whether ``source`` is a folder of class subfolders of image files (not IDX files)."""
    path = Path(source)
    return (
        path.is_dir()
        and not any(path.glob("train-images-idx3-ubyte*"))
        and any(p.is_dir() for p in path.iterdir())
    )


def folder_channels(path: str | os.PathLike[str]) -> Literal[1, 3]:
    """1 for a grayscale image file, 3 otherwise (as the estimators read it)."""
    from PIL import Image

    with Image.open(path) as image:
        return 1 if image.mode in ("L", "LA", "I", "I;16", "1", "F") else 3


def _image_files(folder):
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _class_files(directory):
    classes = sorted(p for p in directory.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"{directory} has no class subfolders (expected one folder per class).")
    pairs = [(file, folder.name) for folder in classes for file in _image_files(folder)]
    if not pairs:
        raise ValueError(
            f"{directory} has class folders but no image files ({sorted(IMAGE_SUFFIXES)})."
        )
    files, labels = zip(*pairs, strict=False)
    return list(files), list(labels)


def _decode_images(files, image_size, color_mode):
    """uint8 pixels of ``files``; ``image_size``/``color_mode`` None: the first file's own."""
    from PIL import Image, UnidentifiedImageError

    image_size = image_size or file_image_size(files[0])
    color_mode = color_mode or ("grayscale" if folder_channels(files[0]) == 1 else "rgb")
    mode = {"grayscale": "L", "rgb": "RGB"}[color_mode]
    images = []
    for file in files:
        try:
            with Image.open(file) as image:
                resized = image.convert(mode).resize(tuple(image_size)[::-1])
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(f"{file} is not a readable image ({error}).") from error
        images.append(np.asarray(resized, dtype=np.uint8))
    return np.stack(images)


def load_source(
    source: str | os.PathLike[str],
    *,
    image_shape: Sequence[int] | None = None,
    image_size: Sequence[int] | None = None,
    color_mode: Literal["grayscale", "rgb"] | None = None,
    x_key: str | None = None,
    y_key: str | None = None,
    require_labels: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Images and labels from a named source: ``"digits"``, a folder of MNIST-style IDX
    files, a folder of class subfolders, an ``.npz`` or a ``.csv`` file.

    With ``require_labels=False`` (images to predict) a source without labels gives
    ``y=None``: an ``.npz`` without a label array, a ``.csv`` of pixel columns only, a
    folder of image files without class subfolders.

    >>> X, y = load_source("digits")
    >>> X.shape
    (1797, 8, 8)
    """
    if source == "digits":
        return load_digits_images()
    path = _existing(source)
    if path.is_dir():
        if any(path.glob("train-images-idx3-ubyte*")):
            return load_mnist(path, "train")
        if (
            not require_labels
            and _image_files(path)
            and not any(p.is_dir() for p in path.iterdir())
        ):
            return _decode_images(_image_files(path), image_size, color_mode), None
        return load_image_folder(path, image_size, color_mode)
    loaders = {
        ".npz": lambda p: load_npz(p, x_key, y_key, require_labels=require_labels),
        ".csv": lambda p: load_csv(
            p, image_shape=image_shape, label_column=_csv_labels(p, image_shape, require_labels)
        ),
    }
    if path.suffix.lower() not in loaders:
        raise ValueError(
            f"Cannot tell how to read {path}: give 'digits', a folder of IDX files or of class "
            "subfolders, an .npz or a .csv file."
        )
    return loaders[path.suffix.lower()](path)


def csv_label_names(path: str | os.PathLike[str]) -> list[str] | None:
    """The label names of a multi-label CSV file, or None: a header with two or more
    columns named ``label_<name>`` holds one 0/1 column per label (``<name>``).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tags.csv"
    >>> _ = path.write_text("label_odd,label_loop,p0,p1,p2,p3\\n1,0,0,1,1,0\\n")
    >>> csv_label_names(path)
    ['odd', 'loop']
    """
    columns = _multilabel_columns(path)
    return [name for _, name in columns] if columns else None


def _multilabel_columns(path):
    with open(path, newline="") as handle:
        first = next(csv.reader(handle), [])
    if not first or _is_number(first[0]):
        return None
    found = [
        (i, name.strip()[len("label_") :])
        for i, name in enumerate(first)
        if name.strip().lower().startswith("label_")
    ]
    return found if len(found) >= 2 else None


def _csv_labels(path, image_shape, require_labels):
    """``load_csv``'s ``label_column``: the ``label_<name>`` columns of a multi-label file,
    else 0 (labels required) or what the header and the column count tell."""
    columns = _multilabel_columns(path)
    if columns:
        return [i for i, _ in columns]
    return 0 if require_labels else _csv_label_column(path, image_shape)


def _csv_label_column(path, image_shape):
    """0 when the first column of ``path`` holds labels, None when every column is a pixel:
    a header names a "label" column; else the column count tells (pixels only when it is
    the image's size, or a square without ``image_shape``)."""
    with open(path, newline="") as handle:
        first = next(csv.reader(handle), [])
    if first and not _is_number(first[0]):
        names = [name.strip().lower() for name in first]
        return names.index("label") if "label" in names else None
    if image_shape is not None:
        return None if len(first) == int(np.prod(image_shape)) else 0
    return None if round(len(first) ** 0.5) ** 2 == len(first) else 0
