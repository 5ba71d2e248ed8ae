"""Bad input fails fast with a ValueError that names the problem."""

import warnings

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
        ("batch_size", -2, "range"),  # -1 is scikeras's "all samples in one batch"
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


def test_docs_table_matches_what_the_code_says():
    """docs/bad_input.md lists every case with today's message (regenerate it if this fails)."""
    from pathlib import Path

    from . import bad_input_cases

    page = Path(__file__).resolve().parents[1] / "docs" / "bad_input.md"
    assert page.read_text() == bad_input_cases.render()


def test_bad_input_table_errors_name_the_problem():
    from . import bad_input_cases

    outcomes = {
        description: bad_input_cases.outcome(case) for description, case in bad_input_cases.CASES
    }
    for description, (kind, message) in outcomes.items():
        assert kind != "accepted", f"{description} was accepted silently"
        assert message, description
    assert "Did you mean 'rotation'" in outcomes["unknown transform name (rotate=10)"][1]
    assert outcomes["pixel values out of range: floats in 0-255"][0] == "warning"
    assert outcomes["empty X, shape (0, 8, 8)"][0] == "ValueError"


# -- property-based: any reasonable image layout and dtype fits and predicts ----------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def image_batches(draw):
    n = draw(st.integers(4, 12))
    height, width = draw(st.integers(3, 9)), draw(st.integers(3, 9))
    layout = draw(st.sampled_from(["nhw", "nhwc1", "nhwc3", "flat"]))
    dtype = draw(st.sampled_from([np.uint8, np.float32, np.float64, np.int64]))
    shape = {
        "nhw": (n, height, width),
        "nhwc1": (n, height, width, 1),
        "nhwc3": (n, height, width, 3),
        "flat": (n, height * width),
    }[layout]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    high = 256 if dtype in (np.uint8, np.int64) else 1.0
    X = (rng.random(shape) * high).astype(dtype)
    y = np.arange(n) % draw(st.integers(2, 3))
    return X, y


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image_batches())
def test_fit_and_predict_any_layout_and_dtype(batch):
    X, y = batch
    clf = CNNClassifier(
        filters=2, kernel_size=2, dense_units=4, epochs=1, batch_size=4, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # int64 0-255 pixels warn, as they should
        clf.fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(np.unique(y)))
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert set(clf.predict(X)) <= set(np.unique(y))


@settings(max_examples=10, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda ndim: st.tuples(
            st.just(ndim), st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)
        )
    )
)
def test_any_malformed_shape_gives_a_value_error_not_a_crash(spec):
    ndim, shape = spec
    X = np.zeros(shape, dtype=np.float32)
    y = np.arange(shape[0]) % 2 if shape else np.zeros(0)
    valid = ndim in (2, 3, 4) and shape[0] >= 2 and all(shape) and len(set(y)) == 2
    if valid:
        return
    with pytest.raises(ValueError):
        CNNClassifier(filters=2, kernel_size=1, dense_units=4, epochs=1, random_state=0).fit(X, y)
