"""The lifecycle hooks our runner calls (``tracking.hooks``), heard by listeners that note
what they hear; a pool that runs each fit at once stands in for the runner's workers."""

import contextlib
import threading
from concurrent.futures import Future

import pytest

from sklearn_keras_hpo.tracking import hooks


class Noting:
    """A ``SearchListener`` that notes each event."""

    def __init__(self, fail_to_start=False):
        self.heard = []
        self.fail_to_start = fail_to_start

    def search_started(self, search):
        if self.fail_to_start:
            raise ConnectionError("no tracking server")
        self.heard.append(("started", search))

    def fit_finished(self, record):
        self.heard.append(("fit", record["params"], record["fold"], record["score"]))

    def candidate_finished(self, params, score):
        self.heard.append(("candidate", params, score))

    def search_ended(self, search, error):
        self.heard.append(("ended", search, type(error).__name__ if error else None))


class Pool:
    """What ``recording`` wraps: ``submit(function, *args)`` and ``wait(futures)``."""

    def submit(self, function, *args):
        future = Future()
        future.set_result(function(*args))
        return future

    def wait(self, futures, timeout=None):
        return list(futures)


def fit_and_score(estimator, X, y, kwargs):
    return {"test_scores": 0.75, "fit_error": None}


def run_one_fit(search):
    """One fit of fold 1 of 2 through a recording pool, then its candidate's row."""
    with hooks.recording(contextlib.nullcontext(Pool())) as pool:
        kwargs = {"parameters": {"dropout": 0.2}, "split_progress": (1, 2)}
        pool.wait([pool.submit(fit_and_score, search, None, None, kwargs)])
    hooks.candidate_finished({"dropout": 0.2}, 0.75)


@contextlib.contextmanager
def opened(*listeners):
    for listener in listeners:
        hooks.open_logger(listener)
    try:
        yield
    finally:
        for listener in listeners:
            hooks.close_logger(listener)


def test_a_search_is_heard_in_order():
    listener, search = Noting(), object()
    with opened(listener):
        with hooks.observed_search(search):
            assert hooks.is_observed(search)
            run_one_fit(search)
    assert not hooks.is_observed(search)
    assert listener.heard == [
        ("started", search),
        ("fit", {"dropout": 0.2}, 1, 0.75),
        ("candidate", {"dropout": 0.2}, 0.75),
        ("ended", search, None),
    ]


def test_the_searchs_own_logger_is_open_for_it_and_hears_its_failure():
    class Logger(Noting):
        def __enter__(self):
            hooks.open_logger(self)
            return self

        def __exit__(self, *exc_info):
            hooks.close_logger(self)

    logger, search = Logger(), object()
    with pytest.raises(KeyError), hooks.observed_search(search, logger):
        run_one_fit(search)
        raise KeyError("stopped")
    assert logger.heard[0] == ("started", search) and logger.heard[-1] == (
        "ended",
        search,
        "KeyError",
    )
    with hooks.observed_search(object()):  # closed: hears no other search
        pass
    assert len(logger.heard) == 4


def test_a_callback_joins_once_and_only_the_search_our_runner_fits():
    open_one, joining, search = Noting(), Noting(), object()
    with opened(open_one), hooks.observed_search(search):
        assert hooks.attach(search, open_one)  # started already: not again
        assert hooks.attach(search, joining)  # started now
        assert not hooks.attach(object(), joining)  # not fitted by our runner
        run_one_fit(search)
    for listener in (open_one, joining):
        assert [event[0] for event in listener.heard] == ["started", "fit", "candidate", "ended"]


def test_a_search_inside_another_ones_fit_is_not_logged_on_its_own():
    listener, outer, inner = Noting(), object(), object()
    with opened(listener), hooks.observed_search(outer):
        with hooks.observed_search(inner):
            assert not hooks.attach(object(), listener)
            run_one_fit(inner)  # its pool is not recorded
    assert listener.heard == [("started", outer), ("ended", outer, None)]


def test_a_listener_that_cannot_start_fails_the_search_and_the_others_end():
    started, failing, search = Noting(), Noting(fail_to_start=True), object()
    with opened(started, failing), pytest.raises(ConnectionError):
        with hooks.observed_search(search):
            pytest.fail("the search ran without its tracker")
    assert started.heard == [("started", search), ("ended", search, "ConnectionError")]


def test_a_failing_listener_warns_and_the_search_goes_on():
    class Broken(Noting):
        def fit_finished(self, record):
            raise ConnectionError("tracking server gone")

    listener, search = Broken(), object()
    with opened(listener), hooks.observed_search(search):
        with pytest.warns(RuntimeWarning, match="tracking server gone"):
            run_one_fit(search)
    assert [event[0] for event in listener.heard] == ["started", "candidate", "ended"]


def test_another_threads_search_is_its_own():
    listener, search, seen = Noting(), object(), []
    with opened(listener), hooks.observed_search(search):
        thread = threading.Thread(target=lambda: seen.append(hooks.is_observed(search)))
        thread.start()
        thread.join()
    assert seen == [False]
