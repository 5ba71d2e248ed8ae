"""AsyncHalvingSearchCV: the promotion rule, n_jobs 1 vs 2, time limit, resume, Dask, progress."""

import json
import math
import time

import joblib
import numpy as np
import pytest
from scipy.stats import loguniform

from sklearn_keras_hpo import AsyncHalvingSearchCV, CNNClassifier, progress_bar
from sklearn_keras_hpo.search.asha import AsyncHalvingSchedule, asha_promotion, halving_rungs
from sklearn_keras_hpo.search.samplers import RandomSampler
from tests.conftest import FAST

SPACE = {"learning_rate": loguniform(1e-3, 1e-1), "activation": ["relu", "tanh"]}


def make(**params):
    settings = dict(n_candidates=4, max_epochs=2, factor=2, cv=2, random_state=0)
    return AsyncHalvingSearchCV(CNNClassifier(**FAST), SPACE, **{**settings, **params})


def rows(search):
    """(parameters, rung) -> fold scores: what must agree between runs."""
    results = search.cv_results_
    folds = np.array([results[f"split{i}_test_score"] for i in range(search.n_splits_)]).T
    return {
        (json.dumps(p, sort_keys=True, default=float), int(r)): tuple(f)
        for p, r, f in zip(results["params"], results["rung"], folds, strict=False)
    }


def test_promotion_rule():
    nan = math.nan
    # the best 1/factor of the finished, highest rung first
    assert asha_promotion([{0: 0.1, 1: 0.9, 2: 0.5, 3: 0.7}, {}, {}], 2) == (1, 1)
    assert asha_promotion([{0: 0.1, 1: 0.9, 2: 0.5, 3: 0.7}, {1: 0.2}, {}], 2) == (3, 1)
    assert asha_promotion([{0: 0.1, 1: 0.9, 2: 0.5, 3: 0.7}, {1: 0.2, 3: 0.8}, {}], 2) == (3, 2)
    # running candidates (None) do not count; failed ones (NaN) count but never go up
    assert asha_promotion([{0: 0.5, 1: None, 2: None}, {}], 2) is None
    assert asha_promotion([{0: nan, 1: 0.2}, {}], 2) == (1, 1)
    assert asha_promotion([{0: nan, 1: nan}, {}], 2) is None
    # ties: the candidate started first
    assert asha_promotion([{0: 0.5, 1: 0.5}, {}], 2) == (0, 1)
    # finishing: a complete rung promotes its best even when fewer than factor finished ...
    assert asha_promotion([{0: 0.3, 1: 0.4}, {}], 3, finishing=True) == (1, 1)
    # ... but not while some of its candidates still run
    assert asha_promotion([{0: 0.3, 1: None}, {}], 3, finishing=True) is None
    assert asha_promotion([{0: 0.3, 1: 0.4}, {}], 3) is None


def test_schedule_promotes_without_waiting_for_the_rung_to_fill():
    sampler = RandomSampler(
        {"a": list(range(10))}, np.random.RandomState(0), points=[{"a": i} for i in range(10)]
    )
    schedule = AsyncHalvingSchedule(sampler, epochs=halving_rungs(9, 3), factor=3)
    jobs = [schedule.next_job() for _ in range(4)]  # four workers, four new candidates
    assert [job.params for job in jobs] == [{"a": i, "epochs": 1} for i in range(4)]
    for job, score in zip(jobs[:3], [0.2, 0.9, 0.5], strict=False):
        schedule.report(job, score)
    # candidate 3 still runs: candidate 1 goes on to 3 epochs at once
    assert schedule.next_job().params == {"a": 1, "epochs": 3}
    assert schedule.next_job().params == {"a": 4, "epochs": 1}


def test_one_and_two_jobs_agree_and_the_bar_counts_every_fit(digits):
    X, y = digits[0][:300], digits[1][:300]
    runs = {}
    for n_jobs in (1, 2):
        with progress_bar(disable=True) as bar:
            search = make(n_jobs=n_jobs).fit(X, y)
        runs[n_jobs] = rows(search)
        n_fits = len(search.cv_results_["params"]) * 2
        assert (bar.n, bar.total) == (n_fits, n_fits)
        assert sorted(set(search.cv_results_["n_resources"].tolist())) == [1, 2]
        assert search.best_score_ > 0.2 and search.best_estimator_.predict(X[:5]).shape == (5,)
    # every candidate ran its first rung in both runs; which ones went on may differ with
    # the order in which parallel fits finish, but a (candidate, rung) run in both scores the same
    first_rung = {key for key in runs[1] if key[1] == 0}
    assert (
        first_rung == {key for key in runs[2] if key[1] == 0} and len(first_rung) == 5
    )  # 4 + the default
    shared = runs[1].keys() & runs[2].keys()
    assert len(shared) > 4
    assert {key: runs[1][key] for key in shared} == {key: runs[2][key] for key in shared}


def test_time_limit_stops_the_search_and_keeps_what_finished(digits):
    X, y = digits[0][:300], digits[1][:300]
    CNNClassifier(**FAST).fit(
        X[:50], y[:50]
    )  # TensorFlow's first-fit start-up, when run alone, is not the search's
    started = time.monotonic()
    search = make(
        n_candidates=200, time_limit=4.0, max_epochs=4, n_jobs=1, points_to_evaluate=[]
    ).fit(X, y)
    searching = time.monotonic() - started - search.refit_time_
    results = search.cv_results_
    longest_fit = np.max(results["mean_fit_time"] + results["mean_score_time"]) * 2  # both folds
    assert searching < 4.0 + longest_fit + 1.0  # the fit running at the limit finishes (n_jobs=1)
    assert 2 <= len(results["params"]) < 200 and np.isfinite(search.best_score_)


