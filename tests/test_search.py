"""Every searcher at n_jobs=1 and 2, Hyperband's arithmetic, warm-started halving, spaces."""

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
)
from skopt import BayesSearchCV
from skopt.space import Categorical, Real

from sklearn_keras_hpo import CNNClassifier, HyperbandSearchCV, search_space
from sklearn_keras_hpo.search.hyperband import HyperbandSchedule, hyperband_brackets
from sklearn_keras_hpo.search.selection import top_k
from sklearn_keras_hpo.search.spaces import PRESETS
from sklearn_keras_hpo.training import run as training_run
from tests.conftest import FAST

# Li et al. (JMLR 2018), Table 1: R = 81, eta = 3, as (n_i, r_i) per rung of each bracket s.
PAPER_R81_ETA3 = {
    4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    3: [(34, 3), (11, 9), (3, 27), (1, 81)],
    2: [(15, 9), (5, 27), (1, 81)],
    1: [(8, 27), (2, 81)],
    0: [(5, 81)],
}


def test_hyperband_brackets_match_the_paper():
    assert dict(hyperband_brackets(81, 3)) == PAPER_R81_ETA3


def test_hyperband_brackets_with_minimum_resource():
    # R/r_min = 9: s_max = 2, epochs start at min_epochs
    assert hyperband_brackets(27, 3, min_epochs=3) == [
        (2, [(9, 3), (3, 9), (1, 27)]),
        (1, [(5, 9), (1, 27)]),
        (0, [(3, 27)]),
    ]


@pytest.mark.parametrize(
    "bad", [dict(factor=1), dict(min_epochs=0), dict(max_epochs=2, min_epochs=3)]
)
def test_hyperband_rejects_bad_settings(bad):
    with pytest.raises(ValueError, match="Hyperband needs"):
        hyperband_brackets(**{"max_epochs": 9, "factor": 3, "min_epochs": 1, **bad})


class Listed:
    """A sampler giving the listed candidates in order."""

    def __init__(self, candidates):
        self.candidates = list(candidates)

    def ask(self, n):
        asked, self.candidates = self.candidates[:n], self.candidates[n:]
        return asked

    def tell(self, params, epochs, score):
        pass


def test_hyperband_schedule_gives_idle_workers_other_brackets_rungs():
    brackets = hyperband_brackets(
        4, 2
    )  # s=2: [(4, 1), (2, 2), (1, 4)], s=1: [(3, 2), (1, 4)], s=0: [(3, 4)]
    schedule = HyperbandSchedule(
        brackets, Listed([{"c": f"{s}{i}"} for s, rungs in brackets for i in range(rungs[0][0])])
    )
    first = [schedule.next_job() for _ in range(4)]
    assert [job.columns["bracket"] for job in first] == [2, 2, 2, 2]
    # bracket 2's rung 0 is all running: the next workers take bracket 1's and bracket 0's rung 0
    waiting = [schedule.next_job() for _ in range(6)]
    assert [(job.columns["bracket"], job.params["epochs"]) for job in waiting] == [(1, 2)] * 3 + [
        (0, 4)
    ] * 3
    assert schedule.next_job() is None
    for job, score in zip(first, [0.1, 0.4, 0.3, 0.2], strict=False):
        schedule.report(job, score)
    # bracket 2's rung 1: its top 2 of rung 0, best first, as the synchronous loop ordered them
    promoted = [schedule.next_job(), schedule.next_job()]
    assert [(job.params["c"], job.params["epochs"], job.order) for job in promoted] == [
        ("21", 2, (0, 1, 0)),
        ("22", 2, (0, 1, 1)),
    ]


