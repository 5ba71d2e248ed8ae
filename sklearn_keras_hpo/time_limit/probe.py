"""The one measurement a time-limited run is planned from: what training costs.

Two fits of the same configuration on the same images, for 1 and for 3 epochs, differ by
exactly two epochs' work: building and tracing the model, and Keras' start of a fit, cancel
out. The images are ``PROBE_BATCHES`` batches of every class (all of them when fewer), and
an epoch of all the training images is that difference scaled by their number; the fixed
cost is what the 1-epoch fit took beyond one epoch. A first fit on two batches builds and
traces the model, so the timed fits reuse the traced step as every later fit does.
"""

import time
from typing import NamedTuple

import numpy as np
from sklearn.base import clone

PROBE_BATCHES = 20  # batches of images per timed fit: long enough to time, short to pay


class TrainingCost(NamedTuple):
    """Seconds a fit costs: ``fixed`` once, plus ``epoch`` per epoch of all the images."""

    fixed: float
    epoch: float


def measure_training(estimator, X, y):
    """The :class:`TrainingCost` of ``estimator`` on all of ``X``, measured with no held-out
    split and no checkpoint."""
    batch = estimator.get_params()["batch_size"]
    probe = clone(estimator).set_params(
        checkpoint_dir=None, validation_fraction=None, early_stopping=False
    )
    probe.set_params(epochs=1).fit(*_subset(X, y, 2 * batch))  # builds and traces the model
    rows = _probe_rows(y, PROBE_BATCHES * batch)
    seconds = []
    for epochs in (1, 3):
        started = time.perf_counter()
        probe.set_params(epochs=epochs).fit(X[rows], y[rows])
        seconds.append(time.perf_counter() - started)
    per_epoch = max(seconds[1] - seconds[0], 1e-3) / 2
    return TrainingCost(max(seconds[0] - per_epoch, 0.0), per_epoch * len(y) / len(rows))


def _subset(X, y, n):
    rows = _probe_rows(y, n)
    return X[rows], y[rows]


def _probe_rows(y, n):
    """``n`` sorted row indices (all rows when fewer) holding every class of ``y``."""
    from sklearn.model_selection import train_test_split

    if len(y) <= n:
        return np.arange(len(y))
    try:
        rows, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=0)
    except ValueError:  # multi-label targets, or a class too small to stratify
        rows = np.linspace(0, len(y) - 1, n).astype(int)
    return np.sort(rows)
