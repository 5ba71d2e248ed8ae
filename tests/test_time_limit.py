"""A time limit spent on the model kept: the plan (from stubbed epoch times), the validation
it sizes, the one measurement, the continued winner, and the Python entry point."""

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.cli import main
from sklearn_keras_hpo.search.refit_rules import epochs_for_refit, refit_rule
from sklearn_keras_hpo.time_limit.planner import (
    MIN_TOP_EPOCHS,
    SEARCH_SHARE,
    TOP_RUNG_TRAININGS,
    plan_time_limit,
    validation_for,
)

from .conftest import FAST


def test_refit_epoch_rules():
    assert [epochs_for_refit(rule, 9, 0.9) for rule in ("searched", "scaled", 4)] == [9, 10, 4]
    assert epochs_for_refit("scaled", 1, 0.5) == 2 and epochs_for_refit("scaled", 3, 2 / 3) == 5
    assert [refit_rule(text) for text in ("searched", "scaled", "12")] == ["searched", "scaled", 12]
    for bad in ("longer", "fill", "0", "-3", "2.5"):
        with pytest.raises(ValueError, match="searched, scaled or a number"):
            refit_rule(bad)


def test_cli_names_a_bad_refit_epochs(capsys):
    with pytest.raises(SystemExit):
        main(["tune", "--refit-epochs", "longer"])
    assert "--refit-epochs" in capsys.readouterr().err


@pytest.mark.parametrize("epoch_seconds", [30.0, 10.0, 2.0])
def test_a_small_budget_trains_the_starting_configuration_for_all_of_it(epoch_seconds):
    """600 s at 30, 10 and 2 s an epoch: 20, 60 and 300 epochs; the first two afford no top
    rung of MIN_TOP_EPOCHS with a third of them, so every epoch goes to the one model."""
    plan = plan_time_limit(epoch_seconds=epoch_seconds, seconds_left=600.0, train_fraction=0.9)
    affordable = int(600 // epoch_seconds)
    top = int(SEARCH_SHARE * affordable / 0.9 // TOP_RUNG_TRAININGS)
    assert plan.affordable == affordable
    assert plan.search is (top >= MIN_TOP_EPOCHS)
    if not plan.search:
        assert (plan.final_epochs, plan.max_epochs, plan.search_seconds) == (affordable, 0, 0.0)
        assert "no search" in plan.describe(10) and f"{affordable} epochs" in plan.describe(10)


def test_a_large_budget_searches_in_its_share_and_the_winner_trains_on():
    plan = plan_time_limit(epoch_seconds=1.0, seconds_left=900.0, train_fraction=0.9)
    assert plan.search and plan.search_seconds == pytest.approx(300.0)
    assert plan.max_epochs == int(300 / 0.9 // TOP_RUNG_TRAININGS) == 55
    # the winner's 55 epochs, then the rest of the limit on its 90 % of the images
    assert plan.final_epochs == 55 + int(600 / 0.9)
    assert "search of 300 s" in plan.describe(10) and "trains on to 721" in plan.describe(10)


def test_each_fit_s_fixed_cost_is_paid_before_a_search_is_planned():
    """Tiny images: 0.02 s an epoch but 1 s to build and trace each fit. 60 s afford 3,000
    epochs, yet a third of them cannot pay for the 13 fits of a bracket on 3 folds."""
    cheap = plan_time_limit(epoch_seconds=0.02, seconds_left=60.0, train_fraction=2 / 3, n_splits=3)
    paid = plan_time_limit(
        epoch_seconds=0.02, seconds_left=60.0, train_fraction=2 / 3, n_splits=3, fixed_seconds=1.0
    )
    assert cheap.search and not paid.search and paid.final_epochs == 3000


def test_folds_cost_their_number_in_the_plan():
    """Three folds train each candidate three times on 2/3 of the images: twice an epoch
    of all of them, so a top rung half as long as with a holdout."""
    holdout = plan_time_limit(epoch_seconds=1.0, seconds_left=1800.0, train_fraction=0.9)
    folds = plan_time_limit(
        epoch_seconds=1.0, seconds_left=1800.0, train_fraction=2 / 3, n_splits=3
    )
    assert folds.max_epochs == int(600 / 2 // TOP_RUNG_TRAININGS) < holdout.max_epochs


def test_validation_is_sized_to_the_data():
    large, small = np.repeat([0, 1], 5000), np.repeat([0, 1], 2000)
    splitter, n_splits, fraction, said = validation_for(large)
    assert (n_splits, fraction, said) == (1, 0.9, "one holdout of 1000 images")
    _, test = next(splitter.split(np.zeros(len(large)), large))
    assert len(test) == 1000 and np.bincount(large[test]).tolist() == [500, 500]  # stratified
    assert validation_for(small)[1:] == (3, 2 / 3, "3 folds")
    assert validation_for(large, cv=5)[1:3] == (5, 0.8)  # --cv overrides
    multi = np.tile([[0, 1], [1, 1]], (5000, 1))
    assert validation_for(multi)[1] == 1 and validation_for(multi[:100])[1] == 3


def test_the_probe_measures_an_epoch_and_the_fixed_cost_apart(digits):
    """An epoch of the 1,797 digits at batch 32 is a few tenths of a second on these cores,
    building and tracing more; the probe fits leave no checkpoint behind."""
    from sklearn_keras_hpo.time_limit.probe import measure_training

    X, y = digits
    cost = measure_training(CNNClassifier(**FAST), X, y)
    assert 0.0 < cost.epoch < 20.0 and cost.fixed >= 0.0


def test_the_winner_continues_exactly_as_a_straight_training(digits, tmp_path):
    """The time-limited run's final model is its search's best trained on from its
    checkpoint; trained straight for the same epochs on the same rows, it is the same model."""
    from sklearn_keras_hpo.time_limit.planner import TimePlan
    from sklearn_keras_hpo.time_limit.run import _continue_best, _search

    X, y = digits
    X, y = X[:600], y[:600]
    splitter, *_ = validation_for(y, cv=2)
    plan = TimePlan(0.01, 100, True, 3, 6, 60.0)
    space = {"learning_rate": [0.003, 0.01], "dropout": [0.0, 0.1]}
    estimator = CNNClassifier(**FAST)
    search = _search(clone(estimator), space, X, y, plan, tmp_path)
    search.set_params(cv=splitter, n_candidates=4, time_limit=None, random_state=0)
    search.fit(X, y)
    import time

    model, note = _continue_best(search, X, y, splitter, plan, time.monotonic() + 600)
    assert model.get_params()["epochs"] == 6 and "trained on from its checkpoint to 6" in note
    rows, _ = next(splitter.split(X, y))
    straight = clone(estimator).set_params(
        **{**search.best_params_, "epochs": 6}, lr_schedule_epochs=6, checkpoint_dir=None
    )
    straight.fit(X[rows], y[rows])
    np.testing.assert_allclose(model.predict_proba(X), straight.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("time_limit", [15, 60])
def test_tune_from_python_ends_in_time_with_a_model(digits, time_limit):
    import time

    from sklearn_keras_hpo import tune

    X, y = digits
    started = time.monotonic()
    run = tune(X[:1200], y[:1200], time_limit=time_limit, estimator=CNNClassifier(**FAST))
    elapsed = time.monotonic() - started
    assert elapsed <= 1.05 * time_limit, (elapsed, run.notes)
    assert run.model.score(X[1200:], y[1200:]) > 0.5
    assert run.notes[0].startswith("one epoch of the starting configuration took")
    assert (run.search is None) is (not run.plan.search)
    if run.search is not None:
        assert run.model.get_params()["epochs"] > run.search.best_n_resources_