def test_hyperband_schedule_starts_the_next_iteration_when_workers_would_wait():
    brackets = hyperband_brackets(2, 2)  # s=1: [(2, 1), (1, 2)], s=0: [(2, 2)]
    schedule = HyperbandSchedule(
        brackets,
        Listed([{"c": c} for c in ("a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3")]),
        n_iterations=2,
    )
    jobs = [schedule.next_job() for _ in range(4)]  # iteration 0: every rung 0 started
    assert [job.params["c"] for job in jobs] == ["a0", "a1", "a2", "a3"]
    fifth = schedule.next_job()  # iteration 0 waits for results: iteration 1 begins
    assert (fifth.params["c"], fifth.columns["iteration"], fifth.columns["bracket"]) == ("b0", 1, 1)
    for job, score in zip(jobs[:2], [0.2, 0.7], strict=False):
        schedule.report(job, score)
    assert schedule.next_job().params == {"c": "a1", "epochs": 2}  # earlier iterations first
    assert [schedule.next_job().params["c"] for _ in range(3)] == ["b1", "b2", "b3"]
    assert schedule.next_job() is None and schedule.iterations_left == 0  # no third iteration


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_hyperband_iterations_draw_new_candidates_and_keep_the_first(digits, n_jobs):
    """n_iterations=2 runs every bracket twice with new candidates; the first iteration's
    rows are those of n_iterations=1, at one and two workers."""
    X, y = digits[0][:300], digits[1][:300]

    def search(n_iterations):
        return (
            HyperbandSearchCV(
                CNNClassifier(**FAST),
                {"learning_rate": loguniform(1e-3, 1e-1)},
                max_epochs=2,
                factor=2,
                n_iterations=n_iterations,
                cv=2,
                n_jobs=n_jobs,
                points_to_evaluate=[],
                random_state=0,
            )
            .fit(X, y)
            .cv_results_
        )

    one, two = search(1), search(2)
    first = two["iteration"] == 0
    assert set(two["iteration"]) == {0, 1} and first.sum() == len(one["params"]) == (~first).sum()
    assert list(np.asarray(two["params"])[first]) == list(one["params"])
    np.testing.assert_array_equal(two["mean_test_score"][first], one["mean_test_score"])
    rates = {p["learning_rate"] for p in np.asarray(two["params"])[~first]}
    assert not rates & {p["learning_rate"] for p in one["params"]}  # new candidates


def test_top_k_ranks_failed_scores_last():
    assert top_k([0.5, np.nan, 0.9, 0.1], 2) == [2, 0]


def _searchers():
    est = CNNClassifier(**FAST)
    lr = [0.01, 0.05]
    return {
        "grid": GridSearchCV(est, {"learning_rate": lr}, cv=2),
        "random": RandomizedSearchCV(
            est, {"learning_rate": loguniform(1e-2, 1e-1)}, n_iter=2, cv=2, random_state=0
        ),
        "bayes": BayesSearchCV(
            est,
            {
                "learning_rate": Real(1e-2, 1e-1, prior="log-uniform"),
                "activation": Categorical(["relu", "tanh"]),
            },
            n_iter=2,
            n_points=2,
            cv=2,
            random_state=0,
        ),
        "halving_random_epochs": HalvingRandomSearchCV(
            est,
            {"learning_rate": loguniform(1e-2, 1e-1)},
            resource="epochs",
            min_resources=1,
            max_resources=2,
            factor=2,
            n_candidates=2,
            cv=2,
            random_state=0,
        ),
        "halving_grid_samples": HalvingGridSearchCV(
            est,
            {"learning_rate": lr},
            resource="n_samples",
            min_resources=150,
            factor=2,
            cv=2,
            random_state=0,
        ),
        "hyperband": HyperbandSearchCV(
            est,
            {"learning_rate": loguniform(1e-2, 1e-1)},
            max_epochs=2,
            factor=2,
            cv=2,
            random_state=0,
        ),
    }


