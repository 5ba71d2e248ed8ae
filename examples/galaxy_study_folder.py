"""The galaxy study at a realistic size: augmentation + learning rate tuned on an image folder.

The study this library grew from tuned augmentation and the learning rate of a CNN on
thousands of RGB galaxy images, comparing augmentation applied on the fly ("online")
with augmented copies made once before training ("precomputed"). Here the folder is
10,000 CIFAR-10 training images (the JPEG folder in ``../shared/data/cifar10_images``)
upsampled from 32 to 96 px and written once as 96x96 JPEG files to ``--folder``, so
the images on disk have the real size; nothing is held as a float array:

- X is the array of file paths (``load_image_folder(..., lazy=True)``); each fit
  decodes its batches from the files (``image_cache="memory"`` would decode once into
  a uint8 array: 276 MB here, and still no float copy);
- precomputed mode keeps the augmented copies as uint8 (2 x 8,000 x 96 x 96 x 3 =
  442 MB for one copy), checked by the memory guard before it is made.

Measured on the project's 2-core CPU machine with the default convnet (2026-12-06, a cosine
schedule; whole run 5.8 min): untuned 0.5 min, held-out accuracy 0.445; online search 1.8 min
(0.441), precomputed 3.2 min (0.483); with a constant rate (2026-12-05): 0.488, 0.451, 0.516;
with the old default ``cnn``: 4.9 min (0.325), 15.0 min (0.280), 24.8 min (0.385); see
docs/guide.md ("Real-size images"). ``--small`` runs the same code on 600
images at 48 px in about two minutes (what the test runs).

    python examples/galaxy_study_folder.py                   # 10,000 images at 96 px
    python examples/galaxy_study_folder.py --small
"""

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.stats import loguniform
from sklearn.model_selection import RandomizedSearchCV, ShuffleSplit, train_test_split

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.data import load_image_folder

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10_images" / "train"
SPACE = {
    "rotation": [0.0, 10.0, 20.0],
    "zoom": [0.0, 0.1],
    "flip": [None, "horizontal"],
    "learning_rate": loguniform(3e-4, 3e-3),
}


def make_folder(folder, n_images, size):
    """Write ``n_images`` CIFAR-10 images (or coloured noise without shared data), upsampled
    to ``size`` px, as JPEG files in class subfolders; reuse the folder when complete."""
    from PIL import Image

    folder = Path(folder)
    if len(list(folder.glob("*/*.jpg"))) == n_images:
        return "reused"
    sources = sorted(SHARED.glob("*/*.jpg")) if SHARED.is_dir() else []
    rng = np.random.default_rng(0)
    picked = [sources[i] for i in rng.permutation(len(sources))[:n_images]] if sources else []
    for i in range(n_images):
        if picked:
            label, image = picked[i].parent.name, Image.open(picked[i]).convert("RGB")
        else:
            label = f"class{i % 4}"
            image = Image.fromarray(
                rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) // (1 + i % 4)
            )
        (folder / label).mkdir(parents=True, exist_ok=True)
        image.resize((size, size), Image.BILINEAR).save(folder / label / f"{i:05d}.jpg", quality=95)
    return "CIFAR-10 train images, upsampled" if picked else "generated (no shared data found)"


def tune(mode, paths, labels, n_iter, epochs, size):
    estimator = CNNClassifier(
        dropout=0.25,
        epochs=epochs,
        batch_size=64,
        image_size=(size, size),
        channels=3,
        augment_mode=mode,
        random_state=0,
    )
    search = RandomizedSearchCV(
        estimator,
        SPACE,
        n_iter=n_iter,
        cv=ShuffleSplit(1, test_size=0.2, random_state=0),
        random_state=0,
        n_jobs=1,
    )
    start = time.perf_counter()
    search.fit(paths, labels)
    return search, time.perf_counter() - start


def main(small=False, folder=None, untuned_only=False):
    n_images, size, n_iter, epochs = (600, 48, 3, 1) if small else (10_000, 96, 3, 2)
    folder = Path(folder or f"runs/galaxy_folder_{n_images}_{size}px")
    start = time.perf_counter()
    source = make_folder(folder, n_images, size)
    print(
        f"folder {folder}: {n_images} RGB images at {size}x{size} ({source}), "
        f"{time.perf_counter() - start:.0f} s"
    )
    paths, labels = load_image_folder(folder, lazy=True)
    X_train, X_test, y_train, y_test = train_test_split(
        paths, labels, test_size=0.2, stratify=labels, random_state=0
    )
    start = time.perf_counter()
    untuned = CNNClassifier(
        epochs=epochs, batch_size=64, image_size=(size, size), channels=3, random_state=0
    ).fit(X_train, y_train)
    print(
        f"untuned default ({untuned.architecture_}): {(time.perf_counter() - start) / 60:.1f} min, "
        f"held-out accuracy {untuned.score(X_test, y_test):.3f}"
    )
    for mode in () if untuned_only else ("online", "precomputed"):
        search, seconds = tune(mode, X_train, y_train, n_iter, epochs, size)
        print(
            f"{mode}: {n_iter} candidates x {epochs} epochs in {seconds / 60:.1f} min; "
            f"best parameters {search.best_params_}; "
            f"held-out accuracy {search.score(X_test, y_test):.3f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--folder", default=None)
    parser.add_argument(
        "--untuned-only", action="store_true", help="the untuned default only, no searches"
    )
    options = parser.parse_args()
    main(small=options.small, folder=options.folder, untuned_only=options.untuned_only)
