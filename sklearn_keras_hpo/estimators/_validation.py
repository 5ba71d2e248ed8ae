"""Input checks shared by the estimators: images in, a ``training.Images`` view out.

Nothing here copies the user's images: arrays (in memory or memory-mapped) are
checked in chunks and viewed as ``(n, h, w, c)`` in their own dtype; a 1-D array
of file paths is checked for existence and read later, batch by batch.
"""

import math
import os
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils import assert_all_finite
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_X_y, validate_data

from .._stacklevel import user_stacklevel
from ..data.datasets import IMAGE_SUFFIXES
from ..data.rows import ImageRows
from ..training import Images

CHUNK_BYTES = 64 * 2**20  # finiteness and pixel-range checks read this much at a time
WARN_SAMPLE = 512  # images looked at to decide whether floats look like unscaled pixels


def check_images(estimator, X, y=None, *, reset, y_numeric=False, keep_layout=False):
    """Validate ``X`` (and ``y``); return ``Images`` (and the checked ``y``).

    Accepts 4-D ``(n, h, w, c)``, 3-D grayscale ``(n, h, w)`` or 2-D flat
    ``(n, features)`` arrays of any numeric dtype, kept as they are (uint8 is
    scaled by 1/255 per batch), or a 1-D array of image file paths. On ``reset``
    it sets ``n_features_in_`` (pixels x channels) and ``image_shape_``; otherwise
    it checks ``X`` against them. With ``keep_layout`` (a ``model=`` builder and no
    ``image_shape``) X keeps its own per-sample shape and values: 2-D stays 2-D,
    uint8 is not scaled, any number of dimensions from 2 up. An ``ImageRows`` view is
    checked on the array under it and read through its index, never copied.
    """
    name = type(estimator).__name__
    if sp.issparse(X):
        raise ValueError(
            f"{name} got a sparse matrix for X, but images must be dense: "
            "pass X.toarray() (or a dense array) instead."
        )
    if _is_paths(X):
        images = _file_images(estimator, np.asarray(X, dtype=object), reset)
        return images if y is None else (images, _check_targets(name, len(images), y, y_numeric))
    X, rows = (X.array, X.index) if isinstance(X, ImageRows) else (X, None)
    if not hasattr(X, "columns") and not isinstance(X, np.ndarray):
        X = np.asarray(X)
    _check_layout(name, X, keep_layout)
    if getattr(X, "dtype", None) is not None and X.dtype.kind in "US":
        raise ValueError(
            f"{name} got X of dtype {X.dtype} (strings) with shape {X.shape}; images must be "
            "numbers, or a 1-D array of image file paths (with image_size=)."
        )
    nd_shape = X.shape[1:] if X.ndim > 2 else None
    if isinstance(X, np.ndarray) and X.dtype.kind in "uif":
        flat = _check_numeric_array(estimator, X.reshape(len(X), -1), reset)
        y = (
            y
            if y is None
            else _check_targets(name, len(flat) if rows is None else len(rows), y, y_numeric)
        )
    else:  # DataFrames, lists, object or bool arrays: sklearn converts them (small data)
        flat = X.reshape(len(X), -1) if nd_shape is not None else X
        kwargs = dict(reset=reset, dtype="numeric", ensure_all_finite=True)
        if y is None:
            flat = validate_data(estimator, flat, **kwargs)
        else:
            multi_output = y_numeric or _has_columns(y)
            flat, y = validate_data(
                estimator, flat, y, multi_output=multi_output, y_numeric=y_numeric, **kwargs
            )
            y = _dense(y)
    if keep_layout:
        nd_shape = nd_shape if nd_shape is not None else flat.shape[1:]
    if reset and keep_layout:  # a model= builder's model owns its layout and preprocessing
        estimator.image_shape_ = tuple(nd_shape)
    elif reset:
        estimator.image_shape_ = _resolve_image_shape(estimator, nd_shape, flat.shape[1])
        _warn_unscaled(name, flat)
    elif keep_layout:
        _check_same_shape(name, nd_shape, estimator.image_shape_)
    elif nd_shape is not None:
        _check_same_layout(name, nd_shape, estimator.image_shape_)
    source = flat.reshape((len(flat), *estimator.image_shape_))
    source = source if rows is None else ImageRows(source, rows)
    images = Images(source, tuple(estimator.image_shape_), scale_uint8=not keep_layout)
    return images if y is None else (images, y)


