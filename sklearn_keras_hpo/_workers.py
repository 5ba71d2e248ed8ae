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
import contextlib
import dataclasses
import time

import joblib
import numpy as np


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
    if hasattr(backend, "client"):  # joblib's DaskDistributedBackend: its n_jobs is the cluster's threads
        yield DaskPool(backend.client, backend.effective_n_jobs(n_jobs))
        return
    n_workers = joblib.effective_n_jobs(n_jobs)
    if n_workers == 1:
        yield InlinePool()
    elif getattr(backend, "uses_threads", False):
        with concurrent.futures.ThreadPoolExecutor(n_workers) as executor:
            yield ExecutorPool(executor, n_workers)
    else:
        with _process_executor(n_workers) as executor:
            yield ExecutorPool(executor, n_workers, end_workers=True)


@contextlib.contextmanager
def _process_executor(n_workers):
    """joblib's reusable loky executor, set up by a managed ``joblib.Parallel`` exactly as for
    sklearn's own searches (worker environment, memory-mapped arrays): the workers, their
    TensorFlow import and traced models are shared with them; its exit removes the maps."""
    with joblib.Parallel(n_jobs=n_workers) as parallel:
        executor = getattr(parallel._backend, "_workers", None)
        if isinstance(executor, concurrent.futures.Executor):
            yield executor
            return
    with joblib.Parallel(n_jobs=n_workers, backend="loky") as parallel:  # multiprocessing & co.: loky
        yield parallel._backend._workers


class InlinePool:
    """Runs each fit in this process when it is submitted."""

    n_workers = 1

    def put(self, value):
        return value

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
            self.executor.terminate(kill_workers=True)  # loky: end the fits still training, free the maps
        # threads cannot be ended: theirs finish, and their results are dropped


class DaskPool:
    """Futures of the Dask client that ``joblib.parallel_config(backend="dask")`` uses."""

    def __init__(self, client, n_workers):
        self.client, self.n_workers = client, max(1, n_workers)

    def put(self, value):
        return self.client.scatter(value, broadcast=True) if isinstance(value, np.ndarray) else value

    def submit(self, function, *args):
        return self.client.submit(function, *args, pure=False)

    def wait(self, futures, timeout=None):
        from distributed import wait

        try:
            return wait(futures, timeout=timeout, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            return []

    def stop(self, futures):
        self.client.cancel(list(futures))


def run_jobs(scheduler, pool, submit_fold, n_folds, score, deadline=None, on_fits=None):
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
    """
    waiting = collections.deque()  # folds of started jobs not yet submitted
    running = {}  # future -> (job, fold)
    folds = {}  # job -> {fold: result}
    finished = []
    on_fits = on_fits or (lambda started, done: None)
    try:
        while deadline is None or time.monotonic() < deadline:
            while len(running) < pool.n_workers:
                if not waiting:
                    job = scheduler.next_job()
                    if job is None:
                        break
                    waiting.extend((job, fold) for fold in range(n_folds))
                    on_fits(n_folds, 0)
                job, fold = waiting.popleft()
                running[submit_fold(job, fold)] = (job, fold)
            if not running:
                break
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            for future in pool.wait(list(running), timeout):
                job, fold = running.pop(future)
                folds.setdefault(job, {})[fold] = future.result()
                on_fits(0, 1)
                if len(folds[job]) == n_folds:
                    done = folds.pop(job)
                    outs = [done[i] for i in range(n_folds)]
                    finished.append((job, outs))
                    scheduler.report(job, score(outs))
    finally:
        if running:  # the deadline, an error with error_score="raise", or Ctrl-C
            pool.stop(list(running))
        on_fits(-len(running) - len(waiting), 0)  # dropped: out of the total again
    return finished
