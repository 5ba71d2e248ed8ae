"""A 200-fit search in one process: memory stays bounded.

GridSearchCV over 100 candidates x 2 folds (learning rate, dense units, dropout; so the
traced-model cache both reuses and evicts) on scikit-learn's digits, n_jobs=1, with
checkpoint_dir set as a resumable search would have it. The scorer records this
process's RSS after every fit. Prints RSS after fit 20 and after fit 200 and the growth
per fit over fits 20-200 (least squares; target < 1 MiB per fit).

    python benchmarks/bench_long_search.py [--candidates 100]
"""

import argparse
import tempfile
import time

import numpy as np
import psutil
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.datasets import load_digits_images

RSS = []


def recording_accuracy(estimator, X, y):
    RSS.append(psutil.Process().memory_info().rss / 2**20)
    return accuracy_score(y, estimator.predict(X))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=100)
    args = parser.parse_args()
    X, y = load_digits_images()
    X, y = X[:600], y[:600]
    n_rates = max(1, args.candidates // 4)
    grid = {"learning_rate": list(np.geomspace(1e-3, 3e-2, n_rates)), "dense_units": [16, 32], "dropout": [0.0, 0.2]}
    with tempfile.TemporaryDirectory() as checkpoints:
        estimator = CNNClassifier(filters=4, epochs=1, batch_size=64, random_state=0, checkpoint_dir=checkpoints)
        search = GridSearchCV(estimator, grid, cv=2, scoring=recording_accuracy, refit=False, n_jobs=1)
        started = time.perf_counter()
        search.fit(X, y)
        elapsed = time.perf_counter() - started
    fits = len(RSS)
    after = np.arange(20, fits)
    slope = np.polyfit(after, np.asarray(RSS)[20:], 1)[0] if fits > 40 else float("nan")
    print(f"[long search] GridSearchCV {len(search.cv_results_['params'])} candidates x 2 folds = {fits} fits, "
          f"one process, {elapsed:.0f} s")  # fmt: skip
    print(f"  RSS after fit 20: {RSS[19]:.0f} MiB, after fit {fits}: {RSS[-1]:.0f} MiB, "
          f"peak {max(RSS):.0f} MiB; growth {slope:.3f} MiB per fit (target < 1)")  # fmt: skip
    print(f"  best mean accuracy {np.nanmax(search.cv_results_['mean_test_score']):.3f}")


if __name__ == "__main__":
    main()
