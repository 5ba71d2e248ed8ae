"""Weights, multiply-adds per image and training images/s of the architectures at 32, 96
and 160 px, side by side in one run (random pixels: the cost does not depend on them).

    python benchmarks/bench_architectures.py [--sizes 32 96 160] [--images 1024]

The classic hand-written Keras CIFAR-10 convnet (Conv32x2-pool-Conv64x2-pool-Dense512) is
measured beside them at 32 px, at its batch of 64; ours train at their default batch of 32.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from sklearn_keras_hpo._backend import keras_and_tf
from sklearn_keras_hpo.model import build_model


def multiply_adds(model):
    keras, _ = keras_and_tf()
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width, out = layer.output.shape[1:]
            total += height * width * out * layer.input.shape[-1] * int(np.prod(layer.kernel_size))
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return total


def handwritten():
    keras, _ = keras_and_tf()
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Dropout(0.25),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(512, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def images_per_second(model, size, n_images, batch_size):
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    X = rng.random((n_images, size, size, 3), dtype=np.float32)
    y = rng.integers(0, 10, n_images)
    model.fit(X[:128], y[:128], batch_size=batch_size, epochs=1, verbose=0)  # trace
    started = time.perf_counter()
    model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0)
    return n_images / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 96, 160])
    parser.add_argument("--images", type=int, default=1024)
    args = parser.parse_args()
    rows = [("handwritten", 32, handwritten(), 64)]
    for size in args.sizes:
        rows += [
            (name, size, build_model(name, (size, size, 3), 10), 32) for name in ("convnet", "cnn")
        ]
    print(
        f"{'architecture':12s} {'px':>4s} {'weights':>9s} {'MACs/image':>11s} {'train img/s':>12s}"
    )
    for name, size, model, batch in rows:
        rate = images_per_second(model, size, args.images, batch)
        print(
            f"{name:12s} {size:4d} {model.count_params() / 1e6:8.3f}M "
            f"{multiply_adds(model) / 1e6:10.1f}M {rate:12.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
