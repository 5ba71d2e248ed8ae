"""A diverging or crashing fit is scored with error_score; the search goes on and never picks it."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import FitFailedWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV

from sklearn_keras_hpo import (
    AsyncHalvingSearchCV,
    CNNClassifier,
    CNNRegressor,
    HyperbandSearchCV,
    TrainingDivergedError,
)
from sklearn_keras_hpo.search.starting import BayesSearchCV

from .conftest import FAST

# SGD at learning rate 10 with linear units: the loss is NaN within the first epoch
DIVERGING = dict(FAST, optimizer="sgd", activation="linear", epochs=2)
RATES = [0.05, 10.0]


def make(name):
    estimator = CNNClassifier(**DIVERGING)
    if name == "grid":
        return GridSearchCV(estimator, {"learning_rate": RATES}, cv=2)
    if name == "random":
        return RandomizedSearchCV(
            estimator, {"learning_rate": RATES}, n_iter=2, cv=2, random_state=0
        )
    if name == "halving":
        return HalvingRandomSearchCV(
            estimator,
            {"learning_rate": RATES},
            resource="epochs",
            min_resources=1,
            max_resources=2,
            factor=2,
            n_candidates=2,
            cv=2,
            random_state=0,
        )
    if name == "hyperband":
        return HyperbandSearchCV(
            estimator, {"learning_rate": RATES}, max_epochs=2, factor=2, cv=2, random_state=0
        )
    if name == "asha":
        return AsyncHalvingSearchCV(
            estimator,
            {"learning_rate": RATES},
            n_candidates=2,
            max_epochs=2,
            factor=2,
            cv=2,
            random_state=0,
        )
    from skopt.space import Categorical

    return BayesSearchCV(
        estimator,
        {"learning_rate": Categorical(RATES)},
        n_iter=2,
        cv=2,
        random_state=0,
        error_score=0.0,
    )


def test_diverging_fit_raises_a_named_error(digits):
    X, y = digits
    with pytest.raises(TrainingDivergedError, match="loss became (nan|inf)") as caught:
        CNNClassifier(**{**DIVERGING, "learning_rate": 10.0}).fit(X[:300], y[:300])
    assert "learning_rate=10.0" in "".join(getattr(caught.value, "__notes__", []))


def test_diverging_regressor_stops_on_an_infinite_loss():
    rng = np.random.default_rng(0)
    X = rng.random((200, 8, 8)).astype(np.float32)
    with pytest.raises(TrainingDivergedError):
        CNNRegressor(**dict(FAST, optimizer="sgd", learning_rate=10.0)).fit(
            X, 100 * X.sum(axis=(1, 2))
        )


@pytest.mark.parametrize("name", ["grid", "random", "halving", "hyperband", "asha", "bayes"])
def test_search_scores_the_diverging_configuration_and_goes_on(name, digits):
    X, y = digits
    search = make(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X[:400], y[:400])
    messages = [str(w.message) for w in caught if issubclass(w.category, FitFailedWarning)]
    assert (
        messages and "TrainingDivergedError" in messages[0] and "learning_rate=10.0" in messages[0]
    )
    assert search.best_params_["learning_rate"] == 0.05
    results = search.cv_results_
    failed = [i for i, p in enumerate(results["params"]) if p["learning_rate"] == 10.0]
    if name == "bayes":  # one point per batch: told to the optimizer, left out of cv_results_
        assert failed == []
    else:
        assert failed and np.isnan(results["mean_test_score"][failed]).all()
    assert np.isfinite(search.best_score_) and search.best_score_ > 0.12  # chance is 0.1


def test_an_exception_in_one_fit_is_handled_the_same_way(digits):
    import keras

    def builder(hidden, meta, compile_kwargs):
        if hidden == 13:
            raise RuntimeError("no 13 here")
        model = keras.Sequential(
            [
                keras.Input(meta["X_shape_"][1:]),
                keras.layers.Flatten(),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )
        model.compile(loss="sparse_categorical_crossentropy", optimizer=compile_kwargs["optimizer"])
        return model

    X, y = digits
    search = GridSearchCV(
        CNNClassifier(model=builder, model__hidden=8, **FAST), {"model__hidden": [8, 13]}, cv=2
    )
    with pytest.warns(FitFailedWarning, match=r"(?s)no 13 here.*model__hidden=13"):
        search.fit(X[:300], y[:300])
    assert search.best_params_ == {"model__hidden": 8}
    with pytest.raises(RuntimeError, match="no 13 here"):
        GridSearchCV(search.estimator, {"model__hidden": [13]}, cv=2, error_score="raise").fit(
            X[:300], y[:300]
        )


def test_a_rung_search_where_every_fit_fails_warns_and_keeps_its_results(digits):
    """scikit-learn raises when every fit of one batch fails; our rung searches warn, keep
    the failed rows (error_score) and have nothing to refit."""
    X, y = digits
    search = HyperbandSearchCV(
        CNNClassifier(**DIVERGING),
        {"learning_rate": [10.0]},
        max_epochs=2,
        factor=2,
        cv=2,
        refit=False,
        points_to_evaluate=[],
    )
    with pytest.warns(FitFailedWarning, match="fits failed"):
        search.fit(X[:300], y[:300])
    assert np.isnan(search.cv_results_["mean_test_score"]).all()
    plain = GridSearchCV(CNNClassifier(**DIVERGING), {"learning_rate": [10.0]}, cv=2, refit=False)
    with pytest.raises(ValueError, match="All the 2 fits failed"):
        plain.fit(X[:300], y[:300])
