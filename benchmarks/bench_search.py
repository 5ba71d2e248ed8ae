"""Search speed: parallel scaling, fixed cost per fit, memory per fit, warm-started rungs.

Prints, measured side by side in one process:

1. GridSearchCV, 4 candidates x 3 folds, small CNN on 28x28 MNIST (digits 8x8
   upscaled when MNIST is absent): wall at n_jobs=2 / wall at n_jobs=1 (target
   <= 0.58), cold (worker start and TensorFlow import included) and warm
   (workers reused).
2. Fixed cost per fit (a 1-epoch fit on 64 images), median after the first,
   with traced-model reuse and without it (target <= 0.25 s).
3. RSS growth per fit over 200 fits in this process, a new architecture nearly
   every fit (target < 1 MiB).
4. HyperbandSearchCV with warm-started rungs / without, same seed (target <= 0.55),
   with both best scores, and the ratio the epoch arithmetic allows.
5. The same for scikit-learn's HalvingRandomSearchCV(resource="epochs") with
   ``checkpoint_dir`` / without (factor 2: the most a halving search can save).

    python benchmarks/bench_search.py [--samples 3000] [--only parallel,fixed,memory,warm,halving]
"""

import argparse
import os

os.environ.setdefault(
    "TF_CPP_MIN_LOG_LEVEL", "3"
)  # the plain-scikeras side would print TensorFlow's C++ log lines
import statistics
import time
from pathlib import Path

import numpy as np
import psutil
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import CNNClassifier, HyperbandSearchCV
from sklearn_keras_hpo._backend import keras_and_tf
from sklearn_keras_hpo.data.datasets import load_digits_images, load_mnist
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


def parallel_scaling(X, y, repeats=3):
    grid = {"learning_rate": [1e-3, 3e-3], "activation": ["relu", "tanh"]}

    def ours(n_jobs):
        return GridSearchCV(CNNClassifier(**SMALL_CNN, epochs=2), grid, cv=3, n_jobs=n_jobs)

    print(
        f"[parallel] GridSearchCV 4 candidates x 3 folds, {len(X)} images, 2 epochs, refit included"
    )
    print(
        "  cold: first search (tracing; worker start and TensorFlow import in the workers); "
        f"warm: the same search again, n_jobs=1 and n_jobs=2 alternating {repeats} times "
        "(the machine's speed drifts)"
    )
    plain_X, plain_y, plain = plain_scikeras_search(X, y, grid)
    for name, search, data, rounds in (
        ("ours", ours, (X, y), repeats),
        ("plain scikeras", plain, (plain_X, plain_y), 1),
    ):

        def fit(n_jobs, search=search, data=data):
            return timed(lambda: search(n_jobs).fit(*data))

        cold = {n_jobs: fit(n_jobs)[0] for n_jobs in (1, 2)}
        warm = [{n_jobs: fit(n_jobs) for n_jobs in (1, 2)} for _ in range(rounds)]
        ratios = [pair[2][0] / pair[1][0] for pair in warm]
        print(
            f"  {name:<15} cold: n_jobs=1 {cold[1]:5.1f} s, n_jobs=2 {cold[2]:5.1f} s, "
            f"ratio {cold[2] / cold[1]:.2f} | "
            f"warm: n_jobs=1 {' '.join(f'{pair[1][0]:.1f}' for pair in warm)} s, n_jobs=2 "
            f"{' '.join(f'{pair[2][0]:.1f}' for pair in warm)} s, "
            f"ratio {' '.join(f'{r:.2f}' for r in ratios)} "
            f"(median {statistics.median(ratios):.2f})"
        )
        if name == "ours":
            last = warm[-1]
            print_scaling_bound(last[1][1], last[2][1], last[1][0])
    print("  target: ours, warm ratio <= 0.58")


