"""Stop a running search on Ctrl-C, so that the stop lands.

A Python exception raised in a signal handler surfaces wherever the main thread next runs
Python code. When that is a ``__del__`` method, a weakref or a garbage-collector callback
(TensorFlow and hypothesis install them), Python prints "Exception ignored in ..." and
carries on, and the search would run to its end. So once asked to stop, the handler raises
again every ``RETRY_S`` seconds (a ``SIGALRM`` timer) until the search has returned.
(A time limit needs no signal: the searchers stop themselves at their ``time_limit``.)

A stop can land inside TensorFlow's own bookkeeping, between a context's entry and its
``try`` or in a ``finally`` while unwinding, and leave the main thread in graph mode for
good ("numpy() is only available when eager execution is enabled" in the refit). What runs
after a stop therefore runs in a fresh thread (:func:`in_fresh_thread`): TensorFlow's and
Keras's context stacks are per thread, and a new thread starts them clean.
"""

import contextlib
import signal
import threading

RETRY_S = 0.5


class StopSearch(BaseException):
    """Raised in the main thread to stop a search; a BaseException, like KeyboardInterrupt,
    so that a searcher's per-fit ``error_score`` handling lets it through.

    ``reason`` says why (``"interrupted"``).
    """

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@contextlib.contextmanager
def stop_on_signals():
    """Raise :class:`StopSearch` in the ``with`` block on Ctrl-C (SIGINT), and again every
    ``RETRY_S`` seconds until it leaves the block. Main thread only; the previous handlers
    are restored on exit."""

    def stop(signum, frame):
        signal.setitimer(signal.ITIMER_REAL, RETRY_S)  # again, in case this one is swallowed
        raise StopSearch("interrupted")

    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGALRM)}
    for number in previous:
        signal.signal(number, stop)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for number, handler in previous.items():
            signal.signal(number, handler)


def stop_worker_processes():
    """End the fits still running in joblib's reusable worker processes after a stop: they
    would take the cores from what comes next (the refit), and hold up the process's exit
    until they finished. Starts no executor where none runs."""
    from joblib.externals.loky import reusable_executor

    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=False, kill_workers=True)


def in_fresh_thread(function, *args, **kwargs):
    """``function(*args, **kwargs)`` run in a new thread, its result returned and its
    exception raised here: TensorFlow's per-thread state (eager mode, default graph, name
    scopes) starts clean there, whatever an interrupted fit left in this thread.

    Examples
    --------
    >>> import tensorflow as tf
    >>> with tf.Graph().as_default():  # as an interrupted trace can leave the main thread
    ...     print(tf.executing_eagerly(), in_fresh_thread(tf.executing_eagerly))
    False True
    """
    outcome = {}

    def run():
        try:
            outcome["result"] = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(
        target=run, name="after-stop", daemon=True
    )  # a second Ctrl-C still exits
    worker.start()
    while worker.is_alive():
        worker.join(0.2)  # in short waits, so that a signal's handler runs in this thread
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
