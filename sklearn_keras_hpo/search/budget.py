"""A time limit that bounds the whole run: the search, the refit of the best
configuration and the report.

The search gets ``SEARCH_SHARE`` of the limit, leaving at least ``MIN_RESERVE`` seconds.
The refit is then planned in what is left from the best configuration's measured seconds
per epoch (scaled from a fold's training rows to the whole training set, and to a fit
alone on the cores: ``solo_speedup``; or, where that affords 2 epochs or more,
``measured_epoch_seconds``, the refit's own epoch timed alone): its own epochs when they
fit, fewer when only those fit, and when not one epoch fits, no training at all: the best
configuration's first fold, restored from its checkpoint. Under a time limit the refit's
rule is ``"fill"``: as many epochs as the time left affords, up to ``FILL_STRETCH`` times
the longest training the search considered (its largest epochs), because a search stopped
by the clock chose on short fits, and the final model is what the user keeps.

The measurements behind ``SEARCH_SHARE`` and ``FILL_STRETCH`` are in ``docs/cli.md``
("Time limits") and the benchmarks' docs, not here.

A fold's epoch took 2 s on 2/3 of the training set, so an epoch of the refit takes 3 s;
20 s left, less 6 s to build the model, leave room for 4 epochs:

>>> refit_epochs(epochs=10, epoch_seconds=2.0, train_fraction=2 / 3, seconds_left=20.0)
4
>>> refit_epochs(epochs=10, epoch_seconds=2.0, train_fraction=2 / 3, seconds_left=100.0)
10
>>> refit_epochs(epochs=10, epoch_seconds=30.0, train_fraction=2 / 3, seconds_left=20.0)
0
"""

import math
import os
import time

import numpy as np

SEARCH_SHARE = 0.4  # of the time limit; the rest is for the refit and the report
FILL_STRETCH = 3  # "fill" refits up to this many times the search's longest training
MIN_RESERVE = (
    10.0  # seconds kept from the search at least: a refit and a report cost that much at any size
)
FIXED_SECONDS = 6.0  # a refit's cost besides its epochs: building and tracing the model
REPORT_SECONDS = 4.0  # the report's plots and tables, besides predicting the held-out images
RESTORE_SECONDS = 2.0  # building the best model and restoring its first fold's checkpoint
PROBE_BATCHES = 20  # batches in the smaller of the two timed fits of measured_epoch_seconds


class Budget:
    """The deadline of one run, from the moment it started (``time.monotonic``)."""

    def __init__(self, time_limit, started=None):
        self.time_limit = time_limit
        self.started = time.monotonic() if started is None else started

    def search_seconds(self):
        """What the search may run, or None without a limit."""
        if self.time_limit is None:
            return None
        return max(1.0, self.time_limit - self._reserve() - (time.monotonic() - self.started))

    def grace_seconds(self):
        """What the search may borrow from the refit's reserve while no configuration has
        finished: all but a restored checkpoint's and the report's cost."""
        if self.time_limit is None:
            return 0.0
        return max(0.0, self._reserve() - REPORT_SECONDS - RESTORE_SECONDS)

    def _reserve(self):
        return max((1 - SEARCH_SHARE) * self.time_limit, MIN_RESERVE)

    def seconds_left(self):
        return (
            math.inf
            if self.time_limit is None
            else self.time_limit - (time.monotonic() - self.started)
        )


