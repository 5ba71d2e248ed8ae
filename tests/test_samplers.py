"""Samplers (random, Optuna's TPE, any Optuna sampler) and starting points in the searches
over epochs: one conformance suite over every sampler and both searchers."""

import sys

import numpy as np
import pytest
from scipy.stats import loguniform, randint, uniform

from sklearn_keras_hpo import AsyncHalvingSearchCV, CNNClassifier, HyperbandSearchCV
from sklearn_keras_hpo.search.samplers import OptunaSampler, RandomSampler, make_sampler

optuna = pytest.importorskip("optuna")

SPACE = {"learning_rate": loguniform(1e-3, 1e-1), "dropout": [0.0, 0.2]}
SAMPLERS = {
    "random": lambda: "random",
    "tpe": lambda: "tpe",
    "optuna-instance": lambda: optuna.samplers.TPESampler(seed=3, n_startup_trials=2),
}


def make_search(kind, sampler, **kwargs):
    estimator = CNNClassifier(filters=4, dense_units=16, epochs=2, batch_size=50, random_state=0)
    common = dict(cv=2, random_state=0, sampler=sampler, max_epochs=4, factor=2, **kwargs)
    if kind == "hyperband":
        return HyperbandSearchCV(
            estimator, SPACE, min_epochs=2, **common
        )  # brackets [(2, 2), (1, 4)], [(2, 4)]
    return AsyncHalvingSearchCV(estimator, SPACE, n_candidates=4, min_epochs=2, **common)


@pytest.fixture(scope="module")
def small(digits):
    X, y = digits
    return X[:200], y[:200]


def candidates(search):
    return [sorted(params.items()) for params in search.cv_results_["params"]]


@pytest.mark.parametrize(
    "kind, name",
    [
        ("hyperband", "random"),
        ("hyperband", "tpe"),
        ("asha", "random"),
        ("asha", "tpe"),
        pytest.param("asha", "optuna-instance", marks=pytest.mark.slow),
    ],
)
def test_every_sampler_is_reproducible_and_starts_from_the_default(kind, name, small):
    first = make_search(kind, SAMPLERS[name]()).fit(*small)
    again = make_search(kind, SAMPLERS[name]()).fit(*small)
    assert candidates(first) == candidates(again)
    np.testing.assert_array_equal(
        first.cv_results_["mean_test_score"], again.cv_results_["mean_test_score"]
    )
    # the estimator's own configuration comes first and is kept up to max_epochs
    results = first.cv_results_
    default = {"learning_rate": 0.001, "dropout": 0.25}
    own = [
        i
        for i, params in enumerate(results["params"])
        if {k: params[k] for k in default} == default
    ]
    assert own[0] == 0
    assert sorted(int(results["n_resources"][i]) for i in own) == [2, 4]
    # the best is chosen among the rows of the largest epochs reached
    assert first.best_n_resources_ == 4 == first.best_params_["epochs"]
    top = results["n_resources"] == 4
    assert first.best_score_ == np.max(results["mean_test_score"][top])


def test_points_to_evaluate_come_first_and_empty_list_means_none(small):
    points = [{"learning_rate": 0.05, "dropout": 0.0}, {"learning_rate": 0.002, "dropout": 0.2}]
    search = make_search("hyperband", "tpe", points_to_evaluate=points).fit(*small)
    results = search.cv_results_
    head = [{k: results["params"][i][k] for k in points[0]} for i in range(2)]
    assert head == points and list(results["bracket"][:4]) == [-1] * 4  # 2 points x 2 rungs
    plain = make_search("asha", "random", points_to_evaluate=[]).fit(*small)
    assert plain.cv_results_["params"][0]["learning_rate"] != 0.001


def test_missing_optuna_fails_at_once_naming_the_extra(small, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    search = make_search("asha", "tpe")
    with pytest.raises(ImportError, match=r"sklearn_keras_hpo\[optuna\]"):
        search.fit(*small)
    assert not hasattr(search, "cv_results_")


def test_bad_sampler_and_unsupported_distribution_are_named():
    with pytest.raises(ValueError, match="sampler"):
        make_search("asha", "bohb").fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"param_distributions\['x'\].*sampler='random'"):
        OptunaSampler("tpe", {"x": object()}, np.random.RandomState(0))
    with pytest.raises(ValueError, match="one dict"):
        OptunaSampler("tpe", [{"x": [1]}, {"y": [2]}], np.random.RandomState(0))


