"""Every bad input we know of, and what the user is told. ``python -m tests.bad_input_cases``
prints ``docs/bad_input.md``; a test checks the page matches what the code says today."""

import re
import warnings

import numpy as np
import scipy.sparse as sp

X = np.random.default_rng(0).random((40, 8, 8)).astype(np.float32)
Y = np.arange(40) % 2
FAST = dict(filters=4, dense_units=16, epochs=1, random_state=0)


def fit(X=X, y=Y, **params):
    from sklearn_keras_hpo import CNNClassifier

    return CNNClassifier(**{**FAST, **params}).fit(X, y)


def with_value(value):
    bad = X.copy()
    bad[0, 0, 0] = value
    return bad


def cross_validate_rare_class():
    from sklearn.model_selection import cross_val_score

    from sklearn_keras_hpo import CNNClassifier

    return cross_val_score(
        CNNClassifier(**FAST, batch_size=8), X, (np.arange(40) >= 38).astype(int), cv=3
    )


def predict_other_shape():
    return fit().predict(X[:, :6, :])


def image_files(directory, corrupt=False):
    """40 PNG files of X's images (the first one garbage with ``corrupt``)."""
    from pathlib import Path

    from PIL import Image

    paths = []
    for i, image in enumerate((X * 255).astype(np.uint8)):
        path = Path(directory) / f"{i:02d}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    if corrupt:
        Path(paths[0]).write_bytes(b"not a png at all")
    return np.array(paths)


def fit_files(transform=lambda paths: paths, corrupt=False, **params):
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        paths = image_files(directory, corrupt)
        return fit(transform(paths), **params), directory


def huge_images():
    """Two 10,000 x 10,000 RGB images: the memory guard stops the fit before it allocates."""
    return fit(np.zeros((2, 10_000, 10_000, 3), np.uint8), np.array([0, 1]), batch_size=2)


CASES = [
    (
        "X with the wrong number of dimensions, shape (40, 1, 8, 8, 1)",
        lambda: fit(X[:, None, ..., None]),
    ),
    ("X as one flat vector, shape (2560,)", lambda: fit(X.ravel())),
    ("empty X, shape (0, 8, 8)", lambda: fit(X[:0], Y[:0])),
    ("y of another length than X", lambda: fit(y=Y[:30])),
    ("NaN in X", lambda: fit(with_value(np.nan))),
    ("inf in X", lambda: fit(with_value(np.inf))),
    ("sparse X", lambda: fit(sp.csr_matrix(X.reshape(40, -1)))),
    ("strings as X", lambda: fit(np.array([["a"] * 64] * 40))),
    ("one class in y", lambda: fit(y=np.zeros(40))),
    ("fewer samples of a class than CV folds (2 samples, cv=3)", cross_validate_rare_class),
    (
        "flat X that does not match image_shape (63 features, image_shape=(8, 8))",
        lambda: fit(X.reshape(40, -1)[:, :63], image_shape=(8, 8)),
    ),
    ("predict on images of another shape than fit", predict_other_shape),
    ("pixel values out of range: floats in 0-255", lambda: fit(np.round(X * 255))),
    (
        "image files as X: a path that does not exist",
        lambda: fit_files(lambda p: np.r_[p[:-1], ["gone.png"]]),
    ),
    (
        "image files as X: a file that is not an image (.txt)",
        lambda: fit_files(lambda p: np.r_[p[:-1], ["a.txt"]]),
    ),
    ("image files as X: a corrupt PNG", lambda: fit_files(corrupt=True)),
    ("two 10,000 x 10,000 RGB images (more memory than the machine has)", huge_images),
    ("batch_size larger than the data (512 for 40 images)", lambda: fit(batch_size=512)),
    (
        "validation_fraction that leaves a class out (10 classes, 40 images)",
        lambda: fit(y=np.arange(40) % 10, early_stopping=True),
    ),
    ("colour augmentation on grayscale (hue=0.1)", lambda: fit(hue=0.1)),
    ("unknown schedule name (lr_schedule='cosinus')", lambda: fit(lr_schedule="cosinus")),
    ("unknown transform name (rotate=10)", lambda: fit(rotate=10)),
    ("unknown optimizer (optimizer='adamm')", lambda: fit(optimizer="adamm")),
    (
        "a diverging configuration (SGD, learning_rate=10, linear units)",
        lambda: fit(
            optimizer="sgd", learning_rate=10.0, activation="linear", batch_size=8, epochs=2
        ),
    ),
]


def outcome(case):
    """``(kind, message)``: the exception raised, else the warnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            case()
        except Exception as error:
            return type(error).__name__, str(error)
    ours = [str(w.message) for w in caught if w.category is not DeprecationWarning]
    return ("warning", " / ".join(dict.fromkeys(ours))) if ours else ("accepted", "")


def normalise(message):
    """One line, with sets (whose order varies run to run) sorted, and the parts that vary
    from machine to machine (free memory, temporary directories) replaced by a name."""
    message = re.sub(r"only [\d.]+ [GM]iB of memory", "only <free memory> of memory", message)
    message = re.sub(r"/tmp/[^/']+/", "<directory>/", message)
    message = re.sub(
        r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message
    )
    return " ".join(message.split()).replace("|", "\\|")


def render():
    lines = [
        "# Bad input and what you are told",
        "",
        "Generated by `python -m tests.bad_input_cases > docs/bad_input.md`; "
        "`tests/test_bad_input.py`",
        "checks this page against the code. Errors are raised by `fit` (or `predict`) before any",
        "training; warnings let the fit go on.",
        "",
        "| input | outcome | message |",
        "|---|---|---|",
    ]
    for description, case in CASES:
        kind, message = outcome(case)
        lines.append(f"| {description} | {kind} | {normalise(message)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