def test_needs_a_budget():
    with pytest.raises(ValueError, match="needs a budget"):
        make(n_candidates=None).fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])


def test_rerun_with_checkpoint_dir_trains_nothing(digits, tmp_path, monkeypatch):
    import keras

    X, y = digits[0][:300], digits[1][:300]
    first = make(checkpoint_dir=str(tmp_path), n_jobs=1).fit(X, y)
    calls = []
    original = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: calls.append(1) or original(*a, **k))
    again = make(checkpoint_dir=str(tmp_path), n_jobs=1).fit(X, y)
    assert calls == []  # every fold of every rung, and the refit, restored from disk
    assert rows(again) == rows(first) and again.best_params_ == first.best_params_
    assert again.best_estimator_.checkpoint_dir is None  # the estimator's own setting


def test_dask_backend_runs_the_fits_on_the_cluster(digits):
    distributed = pytest.importorskip("distributed")
    X, y = digits[0][:300], digits[1][:300]
    local = rows(make(n_candidates=2, n_jobs=1, points_to_evaluate=[]).fit(X, y))
    # one worker thread in this process: one fit in flight, so the same order as n_jobs=1
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
    ) as client:
        with joblib.parallel_config(backend="dask"):
            on_dask = rows(make(n_candidates=2, points_to_evaluate=[]).fit(X, y))
        transitions = sum(
            client.run(lambda dask_worker: dask_worker.state.transition_counter).values()
        )
    assert transitions > 0
    assert on_dask == local and len(local) == 3  # 2 candidates, the better one promoted


@pytest.mark.parametrize("searcher", ["asha", "hyperband"])
def test_cosine_rungs_continue_and_the_refit_anneals_over_its_own_epochs(
    digits, searcher, monkeypatch
):
    """A cosine candidate follows the top rung's schedule in every rung, so the 2-epoch rung
    continues the 1-epoch one; the refit's cosine spans the refit's epochs."""
    from sklearn_keras_hpo import HyperbandSearchCV
    from sklearn_keras_hpo.training import run as training_run

    X, y = digits[0][:240], digits[1][:240]
    initial_epochs, original = [], training_run._train
    monkeypatch.setattr(
        training_run, "_train", lambda *a: initial_epochs.append(a[-1]) or original(*a)
    )
    estimator = CNNClassifier(**FAST, lr_schedule="cosine", lr_min_fraction=0.1)
    settings = dict(max_epochs=2, factor=2, cv=2, random_state=0, refit_epochs=4, n_jobs=1)
    search = (
        AsyncHalvingSearchCV(estimator, SPACE, n_candidates=4, **settings)
        if searcher == "asha"
        else HyperbandSearchCV(estimator, SPACE, **settings)
    ).fit(X, y)
    promoted = int(
        np.sum(search.cv_results_["rung"] > 0)
    )  # Hyperband's bracket 0 starts at 2 epochs
    assert (
        promoted > 0 and initial_epochs.count(1) == promoted * 2
    )  # every fold of every promotion continued
    refit = search.best_estimator_
    assert refit.lr_schedule_epochs is None and refit.n_epochs_ == 4
    rates = refit.history_["learning_rate"]
    lr0 = search.best_params_["learning_rate"]
    np.testing.assert_allclose(
        [rates[0], rates[-1]], [lr0, 0.1 * lr0], rtol=1e-5
    )  # from the top to the floor


def test_warm_start_changes_the_cost_of_a_cosine_search_not_its_scores(digits):
    from sklearn_keras_hpo import HyperbandSearchCV

    X, y = digits[0][:240], digits[1][:240]
    scores = {}
    for warm in (True, False):
        search = HyperbandSearchCV(
            CNNClassifier(**FAST, lr_schedule="one_cycle", warmup_epochs=1),
            SPACE,
            max_epochs=3,
            factor=3,
            cv=[(np.arange(0, 240, 2), np.arange(1, 240, 2))],
            scoring="neg_log_loss",
            warm_start=warm,
            refit=False,
            random_state=0,
        ).fit(X, y)
        scores[warm] = search.cv_results_["mean_test_score"]
    assert len(scores[True]) > 3 and np.isfinite(scores[True]).all()
    np.testing.assert_allclose(
        scores[True], scores[False], rtol=1e-5
    )  # continued rungs = straight runs


@pytest.mark.parametrize("searcher", ["asha", "hyperband"])
def test_refit_epochs_searched_scaled_or_given(digits, searcher):
    from sklearn_keras_hpo import HyperbandSearchCV

    X, y = digits[0][:240], digits[1][:240]
    build = (
        make
        if searcher == "asha"
        else (
            lambda **params: HyperbandSearchCV(
                CNNClassifier(**FAST), SPACE, max_epochs=2, factor=2, cv=3, random_state=0, **params
            )
        )
    )
    searched = build().fit(X, y)  # asha: cv=2, each fold trains on 1/2; hyperband: cv=3, on 2/3
    assert (
        searched.refit_epochs_
        == searched.best_n_resources_
        == searched.best_estimator_.n_epochs_
        == 2
    )
    scaled = build(refit_epochs="scaled").fit(X, y)
    assert (
        scaled.best_params_ == searched.best_params_
    )  # the choice is the same; only the refit trains longer
    assert (
        scaled.refit_epochs_ == scaled.best_estimator_.n_epochs_ == (4 if searcher == "asha" else 3)
    )
    assert len(scaled.best_estimator_.history_["loss"]) == scaled.refit_epochs_
    given = build(refit_epochs=5, refit=True).fit(X, y)
    assert given.best_estimator_.n_epochs_ == 5 and given.best_params_["epochs"] == 2
    with pytest.raises(ValueError, match="refit_epochs"):
        build(refit_epochs="longer").fit(X, y)
