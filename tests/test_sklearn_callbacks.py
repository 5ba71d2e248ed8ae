"""A user's scikit-learn callback fires on our rung searches as it does on GridSearchCV:
the same root, "search", per-fit and refit tasks (scikit-learn 1.9's callback API)."""

import collections

import pytest
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import AsyncHalvingSearchCV, CNNClassifier, HyperbandSearchCV

from .conftest import FAST


class TaskRecorder:
    """A ``sklearn.callback.FitCallback`` that counts the hooks per task name."""

    def __init__(self):
        self.events = collections.Counter()

    def setup(self, estimator, context):
        self.events["setup"] += 1

    def teardown(self, estimator, context):
        self.events["teardown"] += 1

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.events[("begin", context.task_name)] += 1

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.events[("end", context.task_name)] += 1


def searches():
    estimator = CNNClassifier(**FAST)
    grid = {"learning_rate": [0.01, 0.03]}
    yield "grid", GridSearchCV(estimator, grid, cv=2)
    yield "hyperband", HyperbandSearchCV(estimator, grid, max_epochs=2, factor=2, cv=2)
    yield "asha", AsyncHalvingSearchCV(estimator, grid, n_candidates=2, max_epochs=2, cv=2)


@pytest.mark.parametrize("name", ["grid", "hyperband", "asha"])
def test_a_users_callback_sees_every_task(name, digits):
    search = dict(searches())[name]
    recorder = TaskRecorder()
    search.set_callbacks(recorder)
    X, y = digits
    search.fit(X[:200], y[:200])
    events = recorder.events
    n_fits = len(search.cv_results_["params"]) * search.n_splits_
    assert events["setup"] == events["teardown"] == 1
    assert events[("begin", "fit")] == events[("end", "fit")] == 1
    assert events[("begin", "search")] == events[("end", "search")] == 1
    assert events[("begin", "candidate-split-evaluation")] == n_fits
    assert events[("end", "candidate-split-evaluation")] == n_fits
    assert events[("begin", "refit-with-best-params")] == 1
    assert events[("end", "refit-with-best-params")] == 1
