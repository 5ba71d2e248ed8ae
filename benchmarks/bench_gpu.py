"""GPU checks: throughput of our fit vs plain Keras, and workers sharing the GPU(s).

Prints, when TensorFlow sees a GPU (exits cleanly with a message when it does not):

1. Each joblib worker's view: pid, the GPU it uses, memory growth on or off
   (on by default; with several GPUs each worker should hold a different one).
2. Training samples/s, median of ``--repeats``: ``CNNClassifier.fit`` vs plain
   ``keras.Model.fit`` on numpy arrays, same model, data, batch size and epochs.
3. GridSearchCV with ``n_jobs`` workers on the GPU(s) (default 2 and 4): wall time,
   and whether every fit finished (no out-of-memory failure).

    python benchmarks/bench_gpu.py [--samples 20000] [--epochs 3] [--repeats 3] \\
        [--n-jobs 2,4] [--cpu]

Data: MNIST 28x28 from ``../shared/data/mnist`` when present, else digits 8x8.
"""

import argparse
import os
import statistics
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo._backend import keras_and_tf
from sklearn_keras_hpo.data.datasets import load_digits_images, load_mnist
from sklearn_keras_hpo.model.architectures import build_model

MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
PARAMS = dict(filters=32, dense_units=128, dropout=0.25, batch_size=128, learning_rate=1e-3)


def data(samples):
    if MNIST.exists():
        X, y = load_mnist(MNIST)
        return "MNIST 28x28", X[:samples], y[:samples]
    X, y = load_digits_images()
    return "digits 8x8 (MNIST absent)", X, y


def worker_gpu_state():
    """(pid, GPUs this process sees, memory growth of each) inside a worker."""
    _, tf = keras_and_tf()
    gpus = tf.config.get_visible_devices("GPU")
    return (
        os.getpid(),
        [gpu.name for gpu in gpus],
        [tf.config.experimental.get_memory_growth(g) for g in gpus],
    )


def print_worker_states(n_jobs):
    states = joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(worker_gpu_state)() for _ in range(4 * n_jobs)
    )
    print(f"[workers] n_jobs={n_jobs}")
    for pid, names, growth in sorted(set((p, tuple(n), tuple(g)) for p, n, g in states)):
        print(f"  pid {pid}: GPUs {list(names)}, memory growth {list(growth)}")


def fit_ours(X, y, epochs):
    CNNClassifier(**PARAMS, epochs=epochs, random_state=0).fit(X, y)


def fit_plain_keras(X, y, epochs):
    keras, _ = keras_and_tf()
    keras.utils.set_random_seed(0)
    model = build_model("cnn", (*X.shape[1:], 1), 10, filters=32, dense_units=128, dropout=0.25)
    model.compile(
        optimizer=keras.optimizers.Adam(PARAMS["learning_rate"]),
        loss="sparse_categorical_crossentropy",
    )
    model.fit(
        (X / 255.0).astype(np.float32)[..., None],
        y,
        batch_size=PARAMS["batch_size"],
        epochs=epochs,
        verbose=0,
    )


def throughput(X, y, epochs, repeats):
    fit_ours(X[:256], y[:256], 1)  # start-up and first tracing outside the timing
    fit_plain_keras(X[:256], y[:256], 1)
    seconds = {"ours": [], "plain Keras": []}
    for _ in range(repeats):  # alternating, so machine noise hits both
        for name, fit in (("ours", fit_ours), ("plain Keras", fit_plain_keras)):
            start = time.perf_counter()
            fit(X, y, epochs)
            seconds[name].append(time.perf_counter() - start)
    rates = {name: len(X) * epochs / statistics.median(values) for name, values in seconds.items()}
    print(
        f"[throughput] {len(X)} images x {epochs} epochs, batch {PARAMS['batch_size']}, "
        f"median of {repeats}"
    )
    print(
        f"  ours {rates['ours']:.0f} samples/s, plain Keras {rates['plain Keras']:.0f} samples/s, "
        f"ratio {rates['ours'] / rates['plain Keras']:.2f}"
    )


def shared_gpu_search(X, y, n_jobs):
    grid = {"learning_rate": [1e-3, 3e-3], "activation": ["relu", "tanh"]}
    search = GridSearchCV(
        CNNClassifier(**PARAMS, epochs=2, random_state=0),
        grid,
        cv=3,
        n_jobs=n_jobs,
        error_score=np.nan,
    )
    start = time.perf_counter()
    search.fit(X, y)
    failed = int(np.isnan(search.cv_results_["mean_test_score"]).sum())
    print(
        f"[search] GridSearchCV 4 x 3 folds, n_jobs={n_jobs}: {time.perf_counter() - start:.1f} s, "
        f"{failed} failed candidates, best {search.best_score_:.4f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", default="2,4")
    parser.add_argument(
        "--cpu", action="store_true", help="measure on the CPU anyway (checks this script)"
    )
    args = parser.parse_args()
    _, tf = keras_and_tf()
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus and not args.cpu:
        print("No GPU visible to TensorFlow: nothing to measure (run this on a GPU machine).")
        return
    name, X, y = data(args.samples)
    print(f"data: {name}, {len(X)} images; GPUs: {[gpu.name for gpu in gpus]}")
    throughput(X, y, args.epochs, args.repeats)
    for n_jobs in (int(n) for n in args.n_jobs.split(",")):
        print_worker_states(n_jobs)
        shared_gpu_search(X, y, n_jobs)


if __name__ == "__main__":
    main()
