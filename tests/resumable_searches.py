"""The searches of the resume tests, importable by the test and runnable as a script.

``python -m tests.resumable_searches KIND CHECKPOINT_DIR OUT.json [N_JOBS]`` runs one
search with its fits recorded under CHECKPOINT_DIR ("-" for none) and writes its scores
to OUT.json.
"""

import json
import sys

import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV

from sklearn_keras_hpo import AsyncHalvingSearchCV, CNNClassifier, HyperbandSearchCV

KINDS = ("grid", "random", "halving", "hyperband", "asha", "bayes", "asha_tpe")


def data():
    X, y = load_digits(return_X_y=True)
    return X[:500].reshape(-1, 8, 8) / 16.0, y[:500]


def make_search(kind, checkpoint_dir=None, n_jobs=1):
    estimator = CNNClassifier(
        filters=4,
        dense_units=16,
        dropout=0.1,
        epochs=2,
        batch_size=16,
        random_state=0,
        checkpoint_dir=checkpoint_dir,
    )
    common = dict(cv=2, n_jobs=n_jobs)
    if kind == "grid":
        return GridSearchCV(
            estimator, {"learning_rate": [0.003, 0.01, 0.03], "dropout": [0.0, 0.2]}, **common
        )
    space = {"learning_rate": loguniform(1e-3, 1e-1), "dropout": [0.0, 0.2]}
    if kind == "random":
        return RandomizedSearchCV(estimator, space, n_iter=5, random_state=0, **common)
    if kind == "halving":
        return HalvingRandomSearchCV(
            estimator,
            space,
            resource="epochs",
            min_resources=1,
            max_resources=4,
            n_candidates=4,
            factor=2,
            random_state=0,
            **common,
        )
    if kind == "hyperband":
        return HyperbandSearchCV(estimator, space, max_epochs=4, factor=2, random_state=0, **common)
    if kind == "asha":
        return AsyncHalvingSearchCV(
            estimator, space, n_candidates=5, max_epochs=4, factor=2, random_state=0, **common
        )
    if kind in (
        "asha_tpe",
        "hyperband_tpe",
    ):  # model-guided: TPE, as soon as it has d + 1 = 3 results
        search = AsyncHalvingSearchCV if kind == "asha_tpe" else HyperbandSearchCV
        budget = dict(n_candidates=7) if kind == "asha_tpe" else {}
        return search(
            estimator,
            space,
            max_epochs=4,
            factor=2,
            sampler="tpe",
            random_state=0,
            **budget,
            **common,
        )
    if kind == "bayes":
        from skopt.space import Categorical, Real

        # skopt's own BayesSearchCV passes no scikit-learn callback contexts on (so a
        # progress bar would not count its fits); ours, starting from the estimator's
        # configuration, does
        from sklearn_keras_hpo.search.starting import BayesSearchCV

        bayes_space = {
            "learning_rate": Real(1e-3, 1e-1, prior="log-uniform"),
            "dropout": Categorical([0.0, 0.2]),
        }
        return BayesSearchCV(
            estimator,
            bayes_space,
            n_iter=5,
            optimizer_kwargs={"n_initial_points": 2},
            random_state=0,
            **common,
        )
    raise ValueError(kind)


def scores(search):
    """What must match between runs: every candidate's parameters and fold scores."""
    results = search.cv_results_
    n_splits = search.n_splits_
    return {
        "params": [json.dumps(p, sort_keys=True, default=float) for p in results["params"]],
        "folds": np.array([results[f"split{i}_test_score"] for i in range(n_splits)]).T.tolist(),
        "best_params": json.dumps(search.best_params_, sort_keys=True, default=float),
    }


if __name__ == "__main__":
    kind, checkpoint_dir, out, *n_jobs = sys.argv[1:]
    checkpoint_dir = None if checkpoint_dir == "-" else checkpoint_dir
    search = make_search(kind, checkpoint_dir, int(n_jobs[0]) if n_jobs else 1).fit(*data())
    with open(out, "w") as file:
        json.dump(scores(search), file)
