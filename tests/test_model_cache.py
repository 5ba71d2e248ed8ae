"""Traced-model reuse (the same results as a fresh build) and warm start from checkpoints."""

import numpy as np
import pytest

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.training import reuse as _model_cache
from sklearn_keras_hpo.training import run as training_run
from tests.conftest import FAST


def _fit(X, y, **params):
    return CNNClassifier(**{**FAST, **params}).fit(X, y)


@pytest.mark.parametrize("optimizer", ["adagrad", "sgd"])
def test_reused_model_gives_the_fresh_build_results(digits, optimizer):
    X, y = digits[0][:400], digits[1][:400]
    params = dict(optimizer=optimizer, momentum=0.9, dropout=0.3)
    _model_cache.clear()
    fresh = _fit(X, y, **params)  # builds and caches the trainer
    reused = _fit(X, y, **params)  # trains the cached trainer
    assert _model_cache.cached_count() == 1
    assert reused.history_ == fresh.history_
    np.testing.assert_array_equal(reused.predict_proba(X), fresh.predict_proba(X))


def test_later_fit_leaves_earlier_model_alone(digits):
    X, y = digits[0][:400], digits[1][:400]
    first = _fit(X, y, random_state=0)
    before = first.predict_proba(X)
    _fit(X, y, random_state=1)  # same structure: same cached trainer
    np.testing.assert_array_equal(first.predict_proba(X), before)
    steps_per_epoch = int(np.ceil(len(X) / FAST["batch_size"]))
    assert int(first.model_.optimizer.iterations.numpy()) == FAST["epochs"] * steps_per_epoch


def test_structure_key_follows_graph_not_learning_rate(digits):
    X, y = digits[0][:200], digits[1][:200]
    _model_cache.clear()
    _fit(X, y, learning_rate=0.01)
    _fit(X, y, learning_rate=0.05)  # the rate is a variable: same trainer
    assert _model_cache.cached_count() == 1
    _fit(X, y, dropout=0.5)  # the rate is baked into the graph: a new trainer
    assert _model_cache.cached_count() == 2


def _spy_initial_epochs(monkeypatch):
    seen = []
    original = training_run._train

    def spy(*args):
        seen.append(args[-1])
        return original(*args)

    monkeypatch.setattr(training_run, "_train", spy)
    return seen


@pytest.mark.parametrize(
    "schedule",
    [
        dict(lr_schedule="time_based", lr_decay=0.5),
        # a fixed length makes the epoch-count schedules functions of the absolute epoch
        dict(lr_schedule="cosine", lr_schedule_epochs=5, lr_min_fraction=0.1),
        dict(lr_schedule="one_cycle", lr_schedule_epochs=5, warmup_epochs=1),
        dict(lr_schedule="polynomial", lr_schedule_epochs=5, lr_power=2.0),
    ],
    ids=lambda schedule: schedule["lr_schedule"],
)
def test_longer_fit_continues_from_checkpoint(digits, tmp_path, monkeypatch, schedule):
    X, y = digits[0][:400], digits[1][:400]
    params = dict(checkpoint_dir=str(tmp_path), **schedule)
    seen = _spy_initial_epochs(monkeypatch)
    short = _fit(X, y, epochs=2, **params)
    long = _fit(X, y, epochs=5, **params)
    straight = _fit(X, y, epochs=5, **{**params, "checkpoint_dir": None})
    assert seen == [0, 2, 0]  # the long fit trained epochs 3-5 only
    assert long.history_["loss"][:2] == short.history_["loss"]
    assert long.n_epochs_ == 5
    np.testing.assert_allclose(long.history_["learning_rate"], straight.history_["learning_rate"])
    steps = int(np.ceil(len(X) / FAST["batch_size"]))
    assert int(long.model_.optimizer.iterations.numpy()) == 5 * steps  # optimizer state carried on
    # each epoch's batch order is a function of (seed, epoch): continuing is the straight run
    np.testing.assert_allclose(long.history_["loss"], straight.history_["loss"], rtol=1e-6)
    np.testing.assert_allclose(
        long.predict_proba(X), straight.predict_proba(X), rtol=1e-5, atol=1e-7
    )
    assert sorted(p.name.split("-")[1] for p in tmp_path.glob("*.npz")) == ["2.npz", "5.npz"]


@pytest.mark.parametrize(
    "change",
    [
        dict(early_stopping=True),
        dict(lr_schedule="cosine"),  # spans each fit's own epochs: 1 epoch's rates differ from 2's
        dict(
            lr_schedule="reduce_on_plateau", lr_schedule_epochs=5
        ),  # its state is not in the checkpoint
    ],
)
def test_no_continuing_where_it_would_differ(digits, tmp_path, monkeypatch, change):
    """Such fits are kept whole (for resuming) but a longer fit starts from scratch."""
    X, y = digits[0][:300], digits[1][:300]
    seen = _spy_initial_epochs(monkeypatch)
    _fit(X, y, epochs=1, checkpoint_dir=str(tmp_path), **change)
    _fit(X, y, epochs=2, checkpoint_dir=str(tmp_path), **change)
    assert seen == [0, 0]
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_no_checkpoint_with_user_callbacks(digits, tmp_path):
    """A callback that may steer training turns checkpoints off (one that only observes,
    see tests/test_tracking.py, keeps them)."""
    import keras

    class MaySteer(keras.callbacks.Callback):  # not declared observes_only
        pass

    X, y = digits[0][:300], digits[1][:300]
    with pytest.warns(UserWarning, match=r"\['MaySteer'\].*checkpoint_dir is not used"):
        _fit(X, y, checkpoint_dir=str(tmp_path), callbacks=[MaySteer()])
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_is_keyed_by_data_and_parameters(digits, tmp_path, monkeypatch):
    X, y = digits[0][:400], digits[1][:400]
    seen = _spy_initial_epochs(monkeypatch)
    _fit(X, y, epochs=1, checkpoint_dir=str(tmp_path))
    _fit(X[:300], y[:300], epochs=2, checkpoint_dir=str(tmp_path))  # other data
    _fit(X, y, epochs=2, dropout=0.1, checkpoint_dir=str(tmp_path))  # other parameters
    _fit(X, y, epochs=2, checkpoint_dir=str(tmp_path))  # continues
    assert seen == [0, 0, 0, 1]


def _custom_gradient_names():
    from tensorflow.python.framework import ops

    return {name for name in ops._gradient_registry._registry if name.startswith("CustomGradient-")}


def test_fits_leave_no_gradient_registrations_behind(digits):
    """TensorFlow registers a gradient per traced training step and never drops it, which
    kept every traced graph alive (about 6 MiB per fit with changing architectures)."""
    X, y = digits[0][:200], digits[1][:200]
    _fit(X, y)  # TensorFlow imported and one step traced before the count
    before = _custom_gradient_names()
    for units in (9, 10, 11, 12, 13, 14):  # a new traced step each; the cache evicts
        _fit(X, y, dense_units=units)
    assert _custom_gradient_names() == before
