"""scikit-learn's metadata routing through our searchers as through ``GridSearchCV``:
``sample_weight`` unrequested is refused, requested reaches every fit; ``groups`` reach a
``GroupKFold``."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_keras_hpo import AsyncHalvingSearchCV, CNNClassifier, HyperbandSearchCV

from .conftest import FAST

SEEN = []  # the sample weights each fit got (n_jobs=1: the fits run in this process)


class WeightRecording(CNNClassifier):
    def fit(self, X, y, sample_weight=None, **kwargs):
        SEEN.append(None if sample_weight is None else np.asarray(sample_weight).copy())
        return super().fit(X, y, sample_weight=sample_weight, **kwargs)


SEARCHERS = {
    "grid": lambda est, cv: GridSearchCV(est, {"dropout": [0.0, 0.1]}, cv=cv, refit=False),
    "hyperband": lambda est, cv: HyperbandSearchCV(
        est, {"dropout": [0.0, 0.1]}, max_epochs=2, cv=cv, refit=False, random_state=0
    ),
    "asha": lambda est, cv: AsyncHalvingSearchCV(
        est,
        {"dropout": [0.0, 0.1]},
        max_epochs=2,
        n_candidates=2,
        cv=cv,
        refit=False,
        random_state=0,
    ),
}


@pytest.fixture
def data(digits):
    X, y = digits
    return X[:120], y[:120], np.linspace(0.5, 1.5, 120), np.arange(120) % 4


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_sample_weight_is_refused_unrequested_and_routed_when_requested(name, data):
    X, y, weights, _ = data
    with sklearn.config_context(enable_metadata_routing=True):
        unrequested = SEARCHERS[name](WeightRecording(**{**FAST, "epochs": 1}), 2)
        with pytest.raises(ValueError, match="sample_weight"):
            unrequested.fit(X, y, sample_weight=weights)
        SEEN.clear()
        requested = WeightRecording(**{**FAST, "epochs": 1}).set_fit_request(sample_weight=True)
        requested.set_score_request(sample_weight=False)  # as GridSearchCV asks of any estimator
        SEARCHERS[name](requested, 2).fit(X, y, sample_weight=weights)
    assert SEEN and all(seen is not None for seen in SEEN)
    assert all(set(np.round(seen, 6)) <= set(np.round(weights, 6)) for seen in SEEN)


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_groups_reach_a_group_k_fold(name, data):
    X, y, _, groups = data
    with sklearn.config_context(enable_metadata_routing=True):
        search = SEARCHERS[name](CNNClassifier(**{**FAST, "epochs": 1}), GroupKFold(2))
        with pytest.raises(ValueError, match="groups"):
            search.fit(X, y)  # GroupKFold needs them
        search.fit(X, y, groups=groups)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
