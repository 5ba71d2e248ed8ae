"""Real photos at one wall budget: the hand-written Keras CIFAR-10 convnet vs our default estimator.

CIFAR-10 as JPEG files (../shared/data/cifar10_images/{train,test}/<class>/*.jpg): a seeded,
stratified subset of ``--n-train`` training and ``--n-test`` test images, decoded once per
image size (cached to /tmp as .npz). Each system runs in its own fresh process with the same
``--budget`` seconds of training wall time:

- ``handwritten``: the classic Keras CIFAR-10 convnet, Conv(32)x2-pool-drop(.25)-Conv(64)x2-
  pool-drop(.25)-Dense(512)-drop(.5)-softmax, RandomFlip("horizontal") in the model, Adam(1e-3),
  batch 64, uint8 -> [0, 1] in a tf.data map; trained epoch after epoch until a callback
  stops it at the deadline (checked after every batch, so it stops mid-epoch);
- ``ours-<size>``: ``CNNClassifier(random_state=0, epochs=E)`` given only the uint8 arrays
  (plus ``--ours-params``). A 1-epoch fit measures seconds per epoch (``epoch_seconds_``) and
  the set-up around it (both counted in the budget), then a fresh estimator trains
  ``E = max(1, floor((remaining - set-up) / seconds per epoch))`` epochs.

Both clocks start after TensorFlow and Keras are imported and the arrays loaded.

Recorded per system: image size, budget, training wall seconds, epochs done (fractional for
the hand-written net), parameters (``count_params()``), test accuracy, the child's peak RSS
(``ru_maxrss``) and prediction seconds. Prints a table and each ours system's test accuracy
minus the hand-written net's, in points.

    python benchmarks/bench_photos.py                       # 10,000 / 10,000 images, 300 s each
    python benchmarks/bench_photos.py --smoke               # 600 / 500 images, 20 s, 32 px
    python benchmarks/bench_photos.py --systems ours-32,ours-96 \\
        --epochs 12                                         # equal epochs, not time
    python benchmarks/bench_photos.py --sizes 32,96 --budget 600 --systems handwritten,ours-96 \\
        --ours-params '{"flip": "horizontal"}' --json runs/bench_photos.json

Exits 0 with a message when the image folder is absent.
"""

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "cifar10_images"
CACHE = Path("/tmp")


# -- data (parent) --------------------------------------------------------------------------
def subset(paths, labels, n, seed):
    """A stratified, seeded subset of ``n`` of the files (all of them when n >= their count)."""
    if n >= len(paths):
        return paths, labels
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        np.arange(len(paths)), train_size=n, stratify=labels, random_state=seed
    )
    keep = np.sort(keep)
    return paths[keep], labels[keep]


def decode(paths, size):
    from PIL import Image

    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            out[i] = np.asarray(image.convert("RGB").resize((size, size)))
    return out


def prepare(folder, size, n_train, n_test, seed):
    """Path of an .npz of the subset decoded at ``size`` px (decoded once, then cached)."""
    cache = CACHE / f"bench_photos_{size}px_train{n_train}_test{n_test}_seed{seed}.npz"
    if cache.exists():
        return cache
    from sklearn_keras_hpo.data import load_image_folder

    arrays, start = {}, time.perf_counter()
    for split, n in (("train", n_train), ("test", n_test)):
        paths, labels = load_image_folder(folder / split, lazy=True)
        paths, labels = subset(paths, labels, n, seed)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = decode(paths, size), labels
    partial = cache.with_suffix(".partial.npz")
    np.savez(partial, **arrays)
    partial.rename(cache)
    print(
        f"decoded {n_train} + {n_test} images at {size} px in "
        f"{time.perf_counter() - start:.0f} s -> {cache}"
    )
    return cache


