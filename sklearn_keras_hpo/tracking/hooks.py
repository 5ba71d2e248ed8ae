"""The lifecycle of a search, as our searchers report it to the trackers: no patching.

The rung runner (``HyperbandSearchCV``, ``AsyncHalvingSearchCV``) calls, in the process
that runs the search:

- ``observed_search(search, logger)`` around its whole ``fit``: ``logger`` (what the
  search's ``log_to`` names, already resolved; or None) is open for the search, and each
  listener hears ``search_started`` and, at the end, ``search_ended``;
- ``recording(pool_context)`` around its worker pool: each fit returns its record
  (``records.RecordedFit``), handed to the listeners (``fit_finished``) as the runner
  collects the fit;
- ``candidate_finished(params, score)`` when a candidate's row (its cross-validated
  score at one budget) is complete.

The listeners (``SearchListener``) are the loggers open in this process (``log_search()``
blocks and ``log_to``: ``open_logger``/``close_logger``) and those a search's
scikit-learn callbacks join with (``attach``). A search fitted inside another one's fit,
in the same thread, is not logged on its own. scikit-learn's and skopt's searchers do not
call these hooks: a ``SearchLogger`` given to them with ``set_callbacks`` hears them
through scikit-learn's callback API (``logger``).
"""

import contextlib
import threading
import warnings
from collections.abc import Iterator
from typing import Any, Protocol

from .records import RecordedFit, take_record


class SearchListener(Protocol):
    """What a tracker implements to hear searches (keras-tuner's ``on_search_begin``,
    ``on_trial_end``, ``on_search_end``).

    For one search, in the process that runs it: ``search_started`` once, before any fit;
    then ``fit_finished`` for each fit of one fold as it is collected (possibly on another
    thread), and ``candidate_finished`` for each (candidate, budget) row once all its folds
    are in; last ``search_ended``, also when the search fails. ``candidate_finished`` is
    optional. An exception from ``search_started`` fails the search before any fit; from
    the others it is a ``RuntimeWarning`` and the search goes on.
    """

    def search_started(self, search: Any) -> None:
        """``search`` (a ``BaseSearchCV``) starts fitting."""

    def fit_finished(self, record: dict[str, Any]) -> None:
        """One fold's fit ended: its ``records.fit_record``."""

    def candidate_finished(self, params: dict[str, Any], score: float) -> None:
        """A candidate (``params``, the resource included) has its mean test ``score``."""

    def search_ended(self, search: Any, error: BaseException | None) -> None:
        """``search`` ended: ``error`` is what stopped it, None when it finished."""


_loggers: list[SearchListener] = []  # open in this process, innermost last
_threads = threading.local()  # .searches: the searches our runner fits in this thread


class _Observed:
    """A search our runner fits, and the listeners that heard it start."""

    def __init__(self, search: Any) -> None:
        self.search = search
        self.listeners: list[SearchListener] = []


def _observed() -> list[_Observed]:
    if not hasattr(_threads, "searches"):
        _threads.searches = []
    return _threads.searches


def open_logger(logger: SearchListener) -> None:
    """Let ``logger`` hear every search our runner fits in this process from now on."""
    _loggers.append(logger)


def close_logger(logger: SearchListener) -> None:
    _loggers.remove(logger)


@contextlib.contextmanager
def observed_search(search: Any, logger: Any = None) -> Iterator[None]:
    """Around ``search.fit`` (our runner's): ``logger`` (a context manager, or None) open,
    and every listener told that the search started and how it ended (the exception, or
    None). Enter it before the search's callback context, so that a ``SearchLogger`` in
    its callbacks finds the search here (``attach``) and hears it once."""
    with contextlib.ExitStack() as stack:
        if logger is not None:
            stack.enter_context(logger)
        searches = _observed()
        observed = _Observed(search)
        searches.append(observed)
        try:
            if len(searches) == 1:  # not fitted inside another search's fit
                for listener in list(_loggers):
                    _start(observed, listener)
            yield
        except BaseException as error:
            _end(observed, error)
            raise
        else:
            _end(observed, None)
        finally:
            searches.remove(observed)


def is_observed(search: Any) -> bool:
    """Whether our runner fits ``search`` in this thread (it reports its fits itself)."""
    return any(observed.search is search for observed in _observed())


def attach(search: Any, listener: SearchListener) -> bool:
    """Let ``listener`` hear ``search`` through these hooks if our runner fits it in this
    thread (started now unless it was already); whether it does."""
    searches = _observed()
    for observed in searches:
        if observed.search is search:
            if observed is searches[0] and listener not in observed.listeners:
                _start(observed, listener)
            return True
    return False


def _start(observed: _Observed, listener: SearchListener) -> None:
    listener.search_started(observed.search)
    observed.listeners.append(listener)


def _end(observed: _Observed, error: BaseException | None) -> None:
    for listener in observed.listeners:
        safely(listener.search_ended, observed.search, error)


def safely(method: Any, *args: Any) -> None:
    """A listener's failure (a tracking server gone, a full disk) warns; the search goes on."""
    try:
        method(*args)
    except Exception as error:
        warnings.warn(
            f"Experiment tracking failed, the search goes on without it: {type(error).__name__}: "
            f"{error}",
            RuntimeWarning,
            stacklevel=2,
        )


def _listeners() -> list[SearchListener]:
    """Those that hear the search our runner fits now in this thread."""
    searches = _observed()
    return searches[-1].listeners if searches else []


def candidate_finished(params: dict[str, Any], score: float) -> None:
    """Tell the listeners of the search being fitted that a candidate's row is complete."""
    for listener in _listeners():
        if hasattr(listener, "candidate_finished"):
            safely(listener.candidate_finished, params, score)


def deliver(outs: Any, listeners: list[SearchListener]) -> None:
    """Hand the records that fit results carry to ``listeners``."""
    for out in outs:
        record = take_record(out)
        if record is not None:
            for listener in listeners:
                safely(listener.fit_finished, record)


@contextlib.contextmanager
def recording(pool_context: Any) -> Iterator[Any]:
    """The pool ``pool_context`` opens, its fits recorded while a listener hears the search."""
    listeners = _listeners()
    with pool_context as pool:
        yield _RecordingPool(pool, listeners) if listeners else pool


class _RecordingPool:
    """A ``_workers`` pool whose fits carry records, handed to the listeners when collected."""

    def __init__(self, pool: Any, listeners: list[SearchListener]) -> None:
        self._pool = pool
        self._listeners = listeners

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    def submit(self, function: Any, *args: Any) -> Any:
        return self._pool.submit(RecordedFit(function), *args)

    def wait(self, futures: Any, timeout: float | None = None) -> Any:
        done = self._pool.wait(futures, timeout)
        deliver([future.result() for future in done if _succeeded(future)], self._listeners)
        return done


def _succeeded(future: Any) -> bool:
    try:
        return not future.cancelled() and future.exception() is None
    except Exception:  # a lost worker's future: the runner sees to it
        return False
