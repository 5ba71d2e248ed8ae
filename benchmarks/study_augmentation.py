"""What augmentation does to held-out accuracy when training data is scarce.

Trains the same small CNN on a reduced, class-balanced MNIST (or Fashion-MNIST)
training set of ``--train-size`` images with each augmentation setting, and
scores it on ``--test-size`` images of the official test split. Prints a
Markdown table (mean +/- std over ``--seeds`` seeds) for docs/augmentation_study.md.

    python benchmarks/study_augmentation.py [--dataset mnist] [--train-size 2000] [--epochs 15]

Needs ../shared/data/<dataset>; exits cleanly without it.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from sklearn.model_selection import train_test_split

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.data.datasets import load_mnist

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SETTINGS = {
    "none": {},
    "rotation 10 + translation 0.1 + zoom 0.1 (online)": dict(
        rotation=10.0, translation=0.1, zoom=0.1
    ),
    "same, precomputed x4": dict(
        rotation=10.0, translation=0.1, zoom=0.1, augment_mode="precomputed", augment_copies=4
    ),
    "elastic 0.5": dict(elastic=0.5),
    "random erasing 0.2": dict(erasing=0.2),
    "RandAugment 2": dict(randaugment=2),
    "MixUp 0.2": dict(mixup=0.2),
    "CutMix 1.0": dict(cutmix=1.0),
}
MODEL = dict(filters=32, dense_units=128, dropout=0.25, batch_size=64, learning_rate=1e-3)


def reduced(dataset, train_size, test_size, seed=0):
    directory = DATA / dataset
    if not directory.exists():
        print(f"{directory} not found: nothing to study.")
        sys.exit(0)
    X, y = load_mnist(directory, "train")
    X_test, y_test = load_mnist(directory, "test")
    X_train, _, y_train, _ = train_test_split(
        X, y, train_size=train_size, stratify=y, random_state=seed
    )
    return X_train, y_train, X_test[:test_size], y_test[:test_size]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    parser.add_argument("--train-size", type=int, default=2000)
    parser.add_argument("--test-size", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    X_train, y_train, X_test, y_test = reduced(args.dataset, args.train_size, args.test_size)
    print(
        f"{args.dataset}: {len(X_train)} training images, {len(X_test)} test images, "
        f"{args.epochs} epochs, {args.seeds} seeds, CNN {MODEL}\n"
    )
    print("| augmentation | held-out accuracy | fit time (s) |")
    print("|---|---|---|")
    for name, augmentation in SETTINGS.items():
        scores, seconds = [], []
        for seed in range(args.seeds):
            clf = CNNClassifier(**MODEL, epochs=args.epochs, random_state=seed, **augmentation)
            start = time.perf_counter()
            clf.fit(X_train, y_train)
            seconds.append(time.perf_counter() - start)
            scores.append(clf.score(X_test, y_test))
        spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
        print(
            f"| {name} | {statistics.mean(scores):.4f} +/- {spread:.4f} | "
            f"{statistics.mean(seconds):.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