# -- the systems (each in its own child process) ----------------------------------------------
def run_handwritten(data, budget, size):
    import keras
    import tensorflow as tf
    from keras import layers

    classes, y_train = np.unique(data["y_train"], return_inverse=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((size, size, 3)),
            layers.RandomFlip("horizontal"),
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
            layers.Dense(len(classes), activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    def scale(x, y):
        return tf.cast(x, tf.float32) / 255.0, y

    train = tf.data.Dataset.from_tensor_slices((data["x_train"], y_train)).shuffle(
        len(y_train), seed=0
    )
    train = (
        train.batch(64).map(scale, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    )

    class Deadline(keras.callbacks.Callback):
        """Stops training once ``time.monotonic()`` passes the deadline; counts the batches."""

        def __init__(self, deadline):
            super().__init__()
            self.deadline, self.batches = deadline, 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            if time.monotonic() >= self.deadline:
                self.model.stop_training = True

    start = time.monotonic()
    deadline = Deadline(start + budget)
    model.fit(train, epochs=10**6, verbose=0, callbacks=[deadline])
    train_s = time.monotonic() - start
    start = time.monotonic()
    test = (
        tf.data.Dataset.from_tensor_slices(data["x_test"]).batch(256).map(lambda x: scale(x, 0)[0])
    )
    predicted = classes[np.argmax(model.predict(test, verbose=0), axis=1)]
    predict_s = time.monotonic() - start
    return {
        "train_s": train_s,
        "epochs": deadline.batches / math.ceil(len(y_train) / 64),
        "params": model.count_params(),
        "accuracy": float(np.mean(predicted == data["y_test"])),
        "predict_s": predict_s,
    }


def run_ours(data, budget, params, epochs=None):
    import keras  # noqa: F401  (loaded before the clock starts, as in run_handwritten)

    from sklearn_keras_hpo import CNNClassifier

    X, y = data["x_train"], data["y_train"]
    probe_s = 0.0
    if epochs is None:  # fill the budget
        start = time.monotonic()
        probe = CNNClassifier(random_state=0, epochs=1, **params).fit(X, y)
        probe_s = time.monotonic() - start
        setup_s = (
            probe_s - probe.epoch_seconds_
        )  # building and tracing: paid again, in part, by the fit
        epochs = max(1, math.floor((budget - probe_s - setup_s) / probe.epoch_seconds_))
        print(
            f"  ours: 1-epoch fit {probe_s:.1f} s ({probe.epoch_seconds_:.1f} s training) "
            f"-> {epochs} epochs",
            file=sys.stderr,
            flush=True,
        )
    clf = CNNClassifier(random_state=0, epochs=epochs, **params)
    start = time.monotonic()
    clf.fit(X, y)
    fit_s = time.monotonic() - start
    start = time.monotonic()
    predicted = clf.predict(data["x_test"])
    predict_s = time.monotonic() - start
    return {
        "train_s": probe_s + fit_s,
        "probe_s": probe_s,
        "epochs_chosen": epochs,
        "epochs": int(getattr(clf, "n_epochs_", epochs)),
        "params": clf.model_.count_params(),
        "accuracy": float(np.mean(predicted == data["y_test"])),
        "predict_s": predict_s,
    }


def child(spec):
    with np.load(spec["data"]) as npz:
        data = {key: npz[key] for key in npz.files}
    if spec["kind"] == "handwritten":
        result = run_handwritten(data, spec["budget"], spec["size"])
    else:
        result = run_ours(data, spec["budget"], spec["ours_params"], spec.get("epochs"))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result), flush=True)


# -- the driver -----------------------------------------------------------------------------
def measure(name, spec):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    print(f"{name}: {spec['size']} px, budget {spec['budget']:g} s ...", flush=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    notes = [line for line in proc.stderr.splitlines() if line.startswith("  ours:")]
    for line in notes:
        print(line)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"{name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}", flush=True)
        return {
            "system": name,
            "size": spec["size"],
            "budget": spec["budget"],
            "error": proc.stderr[-3000:],
        }
    return {"system": name, "size": spec["size"], "budget": spec["budget"], **json.loads(lines[-1])}


def table(results):
    print(
        f"\n{'system':<16} {'px':>4} {'budget s':>8} {'train s':>8} {'epochs':>7} {'params':>10} "
        f"{'test acc':>8} {'RSS MiB':>8} {'predict s':>9}"
    )
    for r in results:
        if "error" in r:
            print(f"{r['system']:<16} {r['size']:>4} {r['budget']:>8g}   failed")
            continue
        print(
            f"{r['system']:<16} {r['size']:>4} {r['budget']:>8g} {r['train_s']:>8.1f} "
            f"{r['epochs']:>7.2f} {r['params']:>10,} {r['accuracy']:>8.4f} "
            f"{r['peak_rss_mib']:>8.0f} {r['predict_s']:>9.2f}"
        )
    done = {r["system"]: r for r in results if "error" not in r}
    for r in done.values():
        if r["system"].startswith("ours-"):
            for ref in dict.fromkeys(["handwritten", f"handwritten-{r['size']}"]):
                if ref in done:
                    diff = 100 * (r["accuracy"] - done[ref]["accuracy"])
                    print(f"{r['system']} - {ref}: {diff:+.1f} points of test accuracy")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DATA, help="folder with train/ and test/ class folders"
    )
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds per system")
    parser.add_argument("--sizes", default="32,96", help="image sizes of the ours-<size> systems")
    parser.add_argument(
        "--handwritten-sizes", default="32", help="image sizes of the hand-written net"
    )
    parser.add_argument("--systems", default=None, help="comma-separated subset (default: all)")
    parser.add_argument("--ours-params", default="{}", help="JSON of extra CNNClassifier params")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="train ours for exactly this many epochs "
        "instead of filling the budget (equal-epoch comparisons across image sizes)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the subsets")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--smoke", action="store_true", help="600 / 500 images, 20 s, 32 px only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    if args.smoke:
        args.n_train, args.n_test, args.budget, args.sizes, args.handwritten_sizes = (
            600,
            500,
            20.0,
            "32",
            "32",
        )
    if not (args.data / "train").is_dir() or not (args.data / "test").is_dir():
        print(f"no CIFAR-10 image folder at {args.data.resolve()} (train/, test/): skipped")
        return
    ours_params = json.loads(args.ours_params)
    systems = {}  # name: (kind, size)
    for size in map(int, args.handwritten_sizes.split(",")):
        systems["handwritten" if size == 32 else f"handwritten-{size}"] = ("handwritten", size)
    for size in map(int, args.sizes.split(",")):
        systems[f"ours-{size}"] = ("ours", size)
    if args.systems:
        chosen = args.systems.split(",")
        unknown = set(chosen) - set(systems)
        if unknown:
            parser.error(f"unknown systems {sorted(unknown)}; these exist: {', '.join(systems)}")
        systems = {name: systems[name] for name in chosen}
    print(
        f"CIFAR-10 JPEGs: {args.n_train} train / {args.n_test} test images "
        f"(stratified, seed {args.seed}); "
        f"budget {args.budget:g} s per system; ours params {ours_params or 'default'}"
    )
    results = []
    for name, (kind, size) in systems.items():
        path = prepare(args.data, size, args.n_train, args.n_test, args.seed)
        spec = {
            "kind": kind,
            "size": size,
            "budget": args.budget,
            "data": str(path),
            "ours_params": ours_params,
            "epochs": args.epochs,
        }
        results.append(
            {**measure(name, spec), **({"ours_params": ours_params} if kind == "ours" else {})}
        )
    table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        settings = {
            key: str(value) if isinstance(value, Path) else value
            for key, value in vars(args).items()
        }
        args.json.write_text(json.dumps({"settings": settings, "results": results}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
