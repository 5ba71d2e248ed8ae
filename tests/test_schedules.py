"""Every schedule: the learning rate used each epoch (history_) equals its formula,
computed here independently of Keras."""

import math
import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.estimators import _planning
from sklearn_keras_hpo.model.schedules import (
    SCHEDULE_NAMES,
    SCHEDULES,
    inert_schedule_message,
    learning_rates,
)

from .conftest import FAST

LR0, EPOCHS = 0.01, 6
PARAMS = dict(decay=0.3, step_size=2, drop=0.5, min_fraction=0.1, power=2.0, restart_epochs=2)


def _cosine(t, period, alpha=PARAMS["min_fraction"]):
    return LR0 * (alpha + (1 - alpha) * 0.5 * (1 + math.cos(math.pi * min(t, period) / period)))


def _restarts(epoch, first=PARAMS["restart_epochs"]):
    period, start = first, 0
    while epoch >= start + period:  # Keras' default: each period twice the last
        start, period = start + period, period * 2
    return _cosine(epoch - start, period)


def _one_cycle(epoch, epochs):
    peak = max(1, round(0.3 * epochs))
    if epoch < peak:
        return LR0 / 25 + (LR0 - LR0 / 25) * epoch / peak
    return _cosine(min(1.0, (epoch - peak) / max(1, epochs - 1 - peak)), 1)


def expected(name, epoch, epochs):
    p = PARAMS
    return {
        "constant": lambda: LR0,
        "time_based": lambda: LR0 / (1 + p["decay"] * epoch),
        "step": lambda: LR0 * p["drop"] ** (epoch // p["step_size"]),
        "exponential": lambda: LR0 * math.exp(-p["decay"] * epoch),
        "cosine": lambda: _cosine(epoch, epochs - 1),
        "cosine_restarts": lambda: _restarts(epoch),
        "polynomial": lambda: (
            (LR0 - LR0 * p["min_fraction"]) * (1 - epoch / (epochs - 1)) ** p["power"]
            + LR0 * p["min_fraction"]
        ),
        "one_cycle": lambda: _one_cycle(epoch, epochs),
    }[name]()


def _fit(schedule, warmup=0, X=None, y=None, **extra):
    clf = CNNClassifier(
        **{**FAST, "epochs": EPOCHS, "learning_rate": LR0},
        lr_schedule=schedule,
        lr_decay=PARAMS["decay"],
        lr_step_size=PARAMS["step_size"],
        lr_drop=PARAMS["drop"],
        lr_min_fraction=PARAMS["min_fraction"],
        lr_power=PARAMS["power"],
        lr_restart_epochs=PARAMS["restart_epochs"],
        warmup_epochs=warmup,
        **extra,
    )
    return clf.fit(X, y)


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_rate_used_each_epoch_matches_the_formula(digits, schedule):
    X, y = digits
    clf = _fit(schedule, X=X[:200], y=y[:200])
    want = [expected(schedule, epoch, EPOCHS) for epoch in range(EPOCHS)]
    np.testing.assert_allclose(clf.history_["learning_rate"], want, rtol=1e-5)
    np.testing.assert_allclose(float(clf.model_.optimizer.learning_rate), want[-1], rtol=1e-5)


@pytest.mark.parametrize("schedule", ["step", "cosine", "constant"])
def test_warmup_combines_with_any_schedule(digits, schedule):
    X, y = digits
    warmup = 2
    clf = _fit(schedule, warmup=warmup, X=X[:200], y=y[:200])
    want = [LR0 * (e + 1) / (warmup + 1) for e in range(warmup)]
    want += [expected(schedule, e, EPOCHS - warmup) for e in range(EPOCHS - warmup)]
    np.testing.assert_allclose(clf.history_["learning_rate"], want, rtol=1e-5)


def test_reduce_on_plateau_drops_the_rate_when_the_loss_stalls(digits):
    X, y = digits
    # A learning rate this small cannot improve the loss by tol: every epoch is a plateau.
    clf = CNNClassifier(
        **{**FAST, "epochs": 5, "learning_rate": 1e-9},
        lr_schedule="reduce_on_plateau",
        lr_patience=1,
        lr_drop=0.5,
    )
    rates = clf.fit(X[:200], y[:200]).history_["learning_rate"]
    assert rates[0] == pytest.approx(1e-9)
    assert rates[-1] < rates[0] and all(b <= a for a, b in zip(rates, rates[1:], strict=False))
    ratios = np.log2(np.array(rates) / 1e-9)
    np.testing.assert_allclose(ratios, np.round(ratios), atol=1e-4)  # powers of the drop


def test_preview_matches_training_without_training():
    assert set(SCHEDULE_NAMES) == set(SCHEDULES) | {"reduce_on_plateau"}
    preview = learning_rates("time_based", LR0, epochs=EPOCHS, decay=PARAMS["decay"])
    np.testing.assert_allclose(preview, [expected("time_based", e, EPOCHS) for e in range(EPOCHS)])


def test_unknown_schedule_is_named():
    with pytest.raises(ValueError, match="'lr_schedule' parameter of CNNClassifier"):
        CNNClassifier(lr_schedule="linear_warm").fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])


