"""Searches that go on when fits fail or their worker processes die.

``failures_as_scores()`` keeps a search going when every fit of one batch raises.
``lost_workers_retried()`` keeps scikit-learn's own searches going when a worker process
dies (the system's out-of-memory killer, a crash in native code): the fits it took down
run again on fresh workers, and a fit that kills its worker again is scored with
``error_score``. ``HyperbandSearchCV``, ``AsyncHalvingSearchCV`` and the CLI do both
without being asked.
"""

import contextlib
import functools
import warnings

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import _search as sklearn_search
from sklearn.model_selection._validation import _fit_and_score

from . import progress
from ._workers import Job, LostWorkerWarning, describe, open_pool, run_jobs

__all__ = ["LostWorkerWarning", "WorkerLostError", "failures_as_scores", "lost_workers_retried"]


class WorkerLostError(RuntimeError):
    """A fit's worker process died while it ran alone: the fit killed it (or the system
    did, for the memory it took). The search scores it with ``error_score``."""


@contextlib.contextmanager
def failures_as_scores():
    """Keep a search going when every fit of one batch fails.

    scikit-learn raises ``ValueError`` when all the fits that one call evaluates fail,
    even with a numeric ``error_score``: a Bayes search evaluating one point at a time,
    or a Hyperband rung of one candidate, would lose everything on one diverging
    configuration. Inside this block that case warns (``FitFailedWarning``) and the
    failed fits keep their ``error_score``, like any other failed fit.
    ``HyperbandSearchCV`` and the CLI use it; wrap ``BayesSearchCV.fit`` in it yourself.

    >>> with failures_as_scores():
    ...     pass
    """
    original = sklearn_search._warn_or_raise_about_fit_failures

    def warn_only(results, error_score):
        try:
            original(results, error_score)
        except ValueError as error:
            if error_score == "raise":
                raise
            warnings.warn(str(error), FitFailedWarning, stacklevel=2)

    sklearn_search._warn_or_raise_about_fit_failures = warn_only
    try:
        yield
    finally:
        sklearn_search._warn_or_raise_about_fit_failures = original


@contextlib.contextmanager
def lost_workers_retried():
    """Let scikit-learn's searches finish when a worker process dies.

    Inside this block, the fits of ``GridSearchCV``, ``RandomizedSearchCV``,
    ``HalvingRandomSearchCV``, ``BayesSearchCV`` (every ``BaseSearchCV``) run the way
    ``HyperbandSearchCV`` runs its own: one fit per free worker of the pool joblib's
    configuration names (loky processes, or Dask). Fits taken down by a dead worker run
    again on fresh workers, one at a time (from their checkpoints, where the estimator
    has a ``checkpoint_dir``); one that kills its worker while running alone is scored
    with ``error_score`` (or raises ``WorkerLostError`` with ``error_score="raise"``).
    Each case warns with ``LostWorkerWarning``, naming the fits. Results are those of an
    undisturbed search.

    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> with lost_workers_retried():
    ...     search = GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [2, 4]}, cv=2).fit(X, y)
    >>> search.best_params_
    {'max_depth': 4}
    """
    original = sklearn_search.Parallel
    sklearn_search.Parallel = _RetryingParallel
    try:
        yield
    finally:
        sklearn_search.Parallel = original


def lost_fit(fit_and_score, data, kwargs):
    """The result of a fit whose worker died while it ran alone: ``fit_and_score`` (scikit-
    learn's ``_fit_and_score``) run here on an estimator whose ``fit`` raises
    ``WorkerLostError``, so the result is a failed fit's, scored with ``error_score``."""
    split = kwargs.get("split_progress") or (0, 1)
    message = (
        f"The worker process fitting {describe(kwargs.get('parameters'))} (fold {split[0]}) died while it ran "
        "alone, after dying with it once already: killed by the system (often for memory) or a crash in "
        "native code. Lower batch_size or image_size, or leave this configuration out of the search."
    )
    kwargs = {
        **kwargs,
        "train": np.asarray(kwargs["train"])[:0],
    }  # nothing to copy: the fit raises at once
    return fit_and_score(_LostFit(message), *data, **kwargs)


class _LostFit(BaseEstimator):
    """Stands in for the estimator of a lost fit: takes any parameters, fails to fit."""

    def __init__(self, message=""):
        self.message = message

    def set_params(self, **params):
        return self

    def fit(self, X, y=None, **fit_params):
        raise WorkerLostError(self.message)


class _RetryingParallel:
    """What ``BaseSearchCV.evaluate_candidates`` gets as ``Parallel`` inside
    ``lost_workers_retried``: its ``_fit_and_score`` tasks go through ``run_jobs``, one
    job per candidate, one fold per split."""

    def __init__(self, n_jobs=None, **ignored):
        self.n_jobs = n_jobs

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def __call__(self, iterable):
        tasks = list(iterable)  # (sklearn's _FuncWrapper(_fit_and_score), args, kwargs)
        if not tasks:
            return []
        n_splits = tasks[0][2].get("split_progress", (0, 1))[1]
        progress.count_fits(
            started=len(tasks)
        )  # the whole call's fits: the bar's total from the start
        config, filters = get_config(), list(warnings.filters)
        with open_pool(self.n_jobs) as pool:

            def submit(job, fold):
                function, args, kwargs = tasks[job.order * n_splits + fold]
                function = function.with_config_and_warning_filters(config, filters)
                return pool.submit(functools.partial(function, **kwargs), *args)

            def lost(job, fold):
                _, args, kwargs = tasks[job.order * n_splits + fold]
                return lost_fit(_fit_and_score, args[1:], kwargs)

            jobs = _Candidates(tasks, n_splits)
            finished = run_jobs(
                jobs,
                pool,
                submit,
                n_splits,
                score=lambda outs: 0.0,
                on_fits=_finished_only,
                lost_fold=lost,
            )
        return [out for _, outs in sorted(finished, key=lambda item: item[0].order) for out in outs]


def _finished_only(started, finished):
    """Progress of fits counted in the total already: a fit that is run again after its
    worker died, or dropped, changes nothing; a finished one counts once."""
    progress.count_fits(finished=finished)


class _Candidates:
    """The candidates of one ``evaluate_candidates`` call, as ``run_jobs`` jobs."""

    def __init__(self, tasks, n_splits):
        self.params = [tasks[i][2].get("parameters") for i in range(0, len(tasks), n_splits)]
        self.started = 0

    def next_job(self):
        if self.started == len(self.params):
            return None
        self.started += 1
        return Job(order=self.started - 1, params=self.params[self.started - 1], columns={})

    def report(self, job, score):
        pass