@pytest.mark.parametrize("name", list(_searchers()))
def test_every_searcher_same_scores_at_one_and_two_jobs(digits, name):
    X, y = digits[0][:300], digits[1][:300]
    runs = {}
    for n_jobs in (1, 2):
        search = _searchers()[name].set_params(n_jobs=n_jobs).fit(X, y)
        runs[n_jobs] = search
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
        assert search.best_score_ > 0.2  # 10 classes: chance is 0.1
        assert search.best_estimator_.predict(X[:5]).shape == (5,)
    np.testing.assert_array_equal(
        runs[1].cv_results_["mean_test_score"], runs[2].cv_results_["mean_test_score"]
    )
    assert runs[1].best_params_ == runs[2].best_params_


def test_hyperband_results_columns_and_selection(digits):
    X, y = digits[0][:300], digits[1][:300]
    search = HyperbandSearchCV(
        CNNClassifier(**FAST),
        {"learning_rate": loguniform(1e-3, 1e-1), "activation": ["relu", "tanh"]},
        max_epochs=4,
        factor=2,
        cv=2,
        random_state=0,
        points_to_evaluate=[],
    ).fit(X, y)
    results = search.cv_results_
    brackets = hyperband_brackets(4, 2)
    assert len(results["params"]) == sum(n for _, rungs in brackets for n, _ in rungs)
    for s, rungs in brackets:
        for rung, (n, epochs) in enumerate(rungs):
            rows = (results["bracket"] == s) & (results["rung"] == rung)
            assert rows.sum() == n
            assert set(results["n_resources"][rows]) == {epochs}
            assert set(results["param_epochs"][rows]) == {epochs}
    # each promoted candidate was among the best of its previous rung
    rung1 = (results["bracket"] == 2) & (results["rung"] == 1)
    rung0 = (results["bracket"] == 2) & (results["rung"] == 0)
    promoted = {p["learning_rate"] for p in np.asarray(results["params"])[rung1]}
    best_two = sorted(
        zip(
            results["mean_test_score"][rung0],
            [p["learning_rate"] for p in np.asarray(results["params"])[rung0]],
            strict=False,
        ),
        reverse=True,
    )[:2]
    assert promoted == {lr for _, lr in best_two}
    top = results["n_resources"] == 4  # the best is chosen at the largest epochs
    assert (
        search.best_score_ == np.nanmax(results["mean_test_score"][top])
        and search.best_n_resources_ == 4
    )
    assert search.best_estimator_.checkpoint_dir is None  # the scratch directory is not kept


def test_halving_on_epochs_warm_starts_with_checkpoint_dir(digits, tmp_path, monkeypatch):
    X, y = digits[0][:300], digits[1][:300]
    initial_epochs = []
    original = training_run._train

    def spy(*args):
        initial_epochs.append(args[-1])
        return original(*args)

    monkeypatch.setattr(training_run, "_train", spy)
    HalvingRandomSearchCV(
        CNNClassifier(**FAST, checkpoint_dir=str(tmp_path)),
        {"learning_rate": loguniform(1e-3, 1e-1)},
        resource="epochs",
        min_resources=1,
        max_resources=4,
        factor=2,
        n_candidates=4,
        cv=2,
        random_state=0,
        refit=False,
    ).fit(X, y)
    # rung 0: 4 candidates x 2 folds from scratch; rungs 1, 2 continue from epochs 1, 2
    assert initial_epochs == [0] * 8 + [1] * 4 + [2] * 2


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("kind", ["random", "bayes", "grid"])
def test_presets_give_valid_estimator_parameters(name, kind):
    space = search_space(name, kind)
    assert set(space) == set(PRESETS[name])
    if kind == "random":
        from sklearn.model_selection import ParameterSampler

        for params in ParameterSampler(space, 5, random_state=0):
            CNNClassifier().set_params(**params)._validate_params()
    elif kind == "grid":
        from sklearn.model_selection import ParameterGrid

        first = next(iter(ParameterGrid(space)))
        CNNClassifier().set_params(**first)._validate_params()


def test_unknown_preset_is_named():
    with pytest.raises(ValueError, match="Unknown search space 'nope'"):
        search_space("nope")
