"""Worker utilisation of the searches over epochs: busy time / (n_jobs x wall).

busy = the fit and score time of every fit (``cv_results_``: mean times x folds), wall =
the search's own time (``refit=False``), all at the same ``n_jobs`` on the same data and
space, one after the other in this process with the workers already started:

1. scikit-learn's ``HalvingRandomSearchCV(resource="epochs")`` (warm-started CNNClassifier);
2. ``HyperbandSearchCV``: one fit per free worker, brackets side by side;
3. ``HyperbandSearchCV`` as it ran before issue 14: each rung one ``evaluate_candidates``
   batch, the brackets one after the other (``RungByRungHyperband`` below; same scores);
4. ``AsyncHalvingSearchCV`` with the same number of candidates as the halving search;
5. ``AsyncHalvingSearchCV`` with a time limit (its natural budget) equal to 2.'s wall
   (the fits running at the limit are dropped: their time counts as idle).

Target: >= 0.9 for 2., 4. and 5.

    python benchmarks/bench_utilisation.py [--samples 3000] [--max-epochs 9] [--cv 2] [--n-jobs 2]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, ParameterSampler
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state

from sklearn_keras_hpo import (
    AsyncHalvingSearchCV,
    CNNClassifier,
    HyperbandSearchCV,
    search_space,
)
from sklearn_keras_hpo._backend import keras_and_tf
from sklearn_keras_hpo.data.datasets import load_digits_images, load_mnist
from sklearn_keras_hpo.search import hyperband_brackets
from sklearn_keras_hpo.search.selection import top_k

FASHION = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fashion_mnist"
SPACE = {
    "batch_size": ("int", 16, 128),
    "learning_rate": ("log", 1e-4, 1e-1),
    "activation": ("cat", ["relu", "tanh", "swish", "linear"]),
    "dropout": ("real", 0.0, 0.5),
    "filters": ("cat", [8, 16, 32]),
}


class RungByRungHyperband(HyperbandSearchCV):
    """``HyperbandSearchCV`` before issue 14: every rung one ``BaseSearchCV`` batch, in turn."""

    def fit(self, X, y=None, **params):
        with self._checkpointed_estimator() as estimator:
            user, self.estimator = self.estimator, estimator
            try:
                BaseSearchCV.fit(self, X, y, **params)
            finally:
                self.estimator = user
        return self

    def _run_search(self, evaluate_candidates):
        rng = check_random_state(self.random_state)
        for bracket, rungs in hyperband_brackets(self.max_epochs, self.factor, self.min_epochs):
            candidates = list(
                ParameterSampler(self.param_distributions, rungs[0][0], random_state=rng)
            )
            for rung, (_, epochs) in enumerate(rungs):
                batch = [{**candidate, self.resource: epochs} for candidate in candidates]
                n = len(batch)
                results = evaluate_candidates(
                    batch,
                    more_results={
                        "bracket": [bracket] * n,
                        "rung": [rung] * n,
                        "n_resources": [epochs] * n,
                    },
                )
                if rung + 1 < len(rungs):
                    candidates = [
                        candidates[i]
                        for i in top_k(results["mean_test_score"][-n:], rungs[rung + 1][0])
                    ]


def utilisation(search, wall, n_jobs):
    """Busy time of every fit (fit + score, from ``cv_results_``) / (n_jobs x wall)."""
    results = search.cv_results_
    busy = float(np.sum(results["mean_fit_time"] + results["mean_score_time"]) * search.n_splits_)
    return busy / (n_jobs * wall), busy


def data(samples):
    if FASHION.exists():
        X, y = load_mnist(FASHION)
        return "Fashion-MNIST 28x28", X[:samples], y[:samples]
    X, y = load_digits_images()
    return "digits 8x8 (Fashion-MNIST absent)", X, y


def scores(search):
    results = search.cv_results_
    return sorted(
        (json.dumps(p, sort_keys=True, default=float), float(s))
        for p, s in zip(results["params"], results["mean_test_score"], strict=False)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--max-epochs", type=int, default=9)
    parser.add_argument("--cv", type=int, default=2)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    keras_and_tf()
    name, X, y = data(args.samples)
    space = search_space(SPACE)
    n_jobs, n_candidates = args.n_jobs, args.max_epochs * 2
    base = dict(dense_units=64, random_state=0)
    common = dict(cv=args.cv, n_jobs=n_jobs, random_state=0, refit=False)
    print(
        f"data: {name}, {len(X)} images; {os.cpu_count()} cores; n_jobs={n_jobs}, cv={args.cv}, "
        f"epochs 1..{args.max_epochs}, factor 3"
    )
    GridSearchCV(CNNClassifier(**base, epochs=1), {"dropout": [0.0, 0.1]}, cv=2, n_jobs=n_jobs).fit(
        X[:300], y[:300]
    )

    def run(label, make):
        with tempfile.TemporaryDirectory() as checkpoints:
            search = make(CNNClassifier(**base, checkpoint_dir=checkpoints))
            start = time.perf_counter()
            search.fit(X, y)
            wall = time.perf_counter() - start
        ratio, busy = utilisation(search, wall, n_jobs)
        fits = len(search.cv_results_["params"]) * search.n_splits_
        print(
            f"  {label:<52} wall {wall:6.1f} s  busy {busy:6.1f} s  {fits:3d} fits  "
            f"best {np.nanmax(search.cv_results_['mean_test_score']):.4f}  utilisation {ratio:.2f}"
        )
        return search, wall

    hyperband = dict(max_epochs=args.max_epochs, factor=3, **common)
    run(
        "sklearn HalvingRandomSearchCV(resource='epochs')",
        lambda est: HalvingRandomSearchCV(
            est,
            space,
            resource="epochs",
            min_resources=1,
            max_resources=args.max_epochs,
            factor=3,
            n_candidates=n_candidates,
            **common,
        ),
    )
    # after first: the second of the two meets the traced models of the first (favours "before")
    after, wall = run("HyperbandSearchCV", lambda est: HyperbandSearchCV(est, space, **hyperband))
    before, _ = run(
        "HyperbandSearchCV, rung by rung (before)",
        lambda est: RungByRungHyperband(est, space, **hyperband),
    )
    print(f"    HyperbandSearchCV before/after: same scores {scores(before) == scores(after)}")
    asha = dict(max_epochs=args.max_epochs, factor=3, **common)
    run(
        f"AsyncHalvingSearchCV, {n_candidates} candidates",
        lambda est: AsyncHalvingSearchCV(est, space, n_candidates=n_candidates, **asha),
    )
    run(
        f"AsyncHalvingSearchCV, time_limit={wall:.0f} s",
        lambda est: AsyncHalvingSearchCV(est, space, time_limit=wall, **asha),
    )
    print("  target: >= 0.9 for HyperbandSearchCV and AsyncHalvingSearchCV")


if __name__ == "__main__":
    main()