def print_scaling_bound(serial, parallel, serial_wall):
    """What two one-thread workers can reach at best, from the per-fit times the searches record."""

    def per_fit(search):
        return (
            search.cv_results_["mean_fit_time"].mean()
            + search.cv_results_["mean_score_time"].mean()
        )

    one, two = per_fit(serial), per_fit(parallel)
    fits = len(serial.cv_results_["params"]) * serial.n_splits_
    best = (fits * two / 2 + parallel.refit_time_) / serial_wall
    print(
        f"    per fit: {one:.2f} s with the process's 2 threads (n_jobs=1), {two:.2f} s with "
        f"1 thread (n_jobs=2 worker): TensorFlow already gets {two / one:.2f}x from the second "
        f"core inside one fit; refit {serial.refit_time_:.1f} s runs once in the parent either "
        f"way; so perfect scaling of the workers gives {best:.2f}"
    )


def plain_scikeras_search(X, y, grid):
    """The same grid with scikeras' KerasClassifier around the same architecture (the
    issue's baseline): floats scaled by hand, TensorFlow's default threads per worker."""
    from scikeras.wrappers import KerasClassifier

    from sklearn_keras_hpo.model.architectures import build_model

    def builder(activation, meta):
        return build_model(
            "cnn",
            meta["X_shape_"][1:],
            meta["n_classes_"],
            activation=activation,
            filters=SMALL_CNN["filters"],
            dense_units=SMALL_CNN["dense_units"],
            dropout=SMALL_CNN["dropout"],
        )

    clf = KerasClassifier(
        builder,
        model__activation="relu",
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        epochs=2,
        batch_size=SMALL_CNN["batch_size"],
        verbose=0,
        random_state=0,
    )
    plain_grid = {
        "optimizer__learning_rate": grid["learning_rate"],
        "model__activation": grid["activation"],
    }

    def search(n_jobs):
        return GridSearchCV(clf, plain_grid, cv=3, n_jobs=n_jobs)

    X_float = (X.reshape(len(X), *X.shape[1:3], -1) / 255.0).astype(np.float32)
    return X_float, y, search


def fixed_cost(X, y, fits=10):
    small_X, small_y = X[:64], y[:64]
    results = {}
    for label, cache in (("reuse", "1"), ("fresh", "0")):
        os.environ["SKHPO_MODEL_CACHE"] = cache
        seconds = [
            timed(lambda: CNNClassifier(**SMALL_CNN, epochs=1).fit(small_X, small_y))[0]
            for _ in range(fits + 1)
        ]
        results[label] = statistics.median(seconds[1:])
    os.environ.pop("SKHPO_MODEL_CACHE")
    print(f"[fixed cost] 1-epoch fit on 64 images, median of {fits} after the first")
    print(
        f"  with traced-model reuse {results['reuse']:.3f} s, "
        f"fresh model each fit {results['fresh']:.3f} s "
        f"(target <= 0.25 s)"
    )


def memory_per_fit(X, y, fits=200):
    """RSS over ``fits`` fits in this process, configurations sampled from the CNN space: a
    new architecture (a new traced graph) nearly every fit, the cache both reusing and evicting."""
    from sklearn.model_selection import ParameterSampler

    from sklearn_keras_hpo import search_space

    process = psutil.Process()
    small_X, small_y = X[:128], y[:128]  # the space's largest batch
    rss = []
    for params in ParameterSampler(search_space("cnn"), n_iter=fits, random_state=0):
        CNNClassifier(**{**params, "epochs": 1, "random_state": 0}).fit(small_X, small_y)
        rss.append(process.memory_info().rss / 2**20)
    slope = np.polyfit(np.arange(20, fits), rss[20:], 1)[0]
    print(f"[memory] {fits} fits in one process, configurations sampled from search_space('cnn')")
    print(
        f"  RSS after fit 20: {rss[19]:.0f} MiB, after fit {fits}: {rss[-1]:.0f} MiB, "
        f"peak {max(rss):.0f} MiB, "
        f"growth {slope:.3f} MiB per fit (least squares over fits 20-{fits}; target < 1)"
    )


