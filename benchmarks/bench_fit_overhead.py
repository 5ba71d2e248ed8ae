"""Our ``CNNClassifier.fit`` vs plain ``keras.Model.fit`` on numpy arrays.

Same model (built by the same builder, same seed), same data, optimizer, batch
size and epochs; the two are timed alternately in one process, so machine noise
hits both. Prints per-dataset median times, the time ratio (target <= 0.85) and
held-out accuracy of each.

    python benchmarks/bench_fit_overhead.py [--repeats 3] [--epochs 5]

Uses scikit-learn's digits (8x8) always and, when ``../shared/data/mnist`` is
present, a 28x28 MNIST subset.
"""

import argparse
import gzip
import statistics
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo._backend import keras_and_tf
from sklearn_keras_hpo.model.architectures import build_model

MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
PARAMS = dict(filters=32, dense_units=128, dropout=0.25, batch_size=32, learning_rate=1e-3)


def datasets(n_mnist):
    digits = load_digits()
    yield "digits 8x8", digits.images.astype(np.float32) / 16, digits.target
    images, labels = MNIST / "train-images-idx3-ubyte.gz", MNIST / "train-labels-idx1-ubyte.gz"
    if images.exists() and labels.exists():
        X = np.frombuffer(gzip.open(images).read(), np.uint8, offset=16).reshape(-1, 28, 28)
        y = np.frombuffer(gzip.open(labels).read(), np.uint8, offset=8)
        yield f"MNIST 28x28 ({n_mnist})", X[:n_mnist].astype(np.float32) / 255, y[:n_mnist]
    else:
        print(f"(MNIST not found at {MNIST}: skipping the 28x28 case)")


def fit_ours(X, y, epochs):
    return CNNClassifier(**PARAMS, epochs=epochs, random_state=0).fit(X, y)


def fit_plain_keras(X, y, epochs):
    keras, _ = keras_and_tf()
    keras.utils.set_random_seed(0)
    model = build_model("cnn", (*X.shape[1:], 1), 10, filters=32, dense_units=128, dropout=0.25)
    model.compile(
        optimizer=keras.optimizers.Adam(PARAMS["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(X[..., None], y, batch_size=PARAMS["batch_size"], epochs=epochs, verbose=0)
    return model


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--mnist-samples", type=int, default=4000)
    args = parser.parse_args()
    keras_and_tf()  # import outside the timed region
    print(f"{'data':<22}{'ours s':>9}{'keras s':>9}{'ratio':>8}{'acc ours':>10}{'acc keras':>10}")
    for name, X, y in datasets(args.mnist_samples):
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        fit_ours(X_train[:64], y_train[:64], 1)  # warm TensorFlow's one-off start-up
        ours, plain, acc_ours, acc_plain = [], [], [], []
        for _ in range(args.repeats):
            seconds, clf = timed(fit_ours, X_train, y_train, args.epochs)
            ours.append(seconds)
            acc_ours.append(clf.score(X_test, y_test))
            seconds, model = timed(fit_plain_keras, X_train, y_train, args.epochs)
            plain.append(seconds)
            proba = model.predict(X_test[..., None], verbose=0)
            acc_plain.append(float(np.mean(np.argmax(proba, axis=1) == y_test)))
        ratio = statistics.median(o / p for o, p in zip(ours, plain, strict=False))
        print(
            f"{name:<22}{statistics.median(ours):9.2f}{statistics.median(plain):9.2f}"
            f"{ratio:8.2f}{statistics.mean(acc_ours):10.3f}{statistics.mean(acc_plain):10.3f}"
        )


if __name__ == "__main__":
    main()
