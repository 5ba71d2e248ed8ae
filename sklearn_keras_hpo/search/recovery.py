"""Searches that go on when a worker process dies (the system's out-of-memory killer, a
crash in native code).

``HyperbandSearchCV`` and ``AsyncHalvingSearchCV`` run their fits themselves
(``_workers.run_jobs``) and survive a lost worker without being asked. Every other search
(``GridSearchCV``, ``RandomizedSearchCV``, ``HalvingRandomSearchCV``, skopt's
``BayesSearchCV``: any ``BaseSearchCV``) hands its fits to joblib, so it survives through
joblib's own seam: the backend registered here as ``"skhpo-retry"`` runs the fits on loky
processes as joblib's default does, one fit per task, and runs the fits a dead worker took
down again, one at a time on fresh workers. A fit that kills its worker while it runs
alone is scored with ``error_score`` (or raises ``WorkerLostError`` with
``error_score="raise"``). Each case warns with ``LostWorkerWarning``, naming the fits.
Opt in with ``joblib.parallel_config(backend="skhpo-retry")`` or ``lost_workers_retried()``.
On Dask, the scheduler reruns a lost worker's tasks itself, so a Dask backend is left as
it is.
"""

import concurrent.futures
import contextlib
import threading
import warnings

import numpy as np
from joblib import parallel_config, register_parallel_backend
from joblib.parallel import LokyBackend, get_active_backend
from sklearn.base import BaseEstimator

from .._stacklevel import user_stacklevel
from ._workers import LostWorkerWarning, describe

__all__ = ["RETRY_BACKEND", "LostWorkerWarning", "WorkerLostError", "lost_workers_retried"]

RETRY_BACKEND = "skhpo-retry"


class WorkerLostError(RuntimeError):
    """A fit's worker process died while it ran alone: the fit killed it (or the system
    did, for the memory it took). The search scores it with ``error_score``."""


@contextlib.contextmanager
def lost_workers_retried():
    """Let scikit-learn's searches finish when a worker process dies.

    The same as ``joblib.parallel_config(backend="skhpo-retry")`` (see the module's
    docstring), except that a Dask backend chosen outside the block is kept. Results are
    those of an undisturbed search.

    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> tree = DecisionTreeClassifier(random_state=0)
    >>> with lost_workers_retried():
    ...     search = GridSearchCV(tree, {"max_depth": [2, 4]}, cv=2, n_jobs=2).fit(X, y)
    >>> search.best_params_
    {'max_depth': 4}
    """
    if hasattr(get_active_backend()[0], "client"):  # Dask reruns lost tasks itself
        yield
        return
    with parallel_config(backend=RETRY_BACKEND):
        yield


class RetryingBackend(LokyBackend):
    """joblib's loky backend, one fit per task, that runs the fits of a dead worker again.

    Results are taken in the thread that called ``Parallel`` (``retrieve_result``), so the
    warnings point at the user's ``fit``. While a loss is being dealt with, no new task is
    dispatched, so each fit that ran when the worker died runs again alone.
    """

    supports_retrieve_callback = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._in_flight = set()
        self._lost = []  # fits a dead worker took down, not yet run again
        self._held = []  # callbacks of fits run again, held while others wait for their turn

    def compute_batch_size(self):
        return 1  # a lost task is one fit, which the warning can name

    def submit(self, func, callback=None):
        task = _Task(func, callback)
        with self._lock:
            self._in_flight.add(task)
        try:
            future = self._workers.submit(func)
        except Exception as error:  # the workers died between two tasks
            if not _worker_died(error):
                raise
            self._settle(task, died=True)
            return task
        future.add_done_callback(lambda done: self._settle(task, _worker_died(done.exception())))
        task.future = future
        return task

    def _settle(self, task, died):
        with self._lock:
            self._in_flight.discard(task)
            if died:
                self._lost.append(task)
        task.settled.set()
        if not died and task.callback is not None:
            task.callback(task)  # joblib dispatches the next task

    def retrieve_result(self, task, timeout=None):
        task.settled.wait()
        if task not in self._lost:
            return task.future.result()
        self._announce_losses()
        result = self._run_alone(task)
        with self._lock:
            self._lost.remove(task)
            self._held.append(task.callback)
            release = [] if self._lost else self._held
            self._held = self._held if self._lost else []
        for callback in release:
            if callback is not None:
                callback(task)
        return result

    def _announce_losses(self):
        """Once per death: wait for every fit it takes down, warn naming them, renew."""
        if not any(not task.announced for task in self._lost):
            return
        concurrent.futures.wait([t.future for t in list(self._in_flight) if t.future is not None])
        new = [task for task in self._lost if not task.announced]
        for task in new:
            task.announced = True
        warnings.warn(
            "A worker process died (killed, out of memory or crashed) while fitting "
            f"{_names(new)}; they run again on fresh workers, one at a time.",
            LostWorkerWarning,
            stacklevel=user_stacklevel(),
        )
        self.abort_everything(ensure_ready=True)  # fresh workers, as joblib starts them

    def _run_alone(self, task):
        future = self._workers.submit(task.func)
        try:
            return future.result()
        except Exception as error:
            if not _worker_died(error):
                raise
        warnings.warn(
            f"The fit of {_names([task])} killed its worker process again when it was run "
            "alone; it counts as a failed fit (error_score).",
            LostWorkerWarning,
            stacklevel=user_stacklevel(),
        )
        self.abort_everything(ensure_ready=True)
        return [lost_fit(function, args[1:], kwargs) for function, args, kwargs in task.func.items]


register_parallel_backend(RETRY_BACKEND, RetryingBackend)


class _Task:
    """One task handed to ``RetryingBackend``: the batch (one fit), its future, its state."""

    def __init__(self, func, callback):
        self.func, self.callback = func, callback
        self.future = None
        self.settled = threading.Event()
        self.announced = False

    def get(self, timeout=None):
        raise NotImplementedError("results are taken by RetryingBackend.retrieve_result")


def _worker_died(error):
    return isinstance(error, concurrent.futures.process.BrokenProcessPool)


def _names(tasks):
    """``dropout=0.2 (fold 0); ...``: the fits of ``tasks``."""
    fits = [kwargs for task in tasks for _, _, kwargs in task.func.items]
    return "; ".join(
        f"{describe(kw.get('parameters'))} (fold {(kw.get('split_progress') or (0, 1))[0]})"
        for kw in fits
    )


def lost_fit(fit_and_score, data, kwargs):
    """The result of a fit whose worker died while it ran alone: ``fit_and_score`` (scikit-
    learn's ``_fit_and_score``) run here on an estimator whose ``fit`` raises
    ``WorkerLostError``, so the result is a failed fit's, scored with ``error_score``."""
    split = kwargs.get("split_progress") or (0, 1)
    message = (
        f"The worker process fitting {describe(kwargs.get('parameters'))} (fold {split[0]}) "
        "died while it ran alone, after dying with it once already: killed by the system "
        "(often for memory) or a crash in native code. Lower batch_size or image_size, or "
        "leave this configuration out of the search."
    )
    kwargs = {
        **kwargs,
        "train": np.asarray(kwargs["train"])[:0],  # nothing to copy: the fit raises at once
        "callback_ctx": None,
    }
    return fit_and_score(_LostFit(message), *data, **kwargs)


class _LostFit(BaseEstimator):
    """Stands in for the estimator of a lost fit: takes any parameters, fails to fit."""

    def __init__(self, message=""):
        self.message = message

    def set_params(self, **params):
        return self

    def fit(self, X, y=None, **fit_params):
        raise WorkerLostError(self.message)