# schedule -> (parameters that keep the rate constant over 5 epochs, the one to name)
INERT = {
    "time_based": ({"decay": 0.0}, "lr_decay"),
    "exponential": ({"decay": 0.0}, "lr_decay"),
    "step": ({"step_size": 5}, "lr_step_size"),
    "cosine": ({"min_fraction": 1.0}, "lr_min_fraction"),
    "cosine_restarts": ({"min_fraction": 1.0}, "lr_min_fraction"),
    "polynomial": ({"min_fraction": 1.0}, "lr_min_fraction"),
}


@pytest.mark.parametrize("schedule", sorted(INERT))
def test_inert_schedule_is_named_with_the_parameter_to_change(schedule):
    inert, parameter = INERT[schedule]
    message = inert_schedule_message(schedule, LR0, epochs=5, **{**PARAMS, **inert})
    assert len(set(learning_rates(schedule, LR0, epochs=5, **{**PARAMS, **inert}))) == 1
    assert (
        message is not None
        and f"lr_schedule={schedule!r}" in message
        and f"{parameter}=" in message
    )
    assert inert_schedule_message(schedule, LR0, epochs=5, **PARAMS) is None  # PARAMS act


def test_every_schedule_with_acting_parameters_is_quiet():
    for schedule in sorted(SCHEDULE_NAMES):
        assert inert_schedule_message(schedule, LR0, epochs=EPOCHS, **PARAMS) is None


def test_step_names_the_drop_when_the_drop_is_one():
    message = inert_schedule_message("step", LR0, epochs=5, step_size=1, drop=1.0)
    assert "lr_drop=1.0" in message and "lr_step_size" not in message


def test_step_longer_than_the_fit_acts_once_the_fit_is_longer():
    assert "lr_step_size=3" in inert_schedule_message("step", LR0, epochs=3, step_size=3)
    assert inert_schedule_message("step", LR0, epochs=4, step_size=3) is None


def test_plateau_needs_an_epoch_after_its_patience():
    assert "lr_patience=3" in inert_schedule_message("reduce_on_plateau", LR0, epochs=4, patience=3)
    assert inert_schedule_message("reduce_on_plateau", LR0, epochs=5, patience=3) is None


def test_constant_and_single_epoch_fits_never_warn():
    assert inert_schedule_message("constant", LR0, epochs=10) is None
    assert inert_schedule_message("exponential", LR0, epochs=1, decay=0.0) is None
    assert (
        inert_schedule_message("step", LR0, epochs=5, step_size=10, warmup_epochs=2) is None
    )  # warmup ramps


INERT_STEP = (
    r"lr_schedule='step' keeps the learning rate constant for all 3 epochs: lr_step_size=5 "
)


def _inert_schedule_warnings(caught):
    return [
        w
        for w in caught
        if issubclass(w.category, UserWarning) and "lr_schedule=" in str(w.message)
    ]


def test_fit_warns_once_when_its_step_is_longer_than_the_fit(digits, monkeypatch):
    monkeypatch.setattr(_planning, "_INERT_SCHEDULES_WARNED", set())  # as in a fresh process
    X, y = digits
    clf = CNNClassifier(**{**FAST, "epochs": 3}, lr_schedule="step", lr_step_size=5)
    search = GridSearchCV(clf, {"learning_rate": [0.01, 0.02]}, cv=2)
    with pytest.warns(UserWarning, match=INERT_STEP) as caught:
        search.fit(X[:96], y[:96])  # 4 fits and the refit: one message, whatever the rate
    inert = _inert_schedule_warnings(caught)
    assert len(inert) == 1 and "set it below the 3 epochs, or train longer" in str(inert[0].message)
    best = search.best_estimator_
    assert best.history_["learning_rate"] == pytest.approx(
        [best.learning_rate] * 3
    )  # constant indeed
    monkeypatch.setattr(_planning, "_INERT_SCHEDULES_WARNED", set())
    with pytest.warns(UserWarning, match=INERT_STEP) as caught:
        clf.fit(X[:96], y[:96])
    assert [w.filename for w in _inert_schedule_warnings(caught)] == [
        __file__
    ]  # points at the fit call


def test_fit_is_quiet_when_its_schedule_acts(digits, monkeypatch):
    monkeypatch.setattr(_planning, "_INERT_SCHEDULES_WARNED", set())
    X, y = digits
    clf = CNNClassifier(**{**FAST, "epochs": 3}, lr_schedule="step", lr_step_size=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X[:96], y[:96])
    assert not _inert_schedule_warnings(caught)
    assert clf.history_["learning_rate"][-1] < clf.history_["learning_rate"][0]  # the step acted