def _check_numeric_array(estimator, flat, reset):
    """sklearn's checks on the first row (feature count, dtype), finiteness in chunks."""
    validate_data(estimator, flat[:1], reset=reset, dtype=None, ensure_all_finite=False)
    if flat.dtype.kind == "f":
        for chunk in _chunks(flat):
            assert_all_finite(chunk, input_name="X", estimator_name=type(estimator).__name__)
    return flat


def _chunks(flat, limit=None):
    rows = max(1, CHUNK_BYTES // max(1, flat[:1].nbytes))
    stop = len(flat) if limit is None else min(limit, len(flat))
    return (flat[start : min(start + rows, stop)] for start in range(0, stop, rows))


def _check_targets(name, n_samples, y, y_numeric):
    """sklearn's checks of ``y`` against ``n_samples``, without touching the images.

    Numeric targets (the regressor) may have several columns; class labels are 1-D
    (a column vector is raveled with sklearn's ``DataConversionWarning``) or a 2-D
    label matrix of two or more columns (dense, also when given sparse), which the
    classifier checks further.
    """
    stub = np.broadcast_to(np.float32(0), (n_samples, 1))  # no memory: a zero-stride view
    multi_output = y_numeric or _has_columns(y)
    return _dense(
        check_X_y(stub, y, multi_output=multi_output, y_numeric=y_numeric, estimator=name)[1]
    )


def _has_columns(y):
    """Whether ``y`` is 2-D with more than one column (a label matrix, not a column vector)."""
    shape = getattr(y, "shape", None)
    if (
        shape is None and y is not None
    ):  # lists (of lists) as they are; other array-likes through NumPy
        shape = np.shape(
            np.asarray(y, dtype=object) if isinstance(y, (list, tuple)) else np.asarray(y)
        )
    return shape is not None and len(shape) == 2 and shape[1] > 1


def _dense(y):
    return y.toarray() if sp.issparse(y) else y


def _check_layout(name, X, keep_layout=False):
    if X.ndim not in (2, 3, 4) and not (keep_layout and X.ndim > 4):
        raise ValueError(
            f"{name} got X with {X.ndim} dimension(s) {X.shape}. Reshape your data: pass images as "
            "(n, height, width), (n, height, width, channels) or flat (n, features), or a 1-D "
            "array of image file paths."
        )
    if len(X) == 0:
        raise ValueError(
            f"{name} got an empty X (0 samples, shape {X.shape}); pass at least one image."
        )


def _warn_unscaled(name, flat):
    """Floats that are non-negative whole numbers above 1 look like unscaled pixels (uint8
    is scaled for the user; standardised or [0, 1] data never warns)."""
    if flat.dtype.kind == "u" and flat.dtype.itemsize == 1:
        return
    sample = flat[:WARN_SAMPLE]
    peak = float(sample.max())
    if peak > 1 and float(sample.min()) >= 0 and bool(np.all(np.mod(sample, 1) == 0)):
        warnings.warn(
            f"{name}: X holds whole numbers from 0 up to {peak:g}, which looks like unscaled "
            f"pixels. Scale them to [0, 1] (divide by {255 if peak > 16 else peak:g}), or pass "
            "uint8 pixels, which are scaled by 1/255 for you; models train best on small inputs.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def _is_paths(X):
    """A 1-D array or list of str / path objects."""
    if isinstance(X, np.ndarray):
        return (
            X.ndim == 1
            and X.dtype.kind in "USO"
            and len(X) > 0
            and isinstance(X.flat[0], (str, os.PathLike))
        )
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and all(isinstance(x, (str, os.PathLike)) for x in X)
    )


def _file_images(estimator, paths, reset):
    name = type(estimator).__name__
    paths = np.asarray([str(os.fspath(p)) for p in paths])
    bad = [str(p) for p in paths if os.path.splitext(p)[1].lower() not in IMAGE_SUFFIXES]
    if bad:
        raise ValueError(
            f"{name} got X as file paths, but {bad[0]!r} is not an image file "
            f"(expected {sorted(IMAGE_SUFFIXES)}); {len(bad)} such path(s)."
        )
    missing = [str(p) for p in paths if not os.path.isfile(p)]
    if missing:
        raise ValueError(
            f"{name}: {len(missing)} image file(s) of X do not exist, e.g. {missing[0]!r}."
        )
    if reset:
        estimator.image_shape_ = _file_image_shape(estimator, paths[0])
        estimator.n_features_in_ = math.prod(estimator.image_shape_)
    return Images(
        paths, tuple(estimator.image_shape_), from_files=True, cache=estimator.image_cache
    )


def _file_image_shape(estimator, first):
    """``(h, w, c)`` from ``image_size``/``image_shape`` and ``channels``, else the first file."""
    from PIL import Image, UnidentifiedImageError

    size, channels = estimator.image_size, estimator.channels
    if size is None or channels is None:
        try:
            with Image.open(str(first)) as image:
                size = size or image.size[::-1]
                channels = channels or (
                    1 if image.mode in ("L", "LA", "I", "I;16", "1", "F") else 3
                )
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(
                f"Cannot read the image file {str(first)!r} ({error}); remove or replace it, "
                "or pass image_size= and channels= to skip reading it up front."
            ) from error
    return (int(size[0]), int(size[1]), int(channels))


def _resolve_image_shape(estimator, nd_shape, n_features):
    """Image shape ``(h, w, c)`` from n-D input, the ``image_shape`` parameter, or a guess."""
    requested = estimator.image_shape
    if nd_shape is not None:
        shape = tuple(nd_shape) + ((1,) if len(nd_shape) == 2 else ())
        if requested is not None and _with_channel(requested) != shape:
            raise ValueError(
                f"image_shape={tuple(requested)} does not match X's images of shape "
                f"{tuple(nd_shape)}: drop image_shape or make it agree."
            )
        return shape
    if requested is not None:
        shape = _with_channel(requested)
        if math.prod(shape) != n_features:
            raise ValueError(
                f"X has {n_features} features per sample but image_shape={tuple(requested)} "
                f"needs {math.prod(shape)}: pass the image_shape your flat images were "
                "made from, e.g. (28, 28) or (32, 32, 3)."
            )
        return shape
    side = math.isqrt(n_features)
    return (side, side, 1) if side * side == n_features else (1, n_features, 1)


def _with_channel(shape):
    shape = tuple(int(s) for s in shape)
    return shape + (1,) if len(shape) == 2 else shape


def _check_same_layout(name, nd_shape, image_shape):
    shape = tuple(nd_shape) + ((1,) if len(nd_shape) == 2 else ())
    if shape != tuple(image_shape):
        raise ValueError(
            f"X has images of shape {tuple(nd_shape)}, but {name} was fitted on images "
            f"of shape {tuple(image_shape)}."
        )


def _check_same_shape(name, shape, fitted):
    if tuple(shape) != tuple(fitted):
        raise ValueError(
            f"X has samples of shape {tuple(shape)} ({len(shape) + 1} dimensions in X), but "
            f"{name} was fitted on samples of shape {tuple(fitted)} ({len(fitted) + 1} "
            "dimensions in X)."
        )


def check_class_labels(estimator, y):
    """Check ``y`` is binary or multiclass with at least two classes."""
    check_classification_targets(y)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes in y, "
            f"but y holds only one class ({classes[0].item()!r}): give it data of two or more "
            "classes."
        )
    return classes


def split_validation(splitter, fraction, n_samples, targets):
    """``(train, validation)`` indices from ``splitter``'s one split, or a clear error
    naming ``validation_fraction`` when the samples cannot hold it out."""
    try:
        return next(splitter.split(np.zeros((n_samples, 1)), targets))
    except ValueError as error:
        raise ValueError(
            f"validation_fraction={fraction} cannot hold out a validation split from "
            f"{n_samples} samples ({error}). Pass more data or a larger "
            "validation_fraction, or set early_stopping=False."
        ) from error


def changed_parameters(estimator):
    """The parameters of ``estimator`` that differ from its class's defaults, as
    ``name=value, ...`` (for the note on a failed fit's error)."""
    defaults = type(estimator)().get_params(deep=False)
    changed = {
        k: v
        for k, v in estimator.get_params(deep=False).items()
        if k not in ("checkpoint_dir", "verbose")
        and (k not in defaults or repr(v) != repr(defaults[k]))
    }
    return ", ".join(f"{k}={v!r}" for k, v in sorted(changed.items())) or "all defaults"
