"""The cost of experiment tracking: a 30-candidate HyperbandSearchCV on 8x8 digits, logged
(MLflow into a SQLite store, and TensorBoard with ``--tensorboard``) and not logged, side
by side in one process, interleaved (plain, logged, logged, plain, ...) so that the load of
a shared machine falls on both alike. Prints each wall time, the means and the ratio
(target: logging adds < 3 % of the search's wall time).

The one-time costs are printed apart: importing MLflow, and creating a new SQLite store
(MLflow's schema migrations), which a project pays once, not per search. The timed
logged searches write into a store that exists, in a process that imported MLflow.

    python benchmarks/bench_tracking.py [--repeats 2] [--tensorboard]

Run it under the shared lock:
``flock /tmp/coord/bench.lock .venv/bin/python benchmarks/bench_tracking.py``.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import statistics
import tempfile
import time
from pathlib import Path

from sklearn.datasets import load_digits

from sklearn_keras_hpo import CNNClassifier, HyperbandSearchCV
from sklearn_keras_hpo.search import hyperband_brackets

MAX_EPOCHS, FACTOR, ITERATIONS = 4, 2, 3  # 10 candidates per iteration: 30
SPACE = {
    "dropout": [0.0, 0.1, 0.2, 0.3],
    "learning_rate": [0.003, 0.01, 0.03],
    "filters": [4, 8],
    "dense_units": [16, 32],
}


def search(log_to=None):
    estimator = CNNClassifier(
        image_shape=(8, 8), batch_size=32, validation_fraction=0.2, random_state=0
    )
    return HyperbandSearchCV(
        estimator,
        SPACE,
        max_epochs=MAX_EPOCHS,
        factor=FACTOR,
        n_iterations=ITERATIONS,
        cv=2,
        random_state=0,
        points_to_evaluate=[],
        log_to=log_to,
    )


def timed(log_to, X, y):
    started = time.perf_counter()
    fitted = search(log_to).fit(X, y)
    return time.perf_counter() - started, fitted


INSIDE = {
    "seconds": 0.0
}  # wall time spent in the logger's hooks, in the process running the search


def clock_the_logger():
    """Time every call into ``SearchLogger``'s hooks: the search waits for them, so their sum
    is what logging adds there, measured directly rather than as the difference of two
    noisy wall times (the workers' part, keeping each epoch's metrics, is in the ratio)."""
    from sklearn_keras_hpo.tracking.logger import SearchLogger

    for name in ("search_started", "fit_finished", "search_ended", "log_artifact"):
        original = getattr(SearchLogger, name)

        def clocked(self, *args, _original=original, **kwargs):
            started = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                INSIDE["seconds"] += time.perf_counter() - started

        setattr(SearchLogger, name, clocked)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="timed searches of each kind")
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--tensorboard", action="store_true", help="log TensorBoard too")
    args = parser.parse_args()
    n_candidates = ITERATIONS * sum(
        rungs[0][0] for _, rungs in hyperband_brackets(MAX_EPOCHS, FACTOR)
    )
    X, y = load_digits(return_X_y=True)
    X, y = X[: args.samples] / 16.0, y[: args.samples]
    folder = Path(tempfile.mkdtemp(prefix="bench-tracking-"))
    os.chdir(folder)  # MLflow's local artifact store goes here

    started = time.perf_counter()
    from mlflow.tracking import MlflowClient

    import_seconds = time.perf_counter() - started
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    started = time.perf_counter()
    MlflowClient(uri).search_experiments()
    store_seconds = time.perf_counter() - started
    print(f"one-time: import mlflow {import_seconds:.1f} s, new SQLite store {store_seconds:.1f} s")

    search(None).set_params(n_iterations=1).fit(X, y)  # warm-up: TensorFlow, tracing
    clock_the_logger()
    walls = {"plain": [], "logged": []}
    order = ["plain", "logged", "logged", "plain"] * ((args.repeats + 1) // 2)
    for i, kind in enumerate(order[: 2 * args.repeats]):
        log_to = None
        if kind == "logged":
            log_to = {"tracking_uri": uri, "experiment": f"bench-{i}"}
            if args.tensorboard:
                log_to["tensorboard_dir"] = str(folder / f"tb-{i}")
        INSIDE["seconds"] = 0.0
        wall, fitted = timed(log_to, X, y)
        n_rows = len(fitted.cv_results_["params"])
        walls[kind].append(wall)
        inside = (
            f", {INSIDE['seconds']:.2f} s in the logger ({100 * INSIDE['seconds'] / wall:.1f} %)"
            if log_to
            else ""
        )
        print(
            f"{kind:>6}: {wall:7.1f} s  ({n_candidates} candidates, {n_rows} rows, "
            f"best {fitted.best_score_:.3f}){inside}"
        )
    plain, logged = statistics.mean(walls["plain"]), statistics.mean(walls["logged"])
    what = "MLflow + TensorBoard" if args.tensorboard else "MLflow"
    print(
        f"mean plain {plain:.1f} s, logged ({what}) {logged:.1f} s: "
        f"logged / plain = {logged / plain:.3f} "
        f"(overhead {100 * (logged / plain - 1):+.1f} %; target < +3 %)"
    )


if __name__ == "__main__":
    main()
