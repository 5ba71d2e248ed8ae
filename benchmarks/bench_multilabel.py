"""Multi-label MNIST: one shared network against one binary network per label.

Each MNIST digit gets three labels: odd, at least 5, has a loop (0, 6, 8, 9). A seeded
random subset of ``--n-train`` official training images (1,500 by default) is the
training set; the first ``--n-test`` official test images (5,000 by default; 10,000 for all)
the test set.
Measured side by side in one run, each on the same images:

- ``default``: ``CNNClassifier(random_state=0)`` untuned, one network with 3 sigmoid units;
- ``tuned``: ``AsyncHalvingSearchCV`` over learning rate, dropout and filters (``--candidates``
  configurations, rungs up to ``--max-epochs`` epochs, 2-fold, ``f1_micro``), the best refitted;
- ``per-label``: scikit-learn's ``MultiOutputClassifier(CNNClassifier(random_state=0))``,
  three separate binary default networks (the baseline a user builds today).

Printed per system: micro-F1 and subset accuracy on the test images, fit seconds, and the
fit-time ratio of each system to the per-label baseline (one shared network should match
its F1 in a fraction of its time).

    flock /tmp/coord/bench.lock .venv/bin/python benchmarks/bench_multilabel.py [--n-train 1500]

Exits 0 with a message when the MNIST folder is absent.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "mnist"
LABELS = ("odd", ">=5", "loop")


def digit_labels(y):
    """{odd, >= 5, has a loop} of each digit as a 0/1 matrix."""
    return np.column_stack([y % 2 == 1, y >= 5, np.isin(y, [0, 6, 8, 9])]).astype(np.int64)


def load(folder, n_train, n_test, seed):
    from sklearn_keras_hpo.data.datasets import load_mnist

    X, y = load_mnist(folder, "train")
    keep = np.sort(np.random.default_rng(seed).permutation(len(X))[:n_train])
    X_test, y_test = load_mnist(folder, "test")
    return X[keep], digit_labels(y[keep]), X_test[:n_test], digit_labels(y_test[:n_test])


def scores(Y_true, Y_pred):
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "micro_f1": f1_score(Y_true, Y_pred, average="micro"),
        "subset_accuracy": accuracy_score(Y_true, Y_pred),
        "per_label_f1": f1_score(Y_true, Y_pred, average=None).round(4).tolist(),
    }


def timed_fit(estimator, X, Y):
    started = time.perf_counter()
    estimator.fit(X, Y)
    return estimator, time.perf_counter() - started


def tuned_search(args):
    from scipy.stats import loguniform

    from sklearn_keras_hpo import AsyncHalvingSearchCV, CNNClassifier

    space = {
        "learning_rate": loguniform(3e-4, 3e-3),
        "dropout": [0.1, 0.25, 0.4],
        "filters": [16, 32],
    }
    estimator = CNNClassifier(
        random_state=0, checkpoint_dir=tempfile.mkdtemp(prefix="bench_multilabel_")
    )
    return AsyncHalvingSearchCV(
        estimator,
        space,
        n_candidates=args.candidates,
        max_epochs=args.max_epochs,
        factor=3,
        cv=2,
        scoring="f1_micro",
        random_state=0,
    )


def _plain(params):
    return {k: round(float(v), 6) if isinstance(v, float) else v for k, v in params.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--n-train", type=int, default=1500)
    parser.add_argument("--n-test", type=int, default=5000)
    parser.add_argument("--candidates", type=int, default=9)
    parser.add_argument("--max-epochs", type=int, default=9)
    parser.add_argument("--systems", default="default,tuned,per-label")
    args = parser.parse_args()
    if (
        not (args.data / "train-images-idx3-ubyte.gz").exists()
        and not (args.data / "train-images-idx3-ubyte").exists()
    ):
        print(f"no MNIST IDX files at {args.data.resolve()}: skipped")
        return 0
    from sklearn.multioutput import MultiOutputClassifier

    from sklearn_keras_hpo import CNNClassifier

    X, Y, X_test, Y_test = load(args.data, args.n_train, args.n_test, seed=0)
    print(
        f"MNIST multi-label {LABELS}: {len(X)} training images "
        f"(positives {Y.sum(axis=0).tolist()}), "
        f"{len(X_test)} official test images",
        flush=True,
    )
    systems = {
        "default": lambda: CNNClassifier(random_state=0),
        "tuned": lambda: tuned_search(args),
        "per-label": lambda: MultiOutputClassifier(CNNClassifier(random_state=0)),
    }
    results, started = {}, time.perf_counter()
    for name in args.systems.split(","):
        fitted, seconds = timed_fit(systems[name](), X, Y)
        results[name] = {"fit_s": seconds, **scores(Y_test, fitted.predict(X_test))}
        extra = f"  best {_plain(fitted.best_params_)}" if name == "tuned" else ""
        print(
            f"{name:10s} micro-F1 {results[name]['micro_f1']:.4f}  subset accuracy "
            f"{results[name]['subset_accuracy']:.4f}  "
            f"per-label F1 {results[name]['per_label_f1']}  "
            f"fit {seconds:.1f} s{extra}",
            flush=True,
        )
    if "per-label" in results:
        base = results["per-label"]
        for name, result in results.items():
            if name != "per-label":
                print(
                    f"{name} vs per-label: fit time ratio "
                    f"{result['fit_s'] / base['fit_s']:.2f}, micro-F1 "
                    f"{result['micro_f1'] - base['micro_f1']:+.4f}, subset accuracy "
                    f"{result['subset_accuracy'] - base['subset_accuracy']:+.4f}"
                )
    print(f"whole run {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
