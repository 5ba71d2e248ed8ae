"""Data and budgets for the example notebooks.

The notebooks read MNIST / Fashion-MNIST from a ``shared/data`` folder next to (or
above) the working directory when there is one, and fall back to scikit-learn's
bundled digits otherwise. ``SKHPO_SMALL=1`` (set by the tests) shrinks every
budget so that each notebook runs in well under a minute on 2 cores.
"""

import os
from pathlib import Path

import numpy as np

from sklearn_keras_hpo.data import load_digits_images, load_mnist

SMALL = os.environ.get("SKHPO_SMALL") == "1"


def budget(small, full):
    """``small`` under ``SKHPO_SMALL=1``, else ``full``."""
    return small if SMALL else full


def shared_data():
    """The nearest ``shared/data`` folder at or above the working directory, or None."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return None


def load(name="mnist", n_samples=2000, classes=None, random_state=0):
    """``(X, y, source)``: float32 images in [0, 1], labels, and where they came from."""
    root = shared_data()
    if root is not None and (root / name).is_dir():
        X, y = load_mnist(root / name)
        X, source = X.astype(np.float32) / 255.0, f"{name} ({root / name})"
    else:
        X, y = load_digits_images()
        source = "scikit-learn digits (no shared/data found)"
    if classes is not None:
        keep = np.isin(y, classes)
        X, y = X[keep], y[keep]
    order = np.random.default_rng(random_state).permutation(len(X))[:n_samples]
    return X[order], y[order], source
