"""Bad input fails fast with a ValueError that names the problem."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_keras_hpo import CNNClassifier

from .conftest import FAST

X_OK = np.random.default_rng(0).random((40, 8, 8)).astype(np.float32)
Y_OK = np.arange(40) % 2


def _with(value, index=(0, 0, 0)):
    X = X_OK.copy()
    X[index] = value
    return X


@pytest.mark.parametrize(
    "X, y, message",
    [
        (_with(np.nan), Y_OK, "NaN"),
        (_with(np.inf), Y_OK, "infinity"),
        (sp.csr_matrix(X_OK.reshape(40, -1)), Y_OK, "sparse"),
        (X_OK, np.zeros(40), "only one class"),
        (np.array([["a"] * 64] * 40), Y_OK, "string"),
    ],
    ids=["nan", "inf", "sparse", "one-class", "strings"],
)
def test_bad_data(X, y, message):
    with pytest.raises(ValueError, match=message):
        CNNClassifier(**FAST).fit(X, y)


def test_feature_count_must_match_image_shape():
    with pytest.raises(ValueError, match=r"63 features .* image_shape=\(8, 8\)"):
        CNNClassifier(image_shape=(8, 8), **FAST).fit(X_OK.reshape(40, -1)[:, :63], Y_OK)


def test_predict_needs_the_fitted_image_shape():
    clf = CNNClassifier(**FAST).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="X has 48 features, but CNNClassifier is expecting 64"):
        clf.predict(X_OK[:, :6, :])


@pytest.mark.parametrize(
    "param, value, allowed",
    [
        ("architecture", "transformer", "cnn"),
        ("optimizer", "adamm", "adam"),
        ("activation", "relux", "relu"),
        ("kernel_initializer", "glorot", "glorot_uniform"),
        ("epochs", 0, "range"),
        ("batch_size", -1, "range"),
        ("validation_fraction", 1.0, "range"),
        ("validation_fraction", 0.0, "range"),
    ],
)
def test_bad_parameter_names_the_parameter(param, value, allowed):
    clf = CNNClassifier(**{**FAST, param: value})
    with pytest.raises(ValueError, match=rf"'{param}' parameter of CNNClassifier .*{allowed}"):
        clf.fit(X_OK, Y_OK)


def test_unknown_keyword_is_reported_at_fit():
    clf = CNNClassifier(filtres=3, **FAST)
    with pytest.raises(TypeError, match="filtres"):
        clf.fit(X_OK, Y_OK)


def test_validation_split_too_small_for_the_classes():
    y = np.arange(40) % 10
    with pytest.raises(ValueError, match="validation_fraction=0.1"):
        CNNClassifier(**{**FAST, "early_stopping": True}).fit(X_OK, y)
