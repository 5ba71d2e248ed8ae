"""Real-size images: our fit vs plain Keras on a uint8 tf.data pipeline, time and peak RSS.

Each measurement runs in a fresh process that loads the same uint8 array (or folder of
PNG files) and trains the same model (our "cnn" builder) for the same epochs:

- ours: ``CNNClassifier(...).fit(X, y)`` (X uint8 in memory, or an array of paths);
- plain Keras: ``tf.data.Dataset.from_tensor_slices((X, y)).shuffle(1024).batch(b)``
  ``.map(cast to float32 / 255).prefetch(AUTOTUNE)`` and ``model.fit`` (a folder:
  ``keras.utils.image_dataset_from_directory`` with the same rescaling).

Printed side by side: fit seconds, their ratio (ours / Keras), peak RSS of each process
and its ratio, at 28x28x1, 96x96x3 and 160x160x3 for data sizes from 50 MiB to 1 GiB,
then ``cross_val_score(cv=5, n_jobs=2)`` on the largest array with the peak RSS summed
over all processes: the array in memory, the same wrapped in ``ImageRows`` (sklearn's
``X[train]`` then copies nothing) and memory-mapped. Images are random pixels (speed and
memory do not depend on them); the PNG folder is CIFAR-10 subset images upsampled when
``../shared/data`` has them.

Whole epochs at 1 GiB take hours (a 28x28 epoch of 1.4 million images is about half an
hour per process), so ``--steps N`` stops every fit (ours, Keras, the bound, each fold)
after N batches: memory reaches its peak in the first batches (the copies are made
before training starts, and TensorFlow's working memory was the same after 100 and 300
steps; measured).

    python benchmarks/bench_scale.py                 # whole epochs, 50 MiB to 1 GiB (hours)
    python benchmarks/bench_scale.py --quick         # 50 MiB only, and a small folder
    python benchmarks/bench_scale.py --sizes 256 1024 --steps 160 --files 0
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

SHAPES = {"28x28x1": (28, 28, 1), "96x96x3": (96, 96, 3), "160x160x3": (160, 160, 3)}
MODEL = dict(filters=16, dense_units=64, dropout=0.0)
BATCH, EPOCHS, CLASSES = 32, 1, 10
SUBSET = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "cifar10_subset"
    / "cifar10_subset.npz"
)


def make_array(path, shape, mebibytes, seed=0):
    n = max(BATCH * 4, int(mebibytes * 2**20) // int(np.prod(shape)))
    images = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, *shape))
    rng = np.random.default_rng(seed)
    for start in range(0, n, 1024):
        stop = min(n, start + 1024)
        images[start:stop] = rng.integers(0, 256, size=(stop - start, *shape), dtype=np.uint8)
    images.flush()
    np.save(str(path) + ".labels.npy", rng.integers(0, CLASSES, size=n))
    return n


def make_folder(directory, n, size):
    """``n`` PNG files in class subfolders: CIFAR-10 subset upsampled to ``size``, or noise."""
    from PIL import Image

    if SUBSET.exists():
        with np.load(SUBSET) as data:
            source, labels = data["x_train"], data["y_train"].ravel()
    else:
        rng = np.random.default_rng(0)
        source, labels = (
            rng.integers(0, 256, (1000, 32, 32, 3), dtype=np.uint8),
            rng.integers(0, 10, 1000),
        )
    for i in range(n):
        folder = Path(directory) / f"class{labels[i % len(source)]}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(source[i % len(source)]).resize(size, Image.BILINEAR).save(
            folder / f"{i:06d}.png"
        )
    return "CIFAR-10 subset, upsampled" if SUBSET.exists() else "generated noise"


# -- the runners, each in its own process -------------------------------------------------
def stop_after(steps):
    """Keras callbacks that end training after ``steps`` batches (none for whole epochs); a
    multiple of 16 stops ours exactly there too (it runs 16 steps per execution)."""
    if not steps:
        return []
    import keras

    class StopAfter(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = self.model.stop_training or batch + 1 >= steps

    return [StopAfter()]


def run_ours(args):
    from sklearn_keras_hpo import CNNClassifier

    X, y = _load(args)
    clf = CNNClassifier(
        **MODEL,
        epochs=EPOCHS,
        batch_size=BATCH,
        random_state=0,
        image_size=args.size,
        callbacks=stop_after(args.steps),
    )
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start


def run_keras(args):
    from sklearn_keras_hpo._backend import keras_and_tf
    from sklearn_keras_hpo.model.architectures import build_model

    keras, tf = keras_and_tf()
    if args.folder:
        ds = keras.utils.image_dataset_from_directory(
            args.folder, image_size=args.size, batch_size=BATCH, seed=0, verbose=False
        )
        shape = (*args.size, 3)
    else:
        X, y = _load(args)
        ds = tf.data.Dataset.from_tensor_slices((X, y)).shuffle(1024, seed=0).batch(BATCH)
        shape = X.shape[1:]
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y)).prefetch(tf.data.AUTOTUNE)
    keras.utils.set_random_seed(0)
    model = build_model("cnn", shape, CLASSES, **MODEL)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(ds, epochs=EPOCHS, verbose=0, callbacks=stop_after(args.steps))
    return time.perf_counter() - start


def run_bound(args):
    """The fastest any input pipeline can be: the same model and steps, trained on one
    float32 batch already in memory, repeated (no reading, casting or shuffling)."""
    from sklearn_keras_hpo._backend import keras_and_tf
    from sklearn_keras_hpo.model.architectures import build_model

    keras, tf = keras_and_tf()
    X, y = _load(args)
    steps = min(-(-len(X) // BATCH), args.steps or len(X))
    batch = (tf.constant(X[:BATCH].astype(np.float32) / 255), tf.constant(y[:BATCH]))
    ds = tf.data.Dataset.from_tensors(batch).repeat(steps)
    keras.utils.set_random_seed(0)
    model = build_model("cnn", X.shape[1:], CLASSES, **MODEL)
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=16,
    )
    start = time.perf_counter()
    model.fit(ds, epochs=EPOCHS, verbose=0)
    return time.perf_counter() - start


def run_cross_val(args):
    from sklearn.model_selection import cross_val_score

    from sklearn_keras_hpo import CNNClassifier, ImageRows

    X, y = _load(args)
    X = ImageRows(X) if args.rows else X
    clf = CNNClassifier(
        **MODEL, epochs=EPOCHS, batch_size=BATCH, random_state=0, callbacks=stop_after(args.steps)
    )
    start = time.perf_counter()
    scores = cross_val_score(clf, X, y, cv=5, n_jobs=2)
    assert np.all(np.isfinite(scores))
    return time.perf_counter() - start


def _load(args):
    if args.folder:
        paths = sorted(Path(args.folder).glob("*/*.png"))
        return np.array([str(p) for p in paths]), np.array([p.parent.name for p in paths])
    return np.load(args.data, mmap_mode="r" if args.mmap else None), np.load(
        args.data + ".labels.npy"
    )


def worker(args):
    runners = {"ours": run_ours, "keras": run_keras, "bound": run_bound, "cross_val": run_cross_val}
    seconds = runners[args.worker](args)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak_rss": peak}))


# -- the driver -------------------------------------------------------------------------
def measure(kind, data=None, folder=None, size=None, mmap=False, rows=False, steps=None):
    """Run one worker process; its seconds, its own peak RSS, and the peaks of the RSS and
    of the PSS (shared pages divided among the processes that map them, so pages shared
    by the loky workers count once) summed over it and its children, sampled every 0.5 s."""
    import psutil

    command = (
        [sys.executable, __file__, "--worker", kind]
        + (["--mmap"] if mmap else [])
        + (["--rows"] if rows else [])
    )
    command += ["--steps", str(steps)] if steps else []
    command += (
        ["--data", str(data)] if data else ["--folder", str(folder), "--size", *map(str, size)]
    )
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree_peak, tree_pss, done = [0], [0], threading.Event()

    def sample():
        parent = psutil.Process(process.pid)
        while not done.wait(0.5):
            try:
                procs = [p for p in [parent, *parent.children(recursive=True)] if p.is_running()]
                tree_peak[0] = max(tree_peak[0], sum(p.memory_info().rss for p in procs))
                tree_pss[0] = max(tree_pss[0], sum(p.memory_full_info().pss for p in procs))
            except psutil.Error:
                pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    done.set()
    if process.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "tree_peak": max(tree_peak[0], result["peak_rss"]), "tree_pss": tree_pss[0]}


def mib(n_bytes):
    return f"{n_bytes / 2**20:8.0f}"


def row(label, ours, keras, bound=None):
    bound_ratio = f"{bound['seconds'] / keras['seconds']:6.2f}" if bound else f"{'':>6}"
    print(
        f"{label:<34} {ours['seconds']:8.1f} {keras['seconds']:8.1f} "
        f"{ours['seconds'] / keras['seconds']:6.2f}"
        f" {bound_ratio} {mib(ours['peak_rss'])} {mib(keras['peak_rss'])} "
        f"{ours['peak_rss'] / keras['peak_rss']:6.2f}",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["ours", "keras", "bound", "cross_val"])
    parser.add_argument("--data")
    parser.add_argument("--folder")
    parser.add_argument("--size", type=int, nargs=2, default=None)
    parser.add_argument(
        "--quick", action="store_true", help="50 MiB arrays and a 2,000-file folder only"
    )
    parser.add_argument("--sizes", type=float, nargs="+", default=None, help="MiB of each array")
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument(
        "--files", type=int, default=None, help="PNG files in the folder (default 10,000)"
    )
    parser.add_argument("--skip-cross-val", action="store_true")
    parser.add_argument(
        "--steps", type=int, default=None, help="stop every fit after this many batches"
    )
    parser.add_argument(
        "--mmap", action="store_true", help=argparse.SUPPRESS
    )  # worker: memory-map the array
    parser.add_argument(
        "--rows", action="store_true", help=argparse.SUPPRESS
    )  # worker: X as ImageRows
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    sizes = args.sizes or ([50] if args.quick else [50, 256, 1024])
    steps = f", stopped after {args.steps} batches" if args.steps else ""
    print(f"{EPOCHS} epoch{steps}, batch {BATCH}, cnn {MODEL}; each figure a fresh process\n")
    print(
        "bound: the same model and steps on one in-memory float32 batch repeated, / Keras "
        "(no pipeline can beat it)"
    )
    print(
        f"{'data':<34} {'ours s':>8} {'keras s':>8} {'ratio':>6} {'bound':>6} "
        f"{'ours MiB':>8} {'keras MiB':>8} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory(prefix="skhpo-scale-") as scratch:
        largest = None
        for name in args.shapes:
            for size in sizes:
                path = Path(scratch) / f"{name}-{size:g}.npy"
                n = make_array(path, SHAPES[name], size)
                ours, keras, bound = (
                    measure(kind, data=path, steps=args.steps)
                    for kind in ("ours", "keras", "bound")
                )
                row(f"{name} uint8 {size:g} MiB ({n} images)", ours, keras, bound)
                largest = (
                    path
                    if largest is None or path.stat().st_size > largest.stat().st_size
                    else largest
                )
                if path != largest:
                    path.unlink()
        n_files = (2000 if args.quick else 10000) if args.files is None else args.files
        if n_files:
            folder_row(Path(scratch) / "folder", n_files, args.steps)
        if not args.skip_cross_val:
            cross_val(largest, args.steps)


def folder_row(folder, n_files, steps):
    source = make_folder(folder, n_files, (96, 96))
    ours, keras = (
        measure(kind, folder=folder, size=(96, 96), steps=steps) for kind in ("ours", "keras")
    )
    row(f"PNG folder {n_files} files 96x96x3", ours, keras)
    print(f"  (folder: {source}; ours streams the paths, Keras uses image_dataset_from_directory)")


def cross_val(path, steps=None):
    """``cross_val_score(cv=5, n_jobs=2)`` on the array in memory, in ``ImageRows``,
    memory-mapped."""
    print(
        "\ncross_val_score(cv=5, n_jobs=2) on "
        f"{path.stat().st_size / 2**30:.2f} GiB of uint8 images:"
    )
    for label, mmap, rows in [
        ("in memory", False, False),
        ("ImageRows(in memory)", False, True),
        ('np.load(mmap_mode="r")', True, False),
    ]:
        result = measure("cross_val", data=path, mmap=mmap, rows=rows, steps=steps)
        print(
            f"  {label:<24} {result['seconds']:6.0f} s, peak of all "
            f"processes: RSS {result['tree_peak'] / 2**30:.2f} GiB, "
            f"PSS {result['tree_pss'] / 2**30:.2f} GiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
