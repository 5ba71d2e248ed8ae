"""Epoch time with online augmentation / without, 28x28 MNIST, batch 128.

Times a few epochs of the same CNNClassifier with and without augmentation,
alternating in one process, and prints the median per-epoch ratios (target for
rotation + translation + zoom: <= 1.3) for geometric transforms, MixUp and CutMix.

    python benchmarks/bench_augmentation.py [--samples 10000] [--epochs 3] [--repeats 2]

Needs ../shared/data/mnist; exits cleanly without it.
"""

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo._backend import keras_and_tf

MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
CASES = {
    "rotation+translation+zoom": dict(rotation=10.0, translation=0.1, zoom=0.1),
    "mixup": dict(mixup=0.2),
    "cutmix": dict(cutmix=1.0),
}


class EpochTimer:
    """Keras callback recording wall time per epoch (after the first, which traces)."""

    def __new__(cls):
        keras, _ = keras_and_tf()  # quiet import

        class _Timer(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._start)

        return _Timer()


def load_mnist(samples):
    images, labels = MNIST / "train-images-idx3-ubyte.gz", MNIST / "train-labels-idx1-ubyte.gz"
    if not (images.exists() and labels.exists()):
        print(f"MNIST not found at {MNIST}: nothing to measure.")
        sys.exit(0)
    X = np.frombuffer(gzip.open(images).read(), np.uint8, offset=16).reshape(-1, 28, 28)
    y = np.frombuffer(gzip.open(labels).read(), np.uint8, offset=8)
    return X[:samples], y[:samples]


def epoch_seconds(X, y, epochs, **augmentation):
    timer = EpochTimer()
    clf = CNNClassifier(
        batch_size=128, epochs=epochs, random_state=0, callbacks=[timer], **augmentation
    )
    clf.fit(X, y)
    return statistics.median(timer.seconds[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    X, y = load_mnist(args.samples)
    print(f"MNIST {len(X)} images 28x28, batch 128, median epoch time after the first")
    print(f"{'augmentation':<28}{'with s':>9}{'without s':>11}{'ratio':>8}")
    for name, augmentation in CASES.items():
        ratios, with_aug, without = [], [], []
        for _ in range(args.repeats):
            without.append(epoch_seconds(X, y, args.epochs))
            with_aug.append(epoch_seconds(X, y, args.epochs, **augmentation))
            ratios.append(with_aug[-1] / without[-1])
        print(
            f"{name:<28}{statistics.median(with_aug):9.2f}{statistics.median(without):11.2f}"
            f"{statistics.median(ratios):8.2f}"
        )


if __name__ == "__main__":
    main()
