"""Input checks shared by the estimators: images in, float32 ``(n, h, w, c)`` out."""

import math
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data


def check_images(estimator, X, y=None, *, reset, y_numeric=False):
    """Validate ``X`` (and ``y``) and return images as float32 ``(n, h, w, c)``.

    Accepts 4-D ``(n, h, w, c)``, 3-D grayscale ``(n, h, w)`` or 2-D flat
    ``(n, features)`` input, uint8 (scaled by 1/255) or any other numeric dtype
    (kept as is). On ``reset`` it sets ``n_features_in_`` (pixels x channels)
    and ``image_shape_``; otherwise it checks ``X`` against them.
    """
    name = type(estimator).__name__
    if sp.issparse(X):
        raise ValueError(
            f"{name} got a sparse matrix for X, but images must be dense: "
            "pass X.toarray() (or a dense array) instead."
        )
    if not hasattr(X, "columns"):  # keep DataFrames for sklearn's feature-name checks
        X = np.asarray(X)
    _check_layout(name, X)
    if getattr(X, "dtype", None) is not None and X.dtype.kind in "US":
        raise ValueError(
            f"{name} got X of dtype {X.dtype} (strings); images must be numbers. "
            "Decode image files first, e.g. with sklearn_keras_hpo.datasets.load_image_folder."
        )
    nd_shape = X.shape[1:] if X.ndim > 2 else None
    flat = X.reshape(len(X), -1) if nd_shape is not None else X
    kwargs = dict(reset=reset, dtype="numeric", ensure_all_finite=True)
    if y is None:
        flat = validate_data(estimator, flat, **kwargs)
    else:
        flat, y = validate_data(
            estimator, flat, y, multi_output=y_numeric, y_numeric=y_numeric, **kwargs
        )
    if reset:
        estimator.image_shape_ = _resolve_image_shape(estimator, nd_shape, flat.shape[1])
    elif nd_shape is not None:
        _check_same_layout(name, nd_shape, estimator.image_shape_)
    images = flat.reshape((len(flat), *estimator.image_shape_))
    images = images.astype(np.float32) / 255 if images.dtype == np.uint8 else images
    images = images.astype(np.float32, copy=False)
    _warn_unscaled(name, images)
    return images if y is None else (images, y)


def _check_layout(name, X):
    if X.ndim not in (2, 3, 4):
        raise ValueError(
            f"{name} got X with {X.ndim} dimension(s) {X.shape}. Reshape your data: pass images as "
            "(n, height, width), (n, height, width, channels) or flat (n, features)."
        )
    if len(X) == 0:
        raise ValueError(f"{name} got an empty X (0 samples, shape {X.shape}); pass at least one image.")


def _warn_unscaled(name, images):
    """Float images in 0..255 train badly; uint8 is scaled for the user, floats are not."""
    peak = float(images.max()) if images.size else 0.0
    if peak > 20:
        warnings.warn(
            f"{name}: X holds values up to {peak:g}, which looks like 0-255 pixels given as floats. "
            "Divide by 255 (or pass uint8, which is scaled for you); models train best on [0, 1].",
            UserWarning, stacklevel=3,
        )  # fmt: skip


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


def check_class_labels(estimator, y):
    """Check ``y`` is binary or multiclass with at least two classes."""
    check_classification_targets(y)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes in y, "
            f"but y holds only one class ({classes[0].item()!r}): give it data of two or more classes."
        )
    return classes
