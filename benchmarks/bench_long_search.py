"""A 200-fit search in one process: memory stays bounded.

RandomizedSearchCV over the tutorial CNN space (optimizer, initializer, activation,
dropout, dense units, batch size: a new traced graph nearly every fit, the cache both
reusing and evicting), 100 candidates x 2 folds, 1 epoch each, on scikit-learn's digits,
n_jobs=1, with checkpoint_dir set as a resumable search would have it. The scorer records this
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
from sklearn.model_selection import RandomizedSearchCV

from sklearn_keras_hpo import CNNClassifier, search_space
from sklearn_keras_hpo.data.datasets import load_digits_images

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
    space = {**search_space("cnn"), "epochs": [1]}
    with tempfile.TemporaryDirectory() as checkpoints:
        estimator = CNNClassifier(filters=4, random_state=0, checkpoint_dir=checkpoints)
        search = RandomizedSearchCV(
            estimator,
            space,
            n_iter=args.candidates,
            cv=2,
            scoring=recording_accuracy,
            refit=False,
            n_jobs=1,
            random_state=0,
        )
        started = time.perf_counter()
        search.fit(X, y)
        elapsed = time.perf_counter() - started
    fits = len(RSS)
    after = np.arange(20, fits)
    slope = np.polyfit(after, np.asarray(RSS)[20:], 1)[0] if fits > 40 else float("nan")
    print(
        f"[long search] RandomizedSearchCV {len(search.cv_results_['params'])} candidates "
        f"x 2 folds = {fits} fits, "
        f"one process, {elapsed:.0f} s"
    )
    print(
        f"  RSS after fit 20: {RSS[19]:.0f} MiB, after fit {fits}: {RSS[-1]:.0f} MiB, "
        f"peak {max(RSS):.0f} MiB; growth {slope:.3f} MiB per fit (target < 1)"
    )
    print(f"  best mean accuracy {np.nanmax(search.cv_results_['mean_test_score']):.3f}")


if __name__ == "__main__":
    main()
