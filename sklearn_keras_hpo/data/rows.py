"""``ImageRows``: an image array whose rows are picked by index without copying them."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


class ImageRows:
    """Rows of an image array, selected by index without copying the images.

    scikit-learn's cross-validation and searches give every fit ``X[train]`` and
    ``X[test]``: for a NumPy array that is a new copy of the whole dataset in every
    worker (and, under ``n_jobs>1``, the pages of joblib's memory-mapped dump on top).
    Wrapped in ``ImageRows``, ``X`` indexes like an array, but indexing only records
    which rows: the estimators of this package read the selected rows batch by batch,
    from memory or from a memory-mapped file. Anything else that needs the pixels gets
    them with ``np.asarray(rows)``.

    Parameters
    ----------
    array : ndarray of shape (n_samples, ...)
        Images of any numeric dtype, in memory or memory-mapped
        (``np.load(path, mmap_mode="r")``); kept as they are, never copied.
    index : array-like of int, default=None
        The rows of ``array`` this view holds, in order; None for all of them.

    Attributes
    ----------
    shape, dtype, ndim, nbytes : as those of ``np.asarray(rows)``, without making it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_keras_hpo import ImageRows
    >>> rows = ImageRows(np.arange(24, dtype=np.uint8).reshape(6, 2, 2))
    >>> part = rows[[4, 1, 5]][1:]
    >>> part.shape, part.index.tolist()
    ((2, 2, 2), [1, 5])
    >>> np.asarray(part)[0].tolist()
    [[4, 5], [6, 7]]

    Cross-validation on 1 GiB of images without a copy per fold:

    >>> from sklearn.model_selection import cross_val_score  # doctest: +SKIP
    >>> cross_val_score(CNNClassifier(), ImageRows(X), y, cv=5, n_jobs=2)  # doctest: +SKIP
    """

    array: np.ndarray
    index: np.ndarray

    def __init__(self, array: np.ndarray | ImageRows, index: ArrayLike | None = None) -> None:
        if isinstance(array, ImageRows):
            index = array.index if index is None else array.index[np.asarray(index)]
            array = array.array
        if not isinstance(array, np.ndarray) or array.ndim < 2 or array.dtype.kind not in "uif":
            raise ValueError(
                "ImageRows needs a numeric NumPy array (or np.memmap) of images, "
                "shape (n_samples, ...) with "
                f"at least 2 dimensions; got {type(array).__name__} {getattr(array, 'shape', '')}."
            )
        self.array = array
        self.index = np.arange(len(array)) if index is None else np.asarray(index, dtype=np.intp)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.index), *self.array.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def nbytes(self) -> int:
        return len(self.index) * self.array[:1].nbytes

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key: Any) -> np.ndarray | ImageRows:
        """Rows: an int gives that image (an array); a slice, int array or boolean mask a
        new ``ImageRows`` (``rows[key, ...]`` too, as scikit-learn indexes)."""
        if isinstance(key, tuple):
            if any(part is not Ellipsis for part in key[1:]):
                raise IndexError(
                    "ImageRows selects rows only: index it with rows[key] or rows[key, ...]."
                )
            key = key[0]
        if isinstance(key, numbers.Integral):
            return self.array[self.index[key]]
        if not isinstance(key, slice):
            key = np.asarray(key)
            key = key.astype(np.intp) if key.size == 0 else key
        return ImageRows(self.array, self.index[key])

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        images = self.array[self.index]
        return images if dtype is None else images.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return (
            f"ImageRows({len(self)} of {len(self.array)} images "
            f"{self.array.shape[1:]} {self.dtype})"
        )
