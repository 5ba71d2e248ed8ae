import os
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

LONG_MARKERS = ("slow", "scikeras_suite")


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow", action="store_true", help="also run tests marked slow or scikeras_suite"
    )


def pytest_collection_modifyitems(config, items):
    """Long tests run with --run-slow, or when -m names their marker."""
    if config.getoption("--run-slow"):
        return
    asked = config.getoption("markexpr") or ""
    for item in items:
        for name in LONG_MARKERS:
            if item.get_closest_marker(name) and name not in asked:
                item.add_marker(
                    pytest.mark.skip(reason=f"marked {name}: run with --run-slow or -m {name}")
                )


@pytest.fixture(autouse=True)
def _tensorflow_left_eager():
    """Fail the test that leaves TensorFlow out of eager mode in this process (a stop landing
    inside its bookkeeping can), rather than every test after it in the same worker."""
    yield
    tf = sys.modules.get("tensorflow")
    if tf is not None and not tf.executing_eagerly():
        pytest.fail("this test left TensorFlow in graph mode for the tests after it")


# Small, fast settings shared by the tests: 8x8 images, a narrow net, few epochs.
FAST = dict(
    filters=4,
    dense_units=16,
    dropout=0.0,
    epochs=2,
    batch_size=32,
    learning_rate=0.01,
    random_state=0,
)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits as (n, 8, 8) float images in [0, 1] and int labels."""
    data = load_digits()
    return data.images.astype(np.float32) / 16.0, data.target


@pytest.fixture(scope="session")
def digits_012(digits):
    """Classes 0, 1, 2 only, sorted by class (the layout that fools KFold and
    Keras' validation_split)."""
    X, y = digits
    keep = np.isin(y, [0, 1, 2])
    order = np.argsort(y[keep], kind="stable")
    return X[keep][order], y[keep][order]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module (created once: MLflow's migrations take seconds)."""
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = os.getcwd()
    os.chdir(
        folder
    )  # MLflow keeps the store, and its artifact root ./mlruns, per URI: here, not in the repo
    try:
        client = MlflowClient(uri)
        client.search_experiments()  # creates the tables
    finally:
        os.chdir(previous)
    return uri, client, folder
