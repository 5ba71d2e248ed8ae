"""Search speed: parallel scaling, fixed cost per fit, memory per fit, warm-started rungs.

Prints, measured side by side in one process:

1. GridSearchCV, 4 candidates x 3 folds, small CNN on 28x28 MNIST (digits 8x8
   upscaled when MNIST is absent): wall at n_jobs=2 / wall at n_jobs=1 (target
   <= 0.58), cold (worker start and TensorFlow import included) and warm
   (workers reused).
2. Fixed cost per fit (a 1-epoch fit on 64 images), median after the first,
   with traced-model reuse and without it (target <= 0.25 s).
3. RSS growth per fit over 200 fits in this process (target < 1 MiB).
4. HyperbandSearchCV with warm-started rungs / without, same seed (target <= 0.55),
   with both best scores, and the ratio the epoch arithmetic allows.

    python benchmarks/bench_search.py [--samples 3000] [--only parallel,fixed,memory,warm]
"""

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import psutil
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import CNNClassifier, HyperbandSearchCV
from sklearn_keras_hpo.datasets import load_digits_images, load_mnist
from sklearn_keras_hpo.search import hyperband_brackets

MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
SMALL_CNN = dict(filters=16, dense_units=64, dropout=0.1, batch_size=64, random_state=0)


def data(samples):
    if MNIST.exists():
        X, y = load_mnist(MNIST)
        return "MNIST 28x28", X[:samples], y[:samples]
    X, y = load_digits_images()
    return "digits 8x8 (MNIST absent)", X, y


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def parallel_scaling(X, y):
    grid = {"learning_rate": [1e-3, 3e-3], "activation": ["relu", "tanh"]}
    search = lambda n_jobs: GridSearchCV(CNNClassifier(**SMALL_CNN, epochs=2), grid, cv=3, n_jobs=n_jobs)
    one_cold, _ = timed(lambda: search(1).fit(X, y))
    one_warm, _ = timed(lambda: search(1).fit(X, y))
    two_cold, _ = timed(lambda: search(2).fit(X, y))
    two_warm, _ = timed(lambda: search(2).fit(X, y))
    print(f"[parallel] GridSearchCV 4 candidates x 3 folds, {len(X)} images, 2 epochs")
    print(f"  cold (first search: TensorFlow import, tracing, worker start): "
          f"n_jobs=1 {one_cold:.1f} s, n_jobs=2 {two_cold:.1f} s, ratio {two_cold / one_cold:.2f}")
    print(f"  warm (same search again, same process/workers): "
          f"n_jobs=1 {one_warm:.1f} s, n_jobs=2 {two_warm:.1f} s, ratio {two_warm / one_warm:.2f} (target <= 0.58)")


def fixed_cost(X, y, fits=10):
    small_X, small_y = X[:64], y[:64]
    results = {}
    for label, cache in (("reuse", "1"), ("fresh", "0")):
        os.environ["SKHPO_MODEL_CACHE"] = cache
        seconds = [timed(lambda: CNNClassifier(**SMALL_CNN, epochs=1).fit(small_X, small_y))[0]
                   for _ in range(fits + 1)]  # fmt: skip
        results[label] = statistics.median(seconds[1:])
    os.environ.pop("SKHPO_MODEL_CACHE")
    print(f"[fixed cost] 1-epoch fit on 64 images, median of {fits} after the first")
    print(f"  with traced-model reuse {results['reuse']:.3f} s, fresh model each fit {results['fresh']:.3f} s "
          f"(target <= 0.25 s)")  # fmt: skip


def memory_per_fit(X, y, fits=200):
    process = psutil.Process()
    small_X, small_y = X[:64], y[:64]
    params = [dict(learning_rate=lr, activation=act) for lr in (1e-3, 3e-3) for act in ("relu", "tanh")]
    rss = []
    for i in range(fits):
        CNNClassifier(**SMALL_CNN, epochs=1, **params[i % len(params)]).fit(small_X, small_y)
        rss.append(process.memory_info().rss / 2**20)
    growth = (rss[-1] - rss[19]) / (fits - 20)
    print(f"[memory] {fits} fits in one process, 4 alternating configurations")
    print(f"  RSS after fit 20: {rss[19]:.0f} MiB, after fit {fits}: {rss[-1]:.0f} MiB, "
          f"growth {growth:.3f} MiB per fit (target < 1)")  # fmt: skip


def warm_start(X, y, max_epochs=9, factor=3):
    from scipy.stats import loguniform

    space = {"learning_rate": loguniform(3e-4, 3e-2), "activation": ["relu", "tanh"]}
    results = {}
    for warm in (True, False):
        search = HyperbandSearchCV(CNNClassifier(**SMALL_CNN), space, max_epochs=max_epochs, factor=factor,
                                   cv=2, random_state=0, warm_start=warm, refit=False)  # fmt: skip
        results[warm] = timed(lambda: search.fit(X, y))
    brackets = hyperband_brackets(max_epochs, factor)
    straight = sum(n * r for _, rungs in brackets for n, r in rungs)
    continued = sum(n * (r - (rungs[i - 1][1] if i else 0)) for _, rungs in brackets
                    for i, (n, r) in enumerate(rungs))  # fmt: skip
    (warm_s, warm_search), (cold_s, cold_search) = results[True], results[False]
    print(f"[warm start] HyperbandSearchCV max_epochs={max_epochs} factor={factor} cv=2, {len(X)} images")
    print(f"  warm {warm_s:.1f} s, from scratch {cold_s:.1f} s, ratio {warm_s / cold_s:.2f} (target <= 0.55);"
          f" epochs trained {continued} vs {straight} (ratio {continued / straight:.2f})")
    print(f"  best score warm {warm_search.best_score_:.4f}, from scratch {cold_search.best_score_:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--only", default="parallel,fixed,memory,warm")
    args = parser.parse_args()
    name, X, y = data(args.samples)
    print(f"data: {name}, {len(X)} images; {os.cpu_count()} cores")
    steps = {"parallel": parallel_scaling, "fixed": fixed_cost, "memory": memory_per_fit, "warm": warm_start}
    for step in args.only.split(","):
        steps[step](X, y)


if __name__ == "__main__":
    main()
