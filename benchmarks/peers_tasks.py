"""The three tasks of ``bench_peers.py``: their data, their hand-written Keras nets, and the
Keras model every peer builds from a configuration of our default space.

- ``fashion``: Fashion-MNIST (IDX files, ``load_mnist``), the first 10,000 training images,
  all 10,000 test images; 10 minutes.
- ``cifar10``: CIFAR-10 from the JPEG folder (``load_image_folder`` through
  ``bench_photos.prepare``: a stratified, seeded subset of 10,000 training images at 32 px,
  RGB, cached in /tmp), all 10,000 test JPEGs; 10 minutes.
- ``mnist27``: MNIST 2s vs 7s (``load_mnist``): all 12,223 training images of the two
  classes and the 2,060 official test images of those classes (MNIST's test set has no
  more of them); 15 minutes.

Hand-written nets, trained on all training images until the budget is spent (checked after
every batch, so they stop mid-epoch): fashion and mnist27 the classic small Keras MNIST
convnet (keras.io "Simple MNIST convnet": Conv32-pool-Conv64-pool-Flatten-Dropout(.5)-
softmax, Adam 1e-3, batch 128); cifar10 ``bench_photos.run_handwritten`` itself (Conv32x2-
pool-Conv64x2-pool-Dense512 with dropout, Adam 1e-3, batch 64, horizontal flips).
"""

import contextlib
import math
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"
# test images of the best-so-far curves (all of them when the test set is not much larger)
N_CURVE = 2_000
TASKS = {
    "fashion": dict(
        title="Fashion-MNIST",
        data=SHARED / "fashion_mnist",
        n_train=10_000,
        budget=10.0,
        max_epochs=9,
    ),
    "cifar10": dict(
        title="CIFAR-10 JPEGs, RGB 32 px",
        data=SHARED / "cifar10_images",
        n_train=10_000,
        budget=10.0,
        max_epochs=9,
    ),
    "mnist27": dict(
        title="MNIST 2s vs 7s", data=SHARED / "mnist", n_train=None, budget=15.0, max_epochs=9
    ),
}
SMOKE = dict(
    n_train=600, n_test=1_000, budget=40 / 60, max_epochs=3, n_jobs=1
)  # one worker: no start-up of two
BUILDER = (
    "filters",
    "n_blocks",
    "residual",
    "batch_norm",
    "activation",
    "kernel_initializer",
    "dropout",
)
AUGMENT = ("translation", "zoom", "flip")


def data_present(task):
    path = TASKS[task]["data"]
    return (
        (path / "train").is_dir() and (path / "test").is_dir()
        if task == "cifar10"
        else path.is_dir()
    )


# -- data ---------------------------------------------------------------------------------------
def load_task(task, n_train=None, n_test=None, seed=0):
    """``X, y, X_test, y_test, classes``: uint8 images ((n, 28, 28) or (n, 32, 32, 3)) and
    int64 class codes (indices into ``classes``). ``n_train``/``n_test`` None: the task's own."""
    spec = TASKS[task]
    n_train = n_train or spec["n_train"]
    if task == "cifar10":
        import bench_photos

        with np.load(
            bench_photos.prepare(spec["data"], 32, n_train, n_test or 10_000, seed)
        ) as npz:
            X, y, X_test, y_test = (npz[key] for key in ("x_train", "y_train", "x_test", "y_test"))
    else:
        from sklearn_keras_hpo.data import load_mnist

        (X, y), (X_test, y_test) = load_mnist(spec["data"]), load_mnist(spec["data"], "test")
        if task == "mnist27":
            X, y = X[np.isin(y, (2, 7))], y[np.isin(y, (2, 7))]
            X_test, y_test = X_test[np.isin(y_test, (2, 7))], y_test[np.isin(y_test, (2, 7))]
        if n_train and n_train < len(
            X
        ):  # Fashion-MNIST: the first n, as before; 2-vs-7: stratified
            X, y = (X[:n_train], y[:n_train]) if task == "fashion" else _subset(X, y, n_train, seed)
        if n_test and n_test < len(X_test):
            X_test, y_test = _subset(X_test, y_test, n_test, seed)
    classes = np.unique(y)
    codes = lambda labels: np.searchsorted(classes, labels).astype(np.int64)  # noqa: E731
    return X, codes(y), X_test, codes(y_test), classes


