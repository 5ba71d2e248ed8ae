"""search/budget.py: the refit's epochs (by rule, and within the time left)."""

import numpy as np
import pytest

from sklearn_keras_hpo.cli import main
from sklearn_keras_hpo.search.budget import epochs_for_refit, refit_rule


def test_refit_epoch_rules():
    assert [epochs_for_refit(rule, 9, 0.9) for rule in ("searched", "scaled", 4)] == [9, 10, 4]
    assert (
        epochs_for_refit("scaled", 1, 0.5) == 2 and epochs_for_refit("scaled", 3, 2 / 3) == 5
    )  # 4.5 rounds up
    assert [epochs_for_refit("fill", searched, 0.9, longest=15) for searched in (3, 15, 20)] == [
        45,
        45,
        60,
    ]
    assert [refit_rule(text) for text in ("searched", "scaled", "fill", "12")] == [
        "searched",
        "scaled",
        "fill",
        12,
    ]
    for bad in ("longer", "0", "-3", "2.5"):
        with pytest.raises(ValueError, match="searched, scaled, fill or a number"):
            refit_rule(bad)


def test_cli_names_a_bad_refit_epochs(capsys):
    with pytest.raises(SystemExit):
        main(["tune", "--refit-epochs", "longer"])
    assert "--refit-epochs" in capsys.readouterr().err


def test_refit_plans_its_epochs_in_the_time_left(tmp_path):
    """Room for every epoch: the whole training set for all of them; room for some: that many;
    room for none: the first fold's own fit, restored from the search's checkpoint (no epoch
    trained), equal to the search's fit of that fold."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from sklearn_keras_hpo import CNNClassifier
    from sklearn_keras_hpo.data import load_digits_images
    from sklearn_keras_hpo.search.budget import Budget, refit_within

    X, y = load_digits_images()
    X, y = X[:300], y[:300]
    estimator = CNNClassifier(
        filters=4, dense_units=16, epochs=3, random_state=0, checkpoint_dir=str(tmp_path)
    )
    cross_val_score(estimator, X, y, cv=2)  # the search's fits: checkpoints of both folds
    kwargs = {"cv": 2, "epoch_seconds": 1.0, "n_held_out": 0}
    roomy, said = refit_within(Budget(1000), estimator, {"epochs": 3}, (X, y), **kwargs)
    assert roomy.n_epochs_ == 3 and said == "on the whole training set for 3 epochs"
    scaled, said = refit_within(
        Budget(1000), estimator, {"epochs": 3}, (X, y), **kwargs, rule="scaled"
    )
    assert (
        scaled.n_epochs_ == 6 and said == "on the whole training set for 6 epochs"
    )  # 3 epochs on half, cv=2
    filled, said = refit_within(
        Budget(6.0 + 4.0 + 2.0 * 2 + 0.5),
        estimator,
        {"epochs": 1},
        (X, y),
        **kwargs,
        rule="fill",
        longest=2,
    )
    assert (
        filled.n_epochs_ == 2
        and "for 2 epochs (what the time left affords, up to 6: 3 x the search's" in said
    )
    filled, _ = refit_within(
        Budget(1000), estimator, {"epochs": 1}, (X, y), **kwargs, rule="fill", longest=2
    )
    assert filled.n_epochs_ == 6  # room for all: 3 x the longest training the search considered
    some, said = refit_within(
        Budget(6.0 + 4.0 + 2.0 * 2 + 0.5), estimator, {"epochs": 3}, (X, y), **kwargs
    )
    assert some.n_epochs_ == 2 and "for 2 of its 3" in said
    none, said = refit_within(Budget(1.0), estimator, {"epochs": 3}, (X, y), **kwargs)
    assert (
        none.epoch_seconds_ is None
        and none.n_epochs_ == 3
        and "restored from its checkpoint" in said
    )
    first, _ = next(StratifiedKFold(2).split(X, y))  # what cross_val_score's cv=2 trained first
    fold = CNNClassifier(**{**estimator.get_params(), "checkpoint_dir": None}).fit(
        X[first], y[first]
    )
    np.testing.assert_allclose(none.predict_proba(X[:20]), fold.predict_proba(X[:20]), atol=1e-5)


def test_a_time_limited_refit_plans_from_its_own_measured_epochs(tmp_path, monkeypatch):
    """With ``measure``, a search's estimate that affords 2 epochs or more gives way to the
    refit's own timed epoch (``measured_epoch_seconds``, replaced here by a fixed figure: a
    timing is not a test's to assert); the timing fits hold every class, write no
    checkpoint and leave the estimator unfitted."""
    from sklearn_keras_hpo import CNNClassifier
    from sklearn_keras_hpo.data import load_digits_images
    from sklearn_keras_hpo.search import budget as budget_module
    from sklearn_keras_hpo.search.budget import (
        Budget,
        _probe_rows,
        measured_epoch_seconds,
        refit_within,
    )

    X, y = load_digits_images()
    X, y = X[:600], y[:600]
    estimator = CNNClassifier(
        filters=4, dense_units=16, epochs=3, random_state=0, checkpoint_dir=str(tmp_path)
    )
    assert set(y[_probe_rows(y, 40)]) == set(y) and len(_probe_rows(y, 40)) == 40
    seconds = measured_epoch_seconds(estimator, X, y)
    assert np.isfinite(seconds) and seconds > 0 and not any(tmp_path.iterdir())
    assert not hasattr(estimator, "model_")
    pessimistic = {"cv": 2, "epoch_seconds": 2.0, "n_held_out": 0, "rule": "fill", "longest": 10}
    # the search's estimate: (1000 - 4 - 6) s // (2.0 / 0.5) s = 247 epochs, capped at 30
    planned, _ = refit_within(Budget(1000.0), estimator, {"epochs": 1}, (X, y), **pessimistic)
    assert planned.n_epochs_ == 30
    monkeypatch.setattr(budget_module, "measured_epoch_seconds", lambda *args: 100.0)
    # measured: (1000 - 4 - 6) s // 100 s = 9 epochs
    measured, said = refit_within(
        Budget(1000.0), estimator, {"epochs": 1}, (X, y), **pessimistic, measure=True
    )
    assert measured.n_epochs_ == 9 and "for 9 epochs (what the time left affords, up to 30" in said
    short = {
        **pessimistic,
        "epoch_seconds": 400.0,
    }  # the search's estimate affords 1 epoch: no timing fits
    kept, _ = refit_within(Budget(1000.0), estimator, {"epochs": 1}, (X, y), **short, measure=True)
    assert kept.n_epochs_ == 1
