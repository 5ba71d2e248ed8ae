"""Transfer learning, offline: a backbone pretrained on CIFAR-10 classes 0-4, fine-tuned on 5-9.

CIFAR-10 as JPEG files (../shared/data/cifar10_images/{train,test}/<class>/*.jpg, 32x32 RGB),
decoded once and cached to /tmp as .npz.

1. Pretraining (printed separately): ``CNNClassifier("mobilenet_v3_small")`` from scratch on
   the 25,000 training images of classes 0-4 (airplane, automobile, bird, cat, deer) at 32 px,
   horizontal flips, Adam 2e-3, batch 64, for ``--pretrain-budget`` seconds of wall time
   (default 780: the fit stops at the first batch past it; on 2 CPU cores about 10 epochs).
   Its backbone's weights are saved with ``save_backbone_weights`` to
   /tmp/bench_transfer_mobilenet_v3_small.weights.h5 (the format of Keras' *_notop files);
   ``--reuse-pretrained`` skips this step when that file exists.
2. On classes 5-9 (dog, frog, horse, ship, truck), with ``--per-class`` training images per
   class (seeded, stratified; default 100 and 500), three systems each get the same
   ``--budget`` seconds of wall time (model build and tracing included; the fit stops at the
   first batch past it; ``epochs`` is never reached):

   - ``scratch``: the same backbone from scratch (``weights=None``);
   - ``default``: our default convnet (``architecture="auto"``);
   - ``pretrained``: the saved file, ``freeze_epochs`` (default 3) head-only epochs at
     ``learning_rate=1e-3``, then every layer but batch norm at ``fine_tune_learning_rate=1e-4``.

   All three train with horizontal flips, batch 32, random_state 0. Each is scored on the 5,000
   test images of classes 5-9.

Prints a table (per-class count, system, epochs done, wall seconds, test accuracy) and the
pretrained system's margin over the others, in points. The issue's target: at 100 images per
class, ``pretrained`` >= 10 points above both.

    flock /tmp/coord/bench.lock .venv/bin/python benchmarks/bench_transfer.py
    flock /tmp/coord/bench.lock .venv/bin/python benchmarks/bench_transfer.py --reuse-pretrained
    # 60 s pretraining, 20 s budgets, 500 test images:
    .venv/bin/python benchmarks/bench_transfer.py --smoke

Exits 0 with a message when the image folder is absent.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "cifar10_images"
CACHE = Path("/tmp")
BACKBONE = "mobilenet_v3_small"
SOURCE, TARGET = range(5), range(5, 10)  # class indices in sorted folder order
COMMON = dict(flip="horizontal", random_state=0)


def decoded(folder, split):
    """``(uint8 images, int class indices, class names)`` of one split, decoded once to /tmp."""
    cache = CACHE / f"bench_transfer_{split}.npz"
    if not cache.exists():
        from sklearn_keras_hpo.data import load_image_folder

        start = time.perf_counter()
        X, names = load_image_folder(folder / split, color_mode="rgb")
        partial = cache.with_suffix(".partial.npz")
        np.savez(partial, X=X, names=names)
        partial.rename(cache)
        print(
            f"decoded {len(X)} {split} images in {time.perf_counter() - start:.0f} s -> {cache}",
            flush=True,
        )
    with np.load(cache) as npz:
        X, names = npz["X"], npz["names"]
    classes, y = np.unique(names, return_inverse=True)
    return X, y, classes


def subset(y, classes, per_class, seed):
    """Indices of ``per_class`` seeded images of each class in ``classes`` (all when None)."""
    rng = np.random.default_rng(seed)
    picked = []
    for label in classes:
        rows = np.flatnonzero(y == label)
        picked.append(rows if per_class is None else rng.choice(rows, per_class, replace=False))
    return np.sort(np.concatenate(picked))


def deadline_callback(seconds):
    """Stops training at the first batch that ends ``seconds`` after it was made."""
    import keras

    class Deadline(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.deadline = time.monotonic() + seconds

        def on_train_batch_end(self, batch, logs=None):
            if time.monotonic() >= self.deadline:
                self.model.stop_training = True

    return Deadline()


def timed_fit(params, X, y, seconds):
    """A ``CNNClassifier`` fitted for ``seconds`` of wall time (build and tracing included)."""
    from sklearn_keras_hpo import CNNClassifier
    from sklearn_keras_hpo.training import reuse

    reuse.clear()  # every system pays its own tracing
    start = time.monotonic()
    clf = CNNClassifier(
        **COMMON, **params, epochs=10_000, callbacks=[deadline_callback(seconds)]
    ).fit(X, y)
    return clf, time.monotonic() - start


def pretrain(train, test, args):
    """Train the backbone on classes 0-4 and save its weights (or reuse the file)."""
    from sklearn_keras_hpo.model.backbones import save_backbone_weights

    path = CACHE / f"bench_transfer_{BACKBONE}{'_smoke' if args.smoke else ''}.weights.h5"
    meta = path.with_suffix(".json")
    if args.reuse_pretrained and path.exists() and meta.exists():
        info = json.loads(meta.read_text())
        print(f"pretraining reused from {path}: {info}", flush=True)
        return path, info
    (X, y, _), (X_test, y_test, _) = train, test
    rows = subset(y, SOURCE, args.pretrain_per_class, seed=1)
    params = dict(architecture=BACKBONE, batch_size=64, learning_rate=2e-3)
    clf, seconds = timed_fit(params, X[rows], y[rows], args.pretrain_budget)
    test_rows = subset(y_test, SOURCE, args.test_per_class, seed=1)
    accuracy = float(np.mean(clf.predict(X_test[test_rows]) == y_test[test_rows]))
    save_backbone_weights(clf.model_, path)
    info = {
        "images": int(len(rows)),
        "seconds": round(seconds, 1),
        "epochs": clf.n_epochs_,
        "test_accuracy_classes_0_4": round(accuracy, 4),
    }
    meta.write_text(json.dumps(info))
    print(
        f"pretraining: {info['images']} images of classes 0-4, {seconds:.0f} s wall, "
        f"{clf.n_epochs_} epochs (the last one stopped at the deadline), test accuracy on "
        f"classes 0-4 {accuracy:.3f} -> {path}",
        flush=True,
    )
    return path, info


def systems(weights, args):
    return {
        "scratch": dict(architecture=BACKBONE, learning_rate=1e-3),
        "default": dict(architecture="auto"),
        "pretrained": dict(
            architecture=BACKBONE,
            weights=str(weights),
            freeze_epochs=args.freeze_epochs,
            fine_tune_layers=args.fine_tune_layers,
            learning_rate=1e-3,
            fine_tune_learning_rate=args.fine_tune_learning_rate,
        ),
    }


def compare(train, test, weights, args):
    (X, y, _), (X_test, y_test, _) = train, test
    test_rows = subset(y_test, TARGET, args.test_per_class, seed=2)
    results = []
    for per_class in args.per_class:
        rows = subset(y, TARGET, per_class, seed=per_class)
        for name, params in systems(weights, args).items():
            if name not in args.systems:
                continue
            clf, seconds = timed_fit(params, X[rows], y[rows], args.budget)
            accuracy = float(np.mean(clf.predict(X_test[test_rows]) == y_test[test_rows]))
            results.append(
                {
                    "per_class": per_class,
                    "system": name,
                    "epochs": clf.n_epochs_,
                    "train_s": round(seconds, 1),
                    "accuracy": round(accuracy, 4),
                }
            )
            print(
                f"  {per_class:>4}/class {name:<10} {clf.n_epochs_:>4} epochs {seconds:6.1f} s  "
                f"test accuracy {accuracy:.3f}",
                flush=True,
            )
    return results


def report(results, pretraining, args):
    print(f"\npretraining (separately): {pretraining}")
    print(f"{'per class':>9} {'system':<10} {'epochs':>6} {'wall s':>7} {'test acc':>8}")
    for r in results:
        print(
            f"{r['per_class']:>9} {r['system']:<10} {r['epochs']:>6} {r['train_s']:>7.1f} "
            f"{r['accuracy']:>8.3f}"
        )
    for per_class in args.per_class:
        acc = {r["system"]: r["accuracy"] for r in results if r["per_class"] == per_class}
        margins = [
            f"pretrained - {other} {100 * (acc['pretrained'] - acc[other]):+.1f} points"
            for other in ("scratch", "default")
            if other in acc and "pretrained" in acc
        ]
        print(f"{per_class}/class: " + (", ".join(margins) or "no margin (a system was not run)"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pretrain-budget", type=float, default=780.0, help="seconds of pretraining wall time"
    )
    parser.add_argument(
        "--pretrain-per-class", type=int, default=None, help="default: all 5,000 per class"
    )
    parser.add_argument(
        "--budget", type=float, default=120.0, help="seconds of wall time per system and size"
    )
    parser.add_argument("--per-class", type=int, nargs="+", default=[100, 500])
    parser.add_argument(
        "--test-per-class", type=int, default=None, help="default: all 1,000 per class"
    )
    parser.add_argument("--freeze-epochs", type=int, default=3)
    parser.add_argument(
        "--fine-tune-layers",
        default="all",
        type=lambda v: v if v == "all" else int(v),
        help="'all' or how many layers from the top to unfreeze after the frozen epochs",
    )
    parser.add_argument("--fine-tune-learning-rate", type=float, default=1e-4)
    parser.add_argument(
        "--systems",
        nargs="+",
        default=["scratch", "default", "pretrained"],
        choices=["scratch", "default", "pretrained"],
    )
    parser.add_argument(
        "--reuse-pretrained", action="store_true", help="skip pretraining when its file exists"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a quick run of every step (numbers meaningless)"
    )
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.pretrain_budget, args.pretrain_per_class, args.budget = 60.0, 400, 20.0
        args.per_class, args.test_per_class = [20], 100
    if not (DATA / "train").is_dir():
        print(f"{DATA} not found: nothing to measure.")
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # noqa: F401  (imported before any clock starts)

    train, test = decoded(DATA, "train"), decoded(DATA, "test")
    print(
        f"classes 0-4 {list(train[2][list(SOURCE)])}, 5-9 {list(train[2][list(TARGET)])}",
        flush=True,
    )
    weights, pretraining = pretrain(train, test, args)
    results = compare(train, test, weights, args)
    report(results, pretraining, args)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"pretraining": pretraining, "results": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