def refit_epochs(*, epochs, epoch_seconds, train_fraction, seconds_left, reserve=FIXED_SECONDS):
    """Epochs of the best configuration that a refit on the whole training set can afford:
    ``epochs`` when they fit in ``seconds_left`` (less ``reserve``), fewer when only those
    do, 0 when not one does. ``epoch_seconds`` was measured on a fold's training rows,
    ``train_fraction`` of the whole set."""
    if epoch_seconds is None or not math.isfinite(seconds_left):
        return epochs
    per_epoch = epoch_seconds / train_fraction
    return int(max(0, min(epochs, (seconds_left - reserve) // per_epoch)))


def solo_speedup(n_jobs, cores=None):
    """How much faster a fit runs alone than the search's fits it is planned from, which
    shared the cores with ``n_jobs - 1`` others: about ``w ** 0.6`` for ``w = min(n_jobs,
    cores)`` workers (measured in ``docs/cli.md``); the exponent is kept small as a margin,
    because a refit planned too long overruns the limit and one planned too short only
    ends early.

    >>> (
    ...     round(solo_speedup(2, cores=2), 2),
    ...     solo_speedup(1, cores=2),
    ...     round(solo_speedup(8, cores=4), 2),
    ... )
    (1.52, 1.0, 2.3)
    """
    from joblib import effective_n_jobs

    return min(effective_n_jobs(n_jobs), cores or os.cpu_count() or 1) ** 0.6


def epochs_for_refit(rule, searched, train_fraction, longest=None):
    """Epochs of a refit on all the training images, by the rule ``refit_epochs``: the
    searched epochs, those scaled by the whole set's size over a fold's, ``FILL_STRETCH``
    times the ``longest`` training the search considered (``"fill"``: the time left cuts
    it), or a given number.

    >>> [
    ...     epochs_for_refit(rule, 9, 2 / 3, longest=15)
    ...     for rule in ("searched", "scaled", "fill", 20)
    ... ]
    [9, 14, 45, 20]
    """
    if rule == "searched":
        return int(searched)
    if rule == "fill":
        return int(FILL_STRETCH * max(searched, longest or searched))
    if rule == "scaled":
        return max(1, int(searched / train_fraction + 0.5))
    return int(rule)


def refit_rule(text):
    """``refit_epochs`` from the command line: "searched", "scaled", "fill" or a number >= 1."""
    if text in ("searched", "scaled", "fill"):
        return text
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            f"refit epochs must be searched, scaled, fill or a number >= 1, got {text!r}"
        )
    return int(text)


def report_reserve(n_held_out, epoch_seconds, n_fold_train):
    """Seconds to keep for predicting ``n_held_out`` images and writing the report: a
    prediction pass costs about a third of a training epoch per image."""
    if not epoch_seconds or not n_fold_train:
        return REPORT_SECONDS
    return REPORT_SECONDS + epoch_seconds * n_held_out / n_fold_train / 3


def measured_epoch_seconds(estimator, X, y):
    """Seconds an epoch of all of ``X`` takes ``estimator`` fitted alone on the cores,
    measured: 1-epoch fits on images of every class, with no held-out split and no
    checkpoint. The first, on 2 batches, builds and traces the model (the refit then
    reuses the traced step); two more, on ``n`` and ``2 n`` images (``n`` up to
    ``PROBE_BATCHES`` batches, at most a twentieth of ``X``), are timed: their difference
    is the cost of ``n`` images (at least half the larger fit's), the rest a fit's fixed
    cost, counted once per epoch. An epoch trains the images that ``validation_fraction``
    does not hold out and predicts those it does, at about a third of the cost of training.
    (How close the estimate comes is measured in ``docs/cli.md``.)"""
    from sklearn.base import clone

    params = estimator.get_params()
    batch = params["batch_size"]
    n = max(batch, min(PROBE_BATCHES * batch, len(y) // 20))
    # no held-out split (too few images for every class; the refit's epoch trains on less)
    probe = clone(estimator).set_params(
        epochs=1, checkpoint_dir=None, validation_fraction=None, early_stopping=False
    )
    seconds = []
    for size in (2 * batch, n, 2 * n):
        rows = _probe_rows(y, size)
        started = time.perf_counter()
        probe.fit(X[rows], y[rows])
        seconds.append(time.perf_counter() - started)
    per_image = max(seconds[2] - seconds[1], seconds[2] / 2) / n  # noise: at most half of it fixed
    fixed = max(seconds[1] - per_image * n, 0.0)
    held_out = params.get("validation_fraction") or params.get("validation_split") or 0.0
    return fixed + per_image * len(y) * (
        1 - held_out + held_out / 3
    )  # predicting costs about a third


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


def refit_within(
    budget,
    estimator,
    params,
    train,
    *,
    cv,
    epoch_seconds,
    n_held_out,
    rule="searched",
    longest=None,
    measure=False,
):
    """``(fitted, what was done)``: ``estimator`` with the best ``params`` fitted in what
    ``budget`` leaves (less the report's share): on the whole training set for its own
    epochs, or for the epochs that fit, or, with no time for one, its fit on the first of
    the search's ``cv`` folds restored from the checkpoint (no training). ``rule`` sets
    the epochs first (``epochs_for_refit``, with ``longest``). The epochs that fit are
    planned from ``epoch_seconds`` (a fold's epoch, alone on the cores); with ``measure``,
    where that plan affords 2 epochs or more, from ``measured_epoch_seconds`` instead."""
    from sklearn.base import clone
    from sklearn.model_selection import check_cv

    X, y = train
    fraction = (cv - 1) / cv
    epochs = epochs_for_refit(
        rule, params.get("epochs", estimator.get_params()["epochs"]), fraction, longest
    )
    reserve = report_reserve(n_held_out, epoch_seconds, fraction * len(y))
    best = clone(estimator).set_params(**params)
    affordable = refit_epochs(
        epochs=epochs,
        epoch_seconds=epoch_seconds,
        train_fraction=fraction,
        seconds_left=budget.seconds_left() - reserve,
    )
    if measure and math.isfinite(budget.seconds_left()) and affordable >= 2:
        affordable = refit_epochs(
            epochs=epochs,
            epoch_seconds=measured_epoch_seconds(best, X, y),
            train_fraction=1.0,
            seconds_left=budget.seconds_left() - reserve,
        )
    if affordable >= 1:
        best.set_params(epochs=affordable).fit(X, y)
        if rule == "fill":
            return best, (
                f"on the whole training set for {affordable} epochs (what the time left "
                f"affords, up to {epochs}: {FILL_STRETCH} x the search's longest training)"
            )
        if affordable < epochs:
            return best, (
                f"on the whole training set for {affordable} of its {epochs} epochs (what the "
                "time limit left room for)"
            )
        return best, f"on the whole training set for {affordable} epochs"
    first_fold, _ = next(check_cv(cv, y, classifier=True).split(X, y))
    best.fit(X[first_fold], y[first_fold])  # the search's own fit: its checkpoint holds it
    return best, (
        f"no time left to train: the best configuration's fit on fold 1 ({len(first_fold)} "
        "images), restored from its checkpoint"
    )
