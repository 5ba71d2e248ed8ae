"""Where the searches meet the loggers open in this process.

Every searcher reports the same three events to each open logger: a search started, a
fit finished (its record, see ``records``), the search ended. Only this process, the
one that runs the search, hears them; workers only attach records to their results.

- scikit-learn's searches and those built on them (``GridSearchCV``,
  ``RandomizedSearchCV``, ``Halving*SearchCV``, skopt's ``BayesSearchCV``): while a
  logger is open, ``BaseSearchCV.fit`` announces the search, the ``_fit_and_score``
  tasks it hands joblib (or ``lost_workers_retried``'s runner, or Dask) are
  ``RecordedFit``, and their records are taken from the results of each batch where
  scikit-learn checks them for failures, in this process.
- ``HyperbandSearchCV`` and ``AsyncHalvingSearchCV`` call ``observed_search`` around their
  fit (which also opens their ``log_to`` logger) and run their fits through a
  ``recording`` pool, which hands on each fit's record as soon as the fit is collected.

Everything is restored when the last logger closes.
"""

import contextlib
import functools
import warnings

from sklearn.model_selection import _search as sklearn_search
from sklearn.model_selection._search import BaseSearchCV

from .records import RecordedFit, take_record

_loggers = []  # the loggers open now, innermost last
_running = []  # the searches running in this process (a search fitted inside another's fit is not logged)
_originals = {}


def open_logger(logger):
    """Add ``logger`` to those told about searches (patching scikit-learn for the first)."""
    if not _loggers:
        _patch()
    _loggers.append(logger)


def close_logger(logger):
    _loggers.remove(logger)
    if not _loggers:
        _unpatch()


@contextlib.contextmanager
def observed_search(search):
    """Around ``search.fit``: its own ``log_to`` logger open, and every open logger told
    that the search started and how it ended (the exception, or None)."""
    with contextlib.ExitStack() as stack:
        log_to = getattr(search, "log_to", None)
        if log_to is not None:
            from .logger import logger_for

            stack.enter_context(logger_for(log_to))
        if not _loggers or _running:
            yield
            return
        listeners = []  # those that started: a logger that fails to start raises, the others end
        _running.append(search)
        try:
            for logger in list(_loggers):
                logger.search_started(search)
                listeners.append(logger)
            yield
        except BaseException as error:
            _ended(listeners, search, error)
            raise
        else:
            _ended(listeners, search, None)
        finally:
            _running.remove(search)


def _ended(listeners, search, error):
    for logger in listeners:
        _safely(logger.search_ended, search, error)


def _safely(method, *args):
    """A logger's failure (a tracking server gone, a full disk) warns; the search goes on."""
    try:
        method(*args)
    except Exception as error:
        warnings.warn(
            f"Experiment tracking failed, the search goes on without it: {type(error).__name__}: "
            f"{error}",
            RuntimeWarning,
            stacklevel=2,
        )


def deliver(outs):
    """Hand the records that fit results carry to the open loggers."""
    for out in outs:
        record = take_record(out)
        if record is not None and _running:
            for logger in _loggers:
                _safely(logger.fit_finished, record)


@contextlib.contextmanager
def recording(pool_context):
    """The pool ``pool_context`` opens, its fits recorded while a logger is open."""
    with pool_context as pool:
        yield _RecordingPool(pool) if _loggers and _running else pool


class _RecordingPool:
    """A ``_workers`` pool whose fits carry records, handed to the loggers when collected."""

    def __init__(self, pool):
        self._pool = pool

    def __getattr__(self, name):
        return getattr(self._pool, name)

    def submit(self, function, *args):
        return self._pool.submit(RecordedFit(function), *args)

    def wait(self, futures, timeout=None):
        done = self._pool.wait(futures, timeout)
        deliver([future.result() for future in done if _succeeded(future)])
        return done


def _succeeded(future):
    try:
        return not future.cancelled() and future.exception() is None
    except Exception:  # a lost worker's future: the runner sees to it
        return False


def _patch():
    _originals.update(
        fit_and_score=sklearn_search._fit_and_score,
        check=sklearn_search._warn_or_raise_about_fit_failures,
        fit=BaseSearchCV.fit,
    )
    sklearn_search._fit_and_score = RecordedFit(_originals["fit_and_score"])
    sklearn_search._warn_or_raise_about_fit_failures = functools.partial(
        _checked, _originals["check"]
    )
    BaseSearchCV.fit = _observed_fit(_originals["fit"])


def _unpatch():
    sklearn_search._fit_and_score = _originals["fit_and_score"]
    sklearn_search._warn_or_raise_about_fit_failures = _originals["check"]
    BaseSearchCV.fit = _originals["fit"]


def _checked(original, out, error_score):
    """scikit-learn's check of a batch of fit results, after their records are handed on."""
    deliver(out)
    return original(out, error_score)


def _observed_fit(original):
    @functools.wraps(original)
    def fit(self, X, y=None, **params):
        with observed_search(self):
            return original(self, X, y, **params)

    return fit
