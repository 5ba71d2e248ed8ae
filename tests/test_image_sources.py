"""Image files as X, memory-mapped arrays, uint8 kept to the batch, the memory guard."""

import warnings

import numpy as np
import pytest
from PIL import Image
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, cross_validate

from sklearn_keras_hpo import CNNClassifier, InsufficientMemoryError
from sklearn_keras_hpo.training import memory
from tests.conftest import FAST
from tests.memory_probe import peak_growth, write_repeated_images

N_FILES = 300


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory, digits):
    """The first 300 digits as 8-bit grayscale PNG files, with the same pixels as uint8."""
    directory = tmp_path_factory.mktemp("digit-files")
    pixels = np.round(digits[0][:N_FILES] * 255).astype(np.uint8)
    paths = []
    for i, image in enumerate(pixels):
        path = directory / f"{i:03d}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return np.array(paths), pixels, digits[1][:N_FILES]


def test_paths_train_and_predict_like_the_same_pixels_as_uint8(digit_files):
    paths, pixels, y = digit_files
    from_files = CNNClassifier(**FAST).fit(paths, y)
    from_array = CNNClassifier(**FAST).fit(pixels, y)
    assert from_files.image_shape_ == from_array.image_shape_ == (8, 8, 1)
    assert from_files.history_ == from_array.history_
    np.testing.assert_array_equal(from_files.predict_proba(paths), from_array.predict_proba(pixels))
    np.testing.assert_array_equal(from_array.predict_proba(paths), from_array.predict_proba(pixels))


@pytest.mark.parametrize("cache", ["memory", "directory"])
def test_decoded_cache_gives_the_same_model(digit_files, cache, tmp_path):
    paths, _, y = digit_files
    image_cache = str(tmp_path) if cache == "directory" else cache
    cached = CNNClassifier(**FAST, image_cache=image_cache).fit(paths, y)
    streamed = CNNClassifier(**FAST).fit(paths, y)
    np.testing.assert_array_equal(cached.predict_proba(paths), streamed.predict_proba(paths))
    if cache == "directory":
        assert len(list(tmp_path.glob("images-*.npy"))) == 1


def test_files_resized_and_converted_to_rgb(digit_files):
    paths, _, y = digit_files
    clf = CNNClassifier(**FAST, image_size=(12, 10), channels=3).fit(paths[:100], y[:100])
    assert clf.image_shape_ == (12, 10, 3)
    assert clf.predict_proba(paths[:5]).shape == (5, len(np.unique(y[:100])))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_paths_in_grid_search_and_cross_validate(digit_files, n_jobs):
    paths, pixels, y = digit_files
    grid = {"learning_rate": [0.003, 0.03]}
    on_files = GridSearchCV(CNNClassifier(**FAST), grid, cv=3, n_jobs=n_jobs).fit(paths, y)
    on_pixels = GridSearchCV(CNNClassifier(**FAST), grid, cv=3, n_jobs=n_jobs).fit(pixels, y)
    np.testing.assert_allclose(
        on_files.cv_results_["mean_test_score"], on_pixels.cv_results_["mean_test_score"]
    )
    assert on_files.best_score_ > 0.3  # 10 classes: chance is 0.1
    scores = cross_validate(CNNClassifier(**FAST), paths, y, cv=3, n_jobs=n_jobs)["test_score"]
    np.testing.assert_allclose(
        scores, cross_validate(CNNClassifier(**FAST), pixels, y, cv=3, n_jobs=n_jobs)["test_score"]
    )
    assert np.all(scores > 0.15)


def test_a_corrupt_file_is_named_and_a_search_goes_on(digit_files, tmp_path):
    paths, _, y = digit_files
    paths = paths[:120].astype(object)  # room for a longer path
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG but not really")
    paths[7] = str(broken)
    clf = CNNClassifier(**FAST, image_size=(8, 8), channels=1)
    with pytest.raises(ValueError, match=r"broken\.png"):
        clf.fit(paths, y[:120])
    rest = np.arange(8, 120)
    splits = [
        (rest[:80], rest[80:]),
        (np.arange(80), np.arange(80, 120)),
    ]  # the second trains on it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = cross_validate(clf, paths, y[:120], cv=splits, error_score=np.nan)["test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert any(
        issubclass(w.category, FitFailedWarning) and "broken.png" in str(w.message) for w in caught
    )


def test_uint8_stays_uint8_in_the_pipeline(digit_files, monkeypatch):
    """No float copy of the data: the array given to the pipeline is the user's own."""
    from sklearn_keras_hpo.training import run

    _, pixels, y = digit_files
    seen = []
    original = run._train
    monkeypatch.setattr(
        run,
        "_train",
        lambda model, images, *rest: seen.append(images) or original(model, images, *rest),
    )
    CNNClassifier(**FAST).fit(pixels, y)
    assert seen[0].source.dtype == np.uint8
    assert np.shares_memory(seen[0].source, pixels)


def test_memory_guard_stops_before_building(digits, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 2**12)
    with pytest.raises(
        InsufficientMemoryError, match=r"needs about .* but only .* available. Pass image files"
    ):
        CNNClassifier(**FAST).fit(*digits)
    monkeypatch.setenv("SKHPO_MEMORY_GUARD", "0")
    assert CNNClassifier(**FAST).fit(digits[0][:100], digits[1][:100]).n_epochs_ == FAST["epochs"]


MEMMAP_SCRIPT = """
from sklearn.base import clone
X = {"mapped": lambda: mapped,
     "loaded": lambda: np.load(sys.argv[1]),                     # read into memory, not mapped
     "reference": lambda: np.broadcast_to(mapped[0], mapped.shape)}[mode]()
clone(clf).fit(X, y).predict(X)
report()
"""


def test_memory_mapped_array_is_never_held_whole(tmp_path):
    """Peak RSS growth while fitting on and predicting a 384 MiB memory-mapped uint8 array
    stays near that of the same fit on a 12 KiB broadcast view of the same shape (TensorFlow's
    working memory, 0.5-0.6x the array and varying by ~0.1 between processes); loading the
    array into memory instead adds it whole (the control, so the measurement can fail)."""
    path = tmp_path / "images.npy"
    write_repeated_images(path, 32768)
    reference, mapped, loaded = (
        peak_growth(MEMMAP_SCRIPT, path, mode)[0] for mode in ("reference", "mapped", "loaded")
    )
    assert mapped - reference < 0.3, (
        f"reading it memory-mapped held {mapped - reference:.2f} x the array "
        f"({mapped=:.2f}, {reference=:.2f})"
    )
    assert loaded - reference > 0.7, (
        f"control: loading it held only {loaded - reference:.2f} x "
        f"({loaded=:.2f}, {reference=:.2f})"
    )


def test_precomputed_copies_of_files_stay_uint8(digit_files, monkeypatch):
    """Precomputed augmentation of uint8 images keeps the copies as uint8 (a quarter of float32)."""
    from sklearn_keras_hpo.training import pipeline, run

    paths, _, y = digit_files
    made = []
    original = pipeline.precompute_augmentation

    def spy(*args, **kwargs):
        images, columns = original(*args, **kwargs)
        made.append(images)
        return images, columns

    monkeypatch.setattr(run, "precompute_augmentation", spy)
    clf = CNNClassifier(**FAST, rotation=10.0, augment_mode="precomputed", augment_copies=2).fit(
        paths, y
    )
    assert made[0].source.dtype == np.uint8 and len(made[0]) == 3 * len(paths)
    assert clf.n_epochs_ == FAST["epochs"]