def test_tpe_learns_from_what_it_is_told():
    """Told a peaked objective, TPE's draws concentrate at the peak; random draws do not."""
    space = {
        "x": loguniform(1e-4, 1e0),
        "n": randint(1, 9),
        "u": uniform(0, 1),
        "c": ["a", "b", "c"],
    }

    def score(p):
        return -abs(np.log10(p["x"]) + 2) - (p["c"] != "b")

    def distances(sampler):
        for _ in range(30):
            (params,) = sampler.ask(1)
            sampler.tell(params, 3, score(params))
        last = [sampler.ask(1)[0] for _ in range(20)]
        return np.median([abs(np.log10(p["x"]) + 2) for p in last]), np.mean(
            [p["c"] == "b" for p in last]
        )

    tpe_distance, tpe_b = distances(make_sampler("tpe", space, np.random.RandomState(0)))
    random_distance, random_b = distances(make_sampler("random", space, np.random.RandomState(0)))
    assert tpe_distance < 0.5 * random_distance and tpe_b > random_b


def test_model_is_fit_on_the_largest_budget_with_enough_results():
    sampler = OptunaSampler(
        "tpe", {"x": [1, 2, 3]}, np.random.RandomState(0)
    )  # d = 1: 2 results needed
    for x in (1, 2, 3):
        sampler.tell({"x": x}, 1, float(x))
    sampler.tell({"x": 3}, 3, 0.5)
    assert [r for _, r in sampler._model_results()] == [1.0, 2.0, 3.0]  # budget 3 has 1 < 2
    sampler.tell({"x": 2}, 3, 0.7)
    assert [r for _, r in sampler._model_results()] == [0.5, 0.7]
    sampler.tell({"x": 99}, 9, 1.0)  # outside the space: kept out of the model
    sampler.tell({"x": 1}, 9, float("nan"))  # failed: not told
    assert [r for _, r in sampler._model_results()] == [0.5, 0.7]


def test_one_value_is_a_constant_not_a_searched_parameter():
    """A one-value list (the auto space's ``optimizer: [adam]``) neither counts in d nor
    delays the model: with x the only searched parameter, 2 results at a budget suffice."""
    space = {"x": [1, 2, 3], "optimizer": ["adam"], "batch_norm": [True]}
    sampler = OptunaSampler("tpe", space, np.random.RandomState(0))
    assert list(sampler.space) == ["x"] and sampler.sampler._n_startup_trials == 2
    drawn = sampler.ask(5)
    assert all(
        list(p) == list(space) and p["optimizer"] == "adam" and p["batch_norm"] is True
        for p in drawn
    )
    sampler.tell({"x": 1, "optimizer": "adam", "batch_norm": True}, 3, 0.5)
    sampler.tell({"x": 2, "optimizer": "adam", "batch_norm": 1}, 3, 0.6)  # 1 is not True: outside
    sampler.tell({"x": 3, "optimizer": "sgd", "batch_norm": True}, 3, 0.7)  # outside the space
    assert [r for _, r in sampler._model_results()] == [0.5]


def test_random_sampler_without_points_draws_as_before():
    from sklearn.model_selection import ParameterSampler

    expected = list(ParameterSampler(SPACE, 5, random_state=np.random.RandomState(7)))
    drawn = RandomSampler(SPACE, np.random.RandomState(7)).ask(5)
    assert [sorted(p.items()) for p in drawn] == [sorted(p.items()) for p in expected]


@pytest.mark.parametrize("kind", ["hyperband", "asha"])
def test_a_first_rung_score_does_not_replace_the_starting_point(kind):
    """A search stopped before any promotion (every finished row at the first rung, below
    max_epochs) keeps its best starting point; once a row is at a larger budget, or at
    max_epochs, or without starting points, the best score there wins as before."""
    start, other = (
        {"learning_rate": 0.001, "dropout": 0.25},
        {"learning_rate": 0.05, "dropout": 0.0},
    )
    search = make_search(kind, "random")

    def best(rows, points=None):
        search.set_params(points_to_evaluate=points)
        results = {
            "mean_test_score": np.array([score for _, _, score in rows]),
            "n_resources": np.array([epochs for _, epochs, _ in rows]),
            "params": [{**params, "epochs": epochs} for params, epochs, _ in rows],
        }
        return search._best_at_largest_budget("score", results, search.estimator)

    stopped = [(start, 2, 0.5), (other, 2, 0.6), ({**other, "dropout": 0.2}, 2, np.nan)]
    assert best(stopped) == 0  # the default configuration (points_to_evaluate=None)
    assert best(stopped, points=[]) == 1
    assert best(stopped, points=[other]) == 1
    assert (
        best([(start, 2, 0.5), (other, 2, 0.6), (other, 4, 0.55)]) == 2
    )  # promoted: the largest budget
    assert best([(start, 4, 0.5), (other, 4, 0.6)]) == 1  # max_epochs reached: the best there
    assert best([(start, 2, np.nan), (other, 2, 0.6)]) == 1  # the starting point failed