def _subset(X, y, n, seed):
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    keep = np.sort(keep)
    return X[keep], y[keep]


def curve_rows(y_test, seed=0):
    """Indices of the test images the curves are measured on: a stratified seeded subset of
    ``N_CURVE``, or all of them when there are at most 1.25 x as many (2-vs-7's 2,060)."""
    if len(y_test) <= 1.25 * N_CURVE:
        return np.arange(len(y_test))
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        np.arange(len(y_test)), train_size=N_CURVE, stratify=y_test, random_state=seed
    )
    return np.sort(keep)


def as_float(X):
    """Images as the Keras peers take them: float32 in [0, 1], with a channel axis."""
    X = X.astype(np.float32) / 255.0
    return X[..., None] if X.ndim == 3 else X


# -- the model every peer builds ------------------------------------------------------------------
def peer_model(params, input_shape, n_classes, seed=0):
    """Uncompiled Keras model of what ``CNNClassifier(**params)`` builds: the augmentation
    layers (``translation``, ``zoom``, ``flip``, from the library's own factories), then the
    registered architecture with the builder's parameters. The learning-rate schedule is
    written on the model (``schedule_spec``) for ``EpochSchedule``."""
    from sklearn_keras_hpo._backend import keras_and_tf
    from sklearn_keras_hpo.model.architectures import build_model
    from sklearn_keras_hpo.model.augmentation import augmentation_layers

    keras, _ = keras_and_tf()
    inputs = keras.Input(input_shape)
    x = inputs
    augment = {name: params[name] for name in AUGMENT if name in params}
    for layer in augmentation_layers(augment, channels=input_shape[-1], seed=seed):
        x = layer(x)
    net = build_model(
        params.get("architecture", "cnn"),
        input_shape,
        n_classes,
        **{name: params[name] for name in BUILDER if name in params},
    )
    model = keras.Model(inputs, net(x))
    model.schedule_spec = (
        f"{params.get('lr_schedule', 'constant')}:{int(params.get('warmup_epochs', 0))}"
    )
    return model


