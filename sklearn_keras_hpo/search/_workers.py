"""Keep every worker busy: the pools and the loop behind the rung searches.

scikit-learn's searches hand joblib one batch of fits and wait for the whole batch, so a
worker that finishes early waits for the batch's slowest fit, and a rung of one candidate
leaves all but ``cv`` workers idle. ``HyperbandSearchCV`` and ``AsyncHalvingSearchCV``
instead submit one fit (one fold of one candidate) whenever a worker is free, and ask
their scheduler (the strategy: Hyperband's brackets, ASHA's promotion rule) for the next
candidate only then. The pool is the one joblib's active configuration names:

- this process, when joblib would run one job (``n_jobs=1``): fits run in the order they
  are submitted, so the search is deterministic;
- the Dask client of ``joblib.parallel_config(backend="dask")``: the data scattered once,
  one Dask future per fit, as many in flight as the cluster has threads (as joblib does);
- a thread pool under a thread backend;
- otherwise joblib's own reusable loky process pool, set up as for sklearn's searches:
  the same workers, the thread limits joblib gives them (``OMP_NUM_THREADS = cores //
  n_jobs``, which ``parallel`` turns into TensorFlow's thread pools), large arrays
  memory-mapped.
"""

import collections
import concurrent.futures
import concurrent.futures.process
import contextlib
import dataclasses
import time
import warnings

import joblib
import numpy as np

from .._stacklevel import user_stacklevel
from ..data.rows import ImageRows


class LostWorkerWarning(UserWarning):
    """A worker process died (killed, out of memory, crashed) while fits were running on
    it; the warning names the fits, which run again on fresh workers."""


@dataclasses.dataclass(eq=False)
class Job:
    """One (candidate, epochs) to cross-validate: its ``cv_results_`` row.

    ``order`` sorts the rows of ``cv_results_``; ``params`` are set on the estimator;
    ``columns`` are the row's extra ``cv_results_`` columns (rung, epochs, ...).
    """

    order: tuple
    params: dict
    columns: dict


@contextlib.contextmanager
def open_pool(n_jobs):
    """The pool that runs a search's fits, from ``n_jobs`` and joblib's active configuration."""
    backend, _ = joblib.parallel.get_active_backend()
    if hasattr(
        backend, "client"
    ):  # joblib's DaskDistributedBackend: its n_jobs is the cluster's threads
        yield DaskPool(backend.client, backend.effective_n_jobs(n_jobs))
        return
    n_workers = joblib.effective_n_jobs(n_jobs)
    if n_workers == 1:
        yield InlinePool()
    elif getattr(backend, "uses_threads", False):
        with concurrent.futures.ThreadPoolExecutor(n_workers) as executor:
            yield ExecutorPool(executor, n_workers)
    else:
        with _process_backend(n_workers) as process_backend:
            yield ProcessPool(process_backend, n_workers)


@contextlib.contextmanager
def _process_backend(n_workers):
    """joblib's loky backend with its reusable executor, set up by a managed
    ``joblib.Parallel`` exactly as for sklearn's own searches (worker environment,
    memory-mapped arrays): the workers, their TensorFlow import and traced models are
    shared with them; its exit removes the maps."""
    with joblib.Parallel(n_jobs=n_workers) as parallel:
        if isinstance(getattr(parallel._backend, "_workers", None), concurrent.futures.Executor):
            yield parallel._backend
            return
    with joblib.Parallel(
        n_jobs=n_workers, backend="loky"
    ) as parallel:  # multiprocessing & co.: loky
        yield parallel._backend


class InlinePool:
    """Runs each fit in this process when it is submitted."""

    n_workers = 1

    def submit(self, function, *args):
        future = concurrent.futures.Future()
        try:
            future.set_result(function(*args))
        except Exception as error:  # surfaces in future.result(), as in the other pools
            future.set_exception(error)
        return future

    def wait(self, futures, timeout=None):
        return [future for future in futures if future.done()]

    def stop(self, futures):
        pass

    def worker_died(self, error):
        """Whether ``error`` (from a future) means the fit's worker process died."""
        return False


