"""Ctrl-C stops a search even when the first stop lands where Python must
ignore it (a ``__del__``, a weakref or gc callback: "Exception ignored in ...")."""

import os
import signal
import sys
import time

import pytest

from sklearn_keras_hpo.search.stopping import RETRY_S, StopSearch, stop_on_signals


class FinaliserHitByTheStop:
    """Its ``__del__`` is where the first stop lands, as it did in CI inside hypothesis'
    gc callback: Python can only print such an exception and carry on."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(2)


def test_a_stop_swallowed_where_it_landed_is_raised_again(monkeypatch):
    ignored = []
    monkeypatch.setattr(
        sys, "unraisablehook", lambda unraisable: ignored.append(unraisable.exc_type)
    )
    started = time.monotonic()
    with pytest.raises(StopSearch) as stopped, stop_on_signals():
        FinaliserHitByTheStop()  # deleted at once: the first stop is swallowed
        while time.monotonic() - started < 30:  # a search that would go on running
            sum(range(1000))
    assert ignored == [StopSearch], "the first stop must land in __del__ and be ignored there"
    assert stopped.value.reason == "interrupted"
    assert time.monotonic() - started < 2 + 2 * RETRY_S + 1.0


def test_handlers_and_timer_are_restored_after_the_block():
    # whatever they were before (pytest's default_int_handler, or SIG_IGN in an xdist worker)
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGALRM)}
    with pytest.raises(StopSearch), stop_on_signals():
        assert all(signal.getsignal(number) is not handler for number, handler in before.items())
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no second stop arrives later
    assert {number: signal.getsignal(number) for number in before} == before


def test_what_follows_a_stop_runs_clean_of_the_tensorflow_state_the_stop_left(digits):
    """A stop that lands inside TensorFlow's context bookkeeping can leave the main thread in
    graph mode for good; the CLI's refit then failed in CI with "numpy() is only available
    when eager execution is enabled". What follows a stop runs in a fresh thread."""
    import tensorflow as tf

    from sklearn_keras_hpo import CNNClassifier
    from sklearn_keras_hpo.search.stopping import in_fresh_thread

    from .conftest import FAST

    X, y = digits
    with tf.Graph().as_default():  # the state such a stop leaves behind
        with pytest.raises(Exception, match="eager"):
            CNNClassifier(**FAST).fit(X[:200], y[:200])
        refit = in_fresh_thread(CNNClassifier(**FAST).fit, X[:200], y[:200])
        assert in_fresh_thread(refit.score, X[200:400], y[200:400]) > 0.2
        with pytest.raises(ValueError, match="epochs"):  # the thread's error is raised here
            in_fresh_thread(CNNClassifier(**{**FAST, "epochs": 0}).fit, X[:200], y[:200])