def compile_peer(model, learning_rate, weight_decay):
    """Adam with decoupled weight decay, as ``optimizer="adam", weight_decay=...`` compiles."""
    from sklearn_keras_hpo._backend import keras_and_tf

    keras, _ = keras_and_tf()
    optimizer = keras.optimizers.Adam(learning_rate, weight_decay=weight_decay or None)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def epoch_schedule():
    """A Keras callback that applies the model's ``schedule_spec`` (``lr_schedule`` and
    ``warmup_epochs`` through the library's ``schedule_function``) over the fit's epochs,
    from the optimizer's initial rate; epochs are absolute, so a fit continued with
    ``initial_epoch`` sees the rates of a straight run of the same length."""
    from sklearn_keras_hpo._backend import keras_and_tf
    from sklearn_keras_hpo.model.schedules import schedule_function

    keras, _ = keras_and_tf()

    class EpochSchedule(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            name, warmup = getattr(self.model, "schedule_spec", "constant:0").split(":")
            lr0 = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            self.rate = schedule_function(
                name, lr0, epochs=self.params["epochs"], warmup_epochs=int(warmup)
            )

        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.learning_rate = self.rate(epoch)

    return EpochSchedule()


# -- the default space as the peers' APIs write it ---------------------------------------------
def kt_params(hp, specs):
    """keras-tuner's values of ``specs``: choices written as strings (``hp.Choice`` takes no
    None and returns False/True as 0/1) and read back; one-value choices fixed."""
    values = {}
    for name, (kind, *spec) in specs.items():
        if kind == "cat" and len(spec[0]) == 1:
            values[name] = spec[0][0]
        elif kind == "cat":
            choices = {str(choice): choice for choice in spec[0]}
            values[name] = choices[hp.Choice(name, list(choices))]
        elif kind == "int":
            values[name] = hp.Int(name, *spec)
        else:
            values[name] = hp.Float(name, *spec, sampling="log" if kind == "log" else "linear")
    return values


def suggest(trial, name, kind, *spec):
    """Optuna's value of one spec of the space."""
    if kind == "cat":
        return trial.suggest_categorical(name, spec[0])
    if kind == "int":
        return trial.suggest_int(name, *spec)
    return trial.suggest_float(name, *spec, log=kind == "log")


# -- the hand-written nets ------------------------------------------------------------------------
def epoch_curve(keras, X_curve, y_curve, points):
    """A callback appending ``[minutes since the fit began, accuracy on the curve images]``
    after every epoch (its prediction time counts in the budget, as the searches' does)."""

    class EpochCurve(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            predicted = np.argmax(self.model.predict(X_curve, verbose=0, batch_size=256), axis=1)
            points.append(
                [(time.monotonic() - self.start) / 60, float(np.mean(predicted == y_curve))]
            )

    return EpochCurve()


@contextlib.contextmanager
def extra_callback(keras, callback):
    """``keras.Model.fit`` with ``callback`` added: the per-epoch curve of a training loop
    that is reused by import (``bench_photos.run_handwritten``) rather than copied."""
    fit = keras.Model.fit

    def fit_with(self, *args, callbacks=None, **kwargs):
        return fit(self, *args, callbacks=[*(callbacks or []), callback], **kwargs)

    keras.Model.fit = fit_with
    try:
        yield
    finally:
        keras.Model.fit = fit


def run_handwritten(task, X, y, X_test, y_test, curve, budget):
    """Train the task's hand-written net on all of ``X`` for ``budget`` seconds; its test
    accuracy, epochs, weights and per-epoch curve."""
    import keras

    points = []
    callback = epoch_curve(
        keras,
        as_float(curve[0]) if task != "cifar10" else curve[0].astype(np.float32) / 255,
        curve[1],
        points,
    )
    if task == "cifar10":
        import bench_photos

        data = {"x_train": X, "y_train": y, "x_test": X_test, "y_test": y_test}
        with extra_callback(keras, callback):
            result = bench_photos.run_handwritten(data, budget, X.shape[1])
        return {
            "test_accuracy": result["accuracy"],
            "epochs": result["epochs"],
            "weights": result["params"],
            "train_s": result["train_s"],
            "curve": points,
        }
    return {**mnist_convnet_for(X, y, X_test, y_test, budget, [callback]), "curve": points}


def mnist_convnet_for(X, y, X_test, y_test, budget, callbacks):
    """keras.io's "Simple MNIST convnet", trained until ``budget`` seconds are spent."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    n_classes = int(max(y.max(), y_test.max())) + 1
    model = keras.Sequential(
        [
            keras.Input((*X.shape[1:3], 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    deadline = _deadline(keras, time.monotonic() + budget)
    start = time.monotonic()
    model.fit(
        as_float(X), y, batch_size=128, epochs=10**6, verbose=0, callbacks=[deadline, *callbacks]
    )
    train_s = time.monotonic() - start
    predicted = np.argmax(model.predict(as_float(X_test), verbose=0, batch_size=256), axis=1)
    return {
        "test_accuracy": float(np.mean(predicted == y_test)),
        "epochs": deadline.batches / math.ceil(len(y) / 128),
        "weights": model.count_params(),
        "train_s": train_s,
    }


def _deadline(keras, deadline):
    class Deadline(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            if time.monotonic() >= deadline:
                self.model.stop_training = True

    return Deadline()
