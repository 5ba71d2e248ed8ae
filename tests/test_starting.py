"""scikit-learn's and skopt's searchers from ``search.starting``: the estimator's own
configuration first, the parent's candidates otherwise, and a Bayes search that goes on
when every fit of a step fails (the CNN case is in test_failures.py)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import ParameterGrid
from sklearn.tree import DecisionTreeClassifier
from skopt.space import Categorical, Integer

from sklearn_keras_hpo.search import starting

DEPTHS = [1, 2, 4, 5, 6, 8]


class FailsAtDepthOne(DecisionTreeClassifier):
    """A tree whose every fit raises at ``max_depth=1``: a configuration that always fails."""

    def fit(self, X, y, **kwargs):
        if self.max_depth == 1:
            raise RuntimeError("depth 1 fails")
        return super().fit(X, y, **kwargs)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def make(name, estimator, **kwargs):
    space = {"max_depth": DEPTHS, "criterion": ["gini", "entropy"]}
    if name == "grid":
        return starting.GridSearchCV(estimator, space, cv=2, **kwargs)
    if name == "random":
        return starting.RandomizedSearchCV(
            estimator, space, n_iter=4, cv=2, random_state=0, **kwargs
        )
    if name == "halving":
        return starting.HalvingRandomSearchCV(
            estimator, space, n_candidates=6, cv=2, random_state=0, **kwargs
        )
    space = {"max_depth": Integer(1, 8), "criterion": Categorical(["gini", "entropy"])}
    return starting.BayesSearchCV(estimator, space, n_iter=4, cv=2, random_state=0, **kwargs)


@pytest.mark.parametrize("name", ["grid", "random", "halving", "bayes"])
def test_the_own_configuration_is_the_first_candidate(name, iris):
    own = {"max_depth": 4, "criterion": "entropy"}
    search = make(name, DecisionTreeClassifier(random_state=0, **own)).fit(*iris)
    params = [dict(p) for p in search.cv_results_["params"]]
    assert params[0] == starting.own_configuration(search.estimator, own) == own
    assert type(search).__name__ == type(search).__mro__[1].__name__  # the library's name
    if name == "grid":  # the same grid, reordered
        assert sorted(map(str, params)) == sorted(map(str, ParameterGrid(search.param_grid)))
    if name == "halving":  # as many first-iteration candidates as scikit-learn's
        assert search.n_candidates_[0] == 6
    if name in ("random", "bayes"):
        assert len(params) == 4


def test_own_configuration_leaves_out_names_the_estimator_does_not_have():
    tree = DecisionTreeClassifier(max_depth=3)
    assert starting.own_configuration(tree, ["max_depth", "no_such"]) == {"max_depth": 3}


def test_bayes_tells_a_failed_point_once_a_score_is_known(iris):
    """The first point (the own configuration, max_depth=1) fails on every fold with a NaN
    error_score and a callable scoring: it waits, then is told the worst score seen."""
    search = starting.BayesSearchCV(
        FailsAtDepthOne(max_depth=1, random_state=0),
        {"max_depth": Integer(1, 8)},
        n_iter=4,
        cv=2,
        random_state=0,
        error_score=np.nan,
        scoring=lambda estimator, X, y: estimator.score(X, y),
    )
    with pytest.warns(FitFailedWarning, match="All the 2 fits failed"):
        search.fit(*iris)
    assert {"max_depth": 1} not in [dict(p) for p in search.cv_results_["params"]]
    optimizer = search.optimizers_[0]
    told = dict(zip((x[0] for x in optimizer.Xi), optimizer.yi, strict=True))
    assert 1 in told and np.isfinite(optimizer.yi).all()
    assert told[1] == max(optimizer.yi)  # the worst objective (negated score) seen
    assert search.best_params_["max_depth"] != 1


def test_bayes_raises_when_every_step_fails(iris):
    search = starting.BayesSearchCV(
        FailsAtDepthOne(max_depth=1),
        {"max_depth": Categorical([1])},
        n_iter=2,
        cv=2,
        random_state=0,
        error_score=0.0,
    )
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ValueError, match="All"):
        warnings.simplefilter("always")
        search.fit(*iris)
    assert sum(issubclass(w.category, FitFailedWarning) for w in caught) == 2  # went on once
