"""ImageRows: scikit-learn's cross-validation and searches split it without copying images."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate, train_test_split

from sklearn_keras_hpo import CNNClassifier, HyperbandSearchCV, ImageRows
from tests.conftest import FAST
from tests.memory_probe import peak_growth, write_repeated_images


@pytest.fixture(scope="module")
def pixels(digits):
    X, y = digits
    return np.round(X[:360] * 255).astype(np.uint8), y[:360]


@pytest.mark.parametrize(
    "key",
    [
        3,
        -1,
        slice(2, 9, 3),
        [5, 0, 5],
        np.array([7, 1]),
        np.arange(12) % 3 == 0,
        (np.array([2, 4]), Ellipsis),
        [],
    ],
    ids=["int", "negative", "slice", "list", "array", "mask", "rows-ellipsis", "empty"],
)
def test_rows_index_like_the_array(key):
    array = np.arange(12 * 4 * 3, dtype=np.float32).reshape(12, 4, 3)
    rows = ImageRows(array)[::-1][::-1]  # views of views compose
    expected = array[key]
    got = rows[key]
    if np.ndim(expected) == array.ndim:
        assert (
            isinstance(got, ImageRows) and got.shape == expected.shape and len(got) == len(expected)
        )
        assert got.dtype == array.dtype and got.nbytes == expected.nbytes
        assert np.shares_memory(got.array, array)
    np.testing.assert_array_equal(np.asarray(got), expected)


def test_rows_refuse_what_they_cannot_be():
    with pytest.raises(ValueError, match="ImageRows needs a numeric NumPy array"):
        ImageRows([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="ImageRows needs a numeric NumPy array"):
        ImageRows(np.array(["a.png", "b.png"]))
    with pytest.raises(IndexError, match="selects rows only"):
        ImageRows(np.zeros((4, 2, 2)))[:, 0]


def test_the_fit_reads_the_users_array_through_the_rows(pixels, monkeypatch):
    """cross_validate hands each fit ImageRows over the user's own array, holding the
    fold's training rows (nothing copied), and predictions equal those on the array."""
    from sklearn_keras_hpo.training import run

    X, y = pixels
    seen = []
    original = run._train
    monkeypatch.setattr(
        run,
        "_train",
        lambda model, images, *rest: seen.append(images) or original(model, images, *rest),
    )
    result = cross_validate(
        CNNClassifier(**FAST), ImageRows(X), y, cv=3, return_estimator=True, return_indices=True
    )
    for images, train in zip(seen, result["indices"]["train"], strict=False):
        assert isinstance(images.source, ImageRows) and np.shares_memory(images.source.array, X)
        np.testing.assert_array_equal(np.sort(images.source.index), np.sort(train))
    fitted = result["estimator"][0]
    np.testing.assert_array_equal(
        fitted.predict_proba(ImageRows(X)[10:50]), fitted.predict_proba(X[10:50])
    )


@pytest.mark.parametrize("n_jobs", [pytest.param(1, marks=pytest.mark.slow), 2])
def test_searches_on_rows_score_like_the_array(pixels, tmp_path, n_jobs):
    """GridSearchCV, cross_validate and HyperbandSearchCV give the same scores on ImageRows
    (in memory and over a memory-mapped array) as on the array itself."""
    X, y = pixels
    np.save(tmp_path / "X.npy", X)
    mapped = ImageRows(np.load(tmp_path / "X.npy", mmap_mode="r"))
    grid = {"learning_rate": [0.003, 0.03]}

    def grid_scores(data):
        return (
            GridSearchCV(CNNClassifier(**FAST), grid, cv=3, n_jobs=n_jobs)
            .fit(data, y)
            .cv_results_["mean_test_score"]
        )

    reference = grid_scores(X)
    np.testing.assert_array_equal(grid_scores(ImageRows(X)), reference)
    np.testing.assert_array_equal(grid_scores(mapped), reference)
    assert reference.max() > 0.3  # 10 classes: chance is 0.1
    folds = cross_validate(CNNClassifier(**FAST), X, y, cv=3, n_jobs=n_jobs)["test_score"]
    np.testing.assert_array_equal(
        cross_validate(CNNClassifier(**FAST), mapped, y, cv=3, n_jobs=n_jobs)["test_score"], folds
    )
    X_train, X_test, y_train, _ = train_test_split(ImageRows(X), y, test_size=0.25, random_state=0)
    assert isinstance(X_train, ImageRows) and isinstance(X_test, ImageRows)

    def hyperband(data):
        search = HyperbandSearchCV(
            CNNClassifier(**FAST),
            {"learning_rate": [0.003, 0.03]},
            max_epochs=3,
            factor=3,
            cv=2,
            n_jobs=n_jobs,
            random_state=0,
        )
        return search.fit(data, y_train).cv_results_["mean_test_score"]

    np.testing.assert_array_equal(hyperband(X_train), hyperband(np.asarray(X_train)))


ROWS_SCRIPT = """
import tracemalloc
from sklearn.model_selection import cross_val_score
from sklearn_keras_hpo import ImageRows
X = {"rows": lambda: ImageRows(mapped), "array": lambda: mapped,
     "reference": lambda: ImageRows(np.broadcast_to(mapped[0], mapped.shape))}[mode]()
tracemalloc.start(1)  # NumPy's buffers (a fold copy) are traced
scores = cross_val_score(clf, X, y, cv=2)
assert np.all(np.isfinite(scores))
report(tracemalloc.get_traced_memory()[1] / mapped.nbytes)
"""


# 150 s alone (three processes fit 384 MiB under tracemalloc); the fit's bound: test_image_sources
@pytest.mark.slow
def test_cross_validating_rows_copies_no_fold(tmp_path):
    """cross_val_score(cv=2) on ImageRows over a 384 MiB memory-mapped array allocates no
    NumPy copy of a fold (tracemalloc's peak, deterministic: a fold is half the array), and its
    peak RSS growth stays near that of the same search on a 12 KiB broadcast view of the same
    shape. The plain array is the control, so both measurements can fail: sklearn copies both
    halves of each fold. (The RSS bound needs the array this large and one malloc arena, see
    ``memory_probe.peak_growth``: at 192 MiB it failed on allocator noise alone.)"""
    path = tmp_path / "images.npy"
    write_repeated_images(path, 32768)
    modes = ("reference", "rows", "array")
    (reference, _), (rows, rows_numpy), (array, array_numpy) = (
        peak_growth(ROWS_SCRIPT, path, m) for m in modes
    )
    assert rows_numpy < 0.1, f"ImageRows: NumPy allocated {rows_numpy:.2f} x the array at its peak"
    assert rows - reference < 0.3, (
        f"ImageRows held {rows - reference:.2f} x the array ({rows=:.2f}, {reference=:.2f})"
    )
    assert array_numpy > 0.45, (
        f"control: the plain array's folds allocated only {array_numpy:.2f} x"
    )
    assert array - reference > 0.9, (
        f"control: the plain array held only {array - reference:.2f} x "
        f"({array=:.2f}, {reference=:.2f})"
    )
