"""What the tracking tests share: the tiny data and the Hyperband search they log, and
how a logged search is read back from MLflow (one parent run, one child per candidate,
per-epoch curves whose length is the epochs each fold trained, the artifacts)."""

import json

import pytest
from sklearn.datasets import load_digits

from sklearn_keras_hpo import CNNClassifier, HyperbandSearchCV

TINY = dict(
    image_shape=(8, 8),
    filters=4,
    dense_units=16,
    batch_size=32,
    learning_rate=0.01,
    validation_fraction=0.2,
    random_state=0,
)
DROPOUTS = [0.0, 0.1, 0.2, 0.3]


def data(n=160):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def hyperband(checkpoint_dir=None, **kwargs):
    """Rungs of 1 and 2 epochs (the second continues the first), 2 folds, 4 candidates."""
    return HyperbandSearchCV(
        CNNClassifier(**TINY, checkpoint_dir=checkpoint_dir),
        {"dropout": DROPOUTS},
        max_epochs=2,
        factor=2,
        cv=2,
        random_state=0,
        points_to_evaluate=[],
        **kwargs,
    )


def experiment_runs(client, name):
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def steps(client, run_id, key):
    return [m.step for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)]


def candidates(search):
    """Candidate (parameters without the resource, as MLflow params) -> its budgets, rows."""
    resource = getattr(search, "resource", None)
    found = {}
    for i, params in enumerate(search.cv_results_["params"]):
        key = json.dumps({k: str(v) for k, v in params.items() if k != resource}, sort_keys=True)
        budget = int(
            params.get(resource, params.get("epochs", search.estimator.get_params()["epochs"]))
        )
        found.setdefault(key, []).append((budget, i))
    return found


def check_search_logged(client, experiment, search, artifacts=("cv_results.csv",)):
    """The parent, one child per candidate, per-fold curves, scores per budget, artifacts."""
    parents, children = experiment_runs(client, experiment)
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.params["searcher"] == type(search).__name__
    assert parent.data.params["cv"] == "2"
    if hasattr(search, "best_score_"):
        assert parent.data.metrics["best_score"] == pytest.approx(search.best_score_)
    expected = candidates(search)
    assert all(c.data.tags["mlflow.parentRunId"] == parent.info.run_id for c in children)
    by_params = {json.dumps(c.data.params, sort_keys=True): c for c in children}
    assert len(children) == len(by_params) == len(expected)
    assert set(by_params) == set(expected)
    for key, rows in expected.items():
        child = by_params[key]
        trained = max(budget for budget, _ in rows)  # warm-started rungs: each epoch trained once
        for fold in range(search.n_splits_):
            for metric in ("loss", "accuracy", "val_loss"):
                assert steps(client, child.info.run_id, f"fold_{fold}/{metric}") == list(
                    range(trained)
                )
        history = client.get_metric_history(child.info.run_id, "mean_test_score")
        # a candidate drawn again at a budget it had (restored from its checkpoint) has the point
        # once
        assert sorted((m.step, round(m.value, 6)) for m in history) == sorted(
            {
                (budget, round(float(search.cv_results_["mean_test_score"][i]), 6))
                for budget, i in rows
            }
        )
    listed = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert set(artifacts) <= listed, listed
    return parent, by_params