def warm_start(X, y, max_epochs=9, factor=3):
    from scipy.stats import loguniform

    space = {"learning_rate": loguniform(3e-4, 3e-2), "activation": ["relu", "tanh"]}
    results = {}
    for warm in (True, False):
        search = HyperbandSearchCV(
            CNNClassifier(**SMALL_CNN),
            space,
            max_epochs=max_epochs,
            factor=factor,
            cv=2,
            random_state=0,
            warm_start=warm,
            refit=False,
        )
        results[warm] = timed(lambda search=search: search.fit(X, y))
    brackets = hyperband_brackets(max_epochs, factor)
    straight = sum(n * r for _, rungs in brackets for n, r in rungs)
    continued = sum(
        n * (r - (rungs[i - 1][1] if i else 0))
        for _, rungs in brackets
        for i, (n, r) in enumerate(rungs)
    )
    (warm_s, warm_search), (cold_s, cold_search) = results[True], results[False]
    print(
        f"[warm start] HyperbandSearchCV max_epochs={max_epochs} factor={factor} cv=2, "
        f"{len(X)} images"
    )
    print(
        f"  warm {warm_s:.1f} s, from scratch {cold_s:.1f} s, ratio {warm_s / cold_s:.2f} "
        "(target <= 0.55);"
        f" epochs trained {continued} vs {straight} (ratio {continued / straight:.2f})"
    )
    print(
        f"  best score warm {warm_search.best_score_:.4f}, "
        f"from scratch {cold_search.best_score_:.4f}"
    )


def warm_start_halving(X, y, max_epochs=16, factor=2):
    """scikit-learn's HalvingRandomSearchCV over epochs: checkpoint_dir (continue) vs none
    (retrain)."""
    import tempfile

    from scipy.stats import loguniform
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    space = {"learning_rate": loguniform(3e-4, 3e-2), "activation": ["relu", "tanh"]}
    results = {}
    for warm in (True, False):
        with tempfile.TemporaryDirectory() as checkpoints:
            clf = CNNClassifier(**SMALL_CNN, checkpoint_dir=checkpoints if warm else None)
            search = HalvingRandomSearchCV(
                clf,
                space,
                resource="epochs",
                min_resources=1,
                max_resources=max_epochs,
                factor=factor,
                n_candidates=max_epochs,
                cv=2,
                random_state=0,
                refit=False,
            )
            results[warm] = timed(lambda search=search: search.fit(X, y))
    (warm_s, warm_search), (cold_s, cold_search) = results[True], results[False]
    rungs = list(zip(warm_search.n_candidates_, warm_search.n_resources_, strict=False))
    straight = sum(n * r for n, r in rungs)
    continued = sum(n * (r - (rungs[i - 1][1] if i else 0)) for i, (n, r) in enumerate(rungs))
    print(
        f"[warm start] HalvingRandomSearchCV resource=epochs 1..{max_epochs} factor={factor} "
        f"{max_epochs} candidates cv=2, {len(X)} images; rungs (candidates, epochs) {rungs}"
    )
    print(
        f"  warm {warm_s:.1f} s, from scratch {cold_s:.1f} s, ratio {warm_s / cold_s:.2f} "
        "(target <= 0.55);"
        f" epochs trained {continued} vs {straight} (ratio {continued / straight:.2f})"
    )
    print(
        f"  best score warm {warm_search.best_score_:.4f}, "
        f"from scratch {cold_search.best_score_:.4f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--only", default="parallel,fixed,memory,warm,halving")
    args = parser.parse_args()
    keras_and_tf()  # TensorFlow imported (quietly) before anything is timed
    name, X, y = data(args.samples)
    print(f"data: {name}, {len(X)} images; {os.cpu_count()} cores")
    steps = {
        "parallel": parallel_scaling,
        "fixed": fixed_cost,
        "memory": memory_per_fit,
        "warm": warm_start,
        "halving": warm_start_halving,
    }
    for step in args.only.split(","):
        steps[step](X, y)


if __name__ == "__main__":
    main()