class ExecutorPool(InlinePool):
    """A ``concurrent.futures`` executor: threads, or loky processes (``end_workers``)."""

    def __init__(self, executor, n_workers, end_workers=False):
        self.executor, self.n_workers, self.end_workers = executor, n_workers, end_workers

    def submit(self, function, *args):
        return self.executor.submit(function, *args)

    def wait(self, futures, timeout=None):
        return concurrent.futures.wait(futures, timeout, concurrent.futures.FIRST_COMPLETED).done

    def stop(self, futures):
        for future in futures:
            future.cancel()
        if self.end_workers and not all(future.done() for future in futures):
            self.executor.terminate(
                kill_workers=True
            )  # loky: end the fits still training, free the maps
        # threads cannot be ended: theirs finish, and their results are dropped


class ProcessPool(ExecutorPool):
    """joblib's loky workers. When one dies, loky fails every fit in flight and the
    executor refuses new ones; ``renew`` starts fresh workers the way joblib does."""

    def __init__(self, backend, n_workers):
        super().__init__(backend._workers, n_workers, end_workers=True)
        self.backend = backend

    def worker_died(self, error):
        return isinstance(error, concurrent.futures.process.BrokenProcessPool)

    def retries(self, error):
        return True  # loky never runs a lost fit again itself

    def lost_with(self, futures):
        """The other futures a dead worker takes down: all of them, once they settle."""
        concurrent.futures.wait(futures)
        return list(futures)

    def renew(self):
        self.backend.abort_everything(ensure_ready=True)
        self.executor = self.backend._workers


