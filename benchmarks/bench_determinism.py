"""How far a fit's predictions move with TensorFlow's thread count, in default and in
deterministic mode (``SKHPO_DETERMINISTIC=1``), and what deterministic mode costs.

Each (mode, threads) runs in a fresh process: ``TF_NUM_INTRAOP_THREADS`` 1, 2 or unset
(TensorFlow's default: every core), plus the same fits in a loky worker
(``n_jobs=2``: joblib gives it ``cores // 2`` threads). Every process fits every
architecture of the registry with filters 16 and 64, augmentation off and on, for
``--epochs`` epochs on the first ``StratifiedKFold(3)`` training fold of scikit-learn's
digits, and predicts the held-out fold. The table is the largest ``predict_proba``
difference from the 1-thread process, per architecture, in each mode; then seconds per
epoch, deterministic / default, for one fit in the parent at the default thread count.

    python benchmarks/bench_determinism.py            # about 10 minutes on 2 cores
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ARCHITECTURES = ("cnn", "mlp", "vgg", "resnet")
SETTINGS = {
    "1": {"TF_NUM_INTRAOP_THREADS": "1"},
    "2": {"TF_NUM_INTRAOP_THREADS": "2"},
    "default": {},
}


def configurations():
    for architecture in ARCHITECTURES:
        for filters in (16, 64):
            for rotation in (0.0, 15.0):
                yield {"architecture": architecture, "filters": filters, "rotation": rotation}


def fit_all(epochs):
    """Fit every configuration here; return {name: (predict_proba, seconds per epoch)}."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold

    from sklearn_keras_hpo import CNNClassifier

    X, y = load_digits(return_X_y=True)
    train, test = next(StratifiedKFold(3).split(X, y))
    out = {}
    for config in configurations():
        clf = CNNClassifier(
            image_shape=(8, 8),
            dense_units=32,
            dropout=0.2,
            n_blocks=2,
            epochs=epochs,
            random_state=0,
            **config,
        )
        start = time.perf_counter()
        clf.fit(X[train] / 16, y[train])
        seconds = (time.perf_counter() - start) / epochs
        out[json.dumps(config, sort_keys=True)] = (
            clf.predict_proba(X[test] / 16).tolist(),
            seconds,
        )
    return out


def worker(path, epochs, in_loky):
    if in_loky:
        import joblib

        out = joblib.Parallel(n_jobs=2)([joblib.delayed(fit_all)(epochs)])[0]
    else:
        out = fit_all(epochs)
    with open(path, "w") as file:
        json.dump(out, file)


def run(mode, setting, epochs, directory, in_loky=False):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_NUM_INTRAOP_THREADS", "SKHPO_DETERMINISTIC")
    }
    env.update(
        SETTINGS.get(setting, {}), SKHPO_DETERMINISTIC="1" if mode == "deterministic" else "0"
    )
    path = os.path.join(directory, f"{mode}-{setting}.json")
    args = [sys.executable, __file__, "--worker", path, "--epochs", str(epochs)] + (
        ["--loky"] if in_loky else []
    )
    subprocess.run(args, env=env, check=True)
    with open(path) as file:
        return {name: (np.array(p), s) for name, (p, s) in json.load(file).items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--worker")
    parser.add_argument("--loky", action="store_true")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.epochs, args.loky)
    runs = {}
    with tempfile.TemporaryDirectory() as directory:
        for mode in ("default", "deterministic"):
            for setting in ("1", "2", "default"):
                runs[mode, setting] = run(mode, setting, args.epochs, directory)
            runs[mode, "loky"] = run(mode, "loky", args.epochs, directory, in_loky=True)
    print(
        f"max |predict_proba - the 1-thread process's|, {args.epochs} epochs, filters 16/64, "
        "rotation 0/15"
    )
    print(f"{'architecture':12} {'mode':14} {'2 threads':>10} {'default':>10} {'loky worker':>12}")
    for architecture in ARCHITECTURES:
        for mode in ("default", "deterministic"):
            base = runs[mode, "1"]
            names = [n for n in base if json.loads(n)["architecture"] == architecture]
            cells = [
                max(np.abs(runs[mode, s][n][0] - base[n][0]).max() for n in names)
                for s in ("2", "default", "loky")
            ]
            print(
                f"{architecture:12} {mode:14} "
                + " ".join(f"{c:>10.2e}" for c in cells[:2])
                + f" {cells[2]:>12.2e}"
            )
    default, deterministic = runs["default", "default"], runs["deterministic", "default"]
    ratios = [deterministic[n][1] / default[n][1] for n in default]
    print(
        "seconds per epoch, deterministic / default (parent, default threads): "
        f"median {np.median(ratios):.2f}, "
        f"range {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} fits"
    )


if __name__ == "__main__":
    main()
