"""Data: offline dataset loaders (digits, IDX, NPZ, CSV, image folders) and ``ImageRows``,
an image array that scikit-learn's folds index without copying."""

from .datasets import (
    load_csv,
    load_digits_images,
    load_idx,
    load_image_folder,
    load_mnist,
    load_npz,
    load_source,
)
from .rows import ImageRows

__all__ = [
    "ImageRows",
    "load_csv",
    "load_digits_images",
    "load_idx",
    "load_image_folder",
    "load_mnist",
    "load_npz",
    "load_source",
]