class DaskPool:
    """Futures of the Dask client that ``joblib.parallel_config(backend="dask")`` uses.

    Arrays (and ``ImageRows``) are scattered to every worker once, when first submitted,
    and again if every copy was lost with the workers holding it (Dask then cancels the
    fits that needed them: those are run again). Dask itself runs a dead worker's fits
    again elsewhere; a fit that still fails with ``KilledWorker`` killed every worker it
    ran on.
    """

    def __init__(self, client, n_workers):
        self.client, self.n_workers = client, max(1, n_workers)
        self.scattered = {}  # id(array) -> (array, its Dask future)

    def submit(self, function, *args):
        return self.client.submit(function, *map(self._scattered, args), pure=False)

    def _scattered(self, value):
        if not isinstance(value, (np.ndarray, ImageRows)):
            return value
        _, future = self.scattered.get(id(value), (None, None))
        if future is None or future.status != "finished":
            future = self.client.scatter(value, broadcast=True, hash=False)
            self.scattered[id(value)] = (value, future)  # the array too: its id stays its own
        return future

    def wait(self, futures, timeout=None):
        from distributed import wait
        from distributed.client import FuturesCancelledError

        try:
            return wait(futures, timeout=timeout, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            return []
        except FuturesCancelledError:  # their data was lost with the workers: run them again
            return [future for future in futures if future.done()]

    def stop(self, futures):
        self.client.cancel(list(futures))

    def worker_died(self, error):
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        return isinstance(error, (KilledWorker, FutureCancelledError))

    def retries(self, error):
        """Whether a fit lost to ``error`` is ours to run again (not when Dask gave up on it)."""
        from distributed.scheduler import KilledWorker

        return not isinstance(error, KilledWorker)

    def lost_with(self, futures):
        return []  # a lost Dask worker takes no other fit down

    def renew(self):
        pass  # the nanny restarts the worker; lost arrays are scattered again when next submitted


def run_jobs(
    scheduler, pool, submit_fold, n_folds, score, deadline=None, on_fits=None, lost_fold=None
):
    """Run every job the scheduler gives, fold by fold, one fold per free worker.

    ``scheduler.next_job()`` returns a job to start, or None when nothing can start
    before a running job finishes; ``scheduler.report(job, score(outs))`` receives each
    job's score once its ``n_folds`` fold results are in. ``submit_fold(job, fold)``
    submits one fit to ``pool`` and returns its future. The loop ends when nothing runs
    and nothing can start, or at ``deadline`` (``time.monotonic()``): then nothing new
    starts and the fits still running are dropped (the pool ends them).
    ``on_fits(started, finished)`` counts fits for a progress bar (dropped fits come off
    the started count again). Returns the finished jobs, in the order they finished,
    each with its fold results.

    A worker process that dies (killed by the system for memory, a crash in native
    code) takes the fits running on it down: they run again on fresh workers, one at a
    time, so that a death while one runs alone is that fit's own. Such a fit, or on Dask
    one that killed workers past Dask's own retries, gets ``lost_fold(job, fold)``: a
    failed fit's result, scored with ``error_score``. Both warn (``LostWorkerWarning``),
    naming the fits.
    """
    runner = _Runner(
        scheduler,
        pool,
        submit_fold,
        n_folds,
        score,
        on_fits or (lambda started, done: None),
        lost_fold,
    )
    return runner.run(deadline)


class _Runner:
    """The loop of ``run_jobs`` and its bookkeeping."""

    def __init__(self, scheduler, pool, submit_fold, n_folds, score, on_fits, lost_fold):
        self.scheduler, self.pool, self.submit_fold, self.n_folds = (
            scheduler,
            pool,
            submit_fold,
            n_folds,
        )
        self.score, self.on_fits, self.lost_fold = score, on_fits, lost_fold
        self.waiting = collections.deque()  # folds of started jobs not yet submitted
        self.rerun_alone = collections.deque()  # folds lost with a dead worker, each to run alone
        self.running = {}  # future -> (job, fold, ran alone)
        self.folds = {}  # job -> {fold: result}
        self.finished = []

    def run(self, deadline):
        try:
            while deadline is None or time.monotonic() < deadline:
                self._fill()
                if not self.running:
                    break
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                self._collect(self.pool.wait(list(self.running), timeout))
        finally:
            if self.running:  # the deadline, an error with error_score="raise", or Ctrl-C
                self.pool.stop(list(self.running))
            self.on_fits(
                -len(self.running) - len(self.waiting) - len(self.rerun_alone), 0
            )  # dropped
        return self.finished

    def _fill(self):
        """Start fits while workers are free: a lost fit alone, else folds of new jobs."""
        if self.rerun_alone:
            if not self.running:
                self._start(*self.rerun_alone.popleft(), alone=True)
            return
        while len(self.running) < self.pool.n_workers:
            if not self.waiting:
                job = self.scheduler.next_job()
                if job is None:
                    return
                self.waiting.extend((job, fold) for fold in range(self.n_folds))
                self.on_fits(self.n_folds, 0)
            self._start(*self.waiting.popleft())

    def _start(self, job, fold, alone=False):
        try:
            future = self.submit_fold(job, fold)
        except Exception as error:  # the workers died between two fits
            if not self.pool.worker_died(error):
                raise
            self.pool.renew()
            future = self.submit_fold(job, fold)
        self.running[future] = (job, fold, alone)

    def _collect(self, done):
        lost = [fit for future in done for fit in self._settle(future)]
        if lost:
            lost += [
                fit
                for future in self.pool.lost_with(list(self.running))
                for fit in self._settle(future)
            ]
            self.pool.renew()
            self._after_loss(lost)

    def _settle(self, future):
        """Record a finished future's fold; ``[(job, fold, run it again)]`` if its worker died."""
        job, fold, alone = self.running.pop(future)
        try:
            result = future.result()
        except Exception as error:
            if not self.pool.worker_died(error):
                raise
            return [(job, fold, self.pool.retries(error) and not alone)]
        self._record(job, fold, result)
        return []

    def _record(self, job, fold, result):
        self.folds.setdefault(job, {})[fold] = result
        self.on_fits(0, 1)
        if len(self.folds[job]) == self.n_folds:
            done = self.folds.pop(job)
            outs = [done[i] for i in range(self.n_folds)]
            self.finished.append((job, outs))
            self.scheduler.report(job, self.score(outs))

    def _after_loss(self, lost):
        again = [(job, fold) for job, fold, retry in lost if retry]
        if again:
            warnings.warn(
                "A worker process died (killed, out of memory or crashed) while fitting "
                f"{_names(again)}; they run again on fresh workers, one at a time.",
                LostWorkerWarning,
                stacklevel=user_stacklevel(),
            )
            self.rerun_alone.extend(again)
        for job, fold, retry in lost:
            if not retry:
                warnings.warn(
                    f"The fit of {_names([(job, fold)])} killed its worker process again when it "
                    "was run alone (or, on Dask, on every try); it counts as a failed fit "
                    "(error_score).",
                    LostWorkerWarning,
                    stacklevel=user_stacklevel(),
                )
                self._record(job, fold, self.lost_fold(job, fold))


def _names(fits):
    """``dropout=0.2, learning_rate=0.0161 (fold 0); ...``"""
    return "; ".join(f"{describe(job.params)} (fold {fold})" for job, fold in fits)


def describe(params):
    """Parameters as ``name=value, ...``, numbers plain (no ``np.float64(...)``)."""
    plain = {
        name: value.item() if isinstance(value, np.generic) else value
        for name, value in (params or {}).items()
    }
    return ", ".join(
        f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value!r}"
        for name, value in plain.items()
    )
