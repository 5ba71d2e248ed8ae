"""The hooks ``_BaseCNN`` declares, and target encoding that returns what a fit needs
(``EncodedTargets``) instead of setting attributes mid-fit."""

import inspect

import numpy as np
import pytest

from sklearn_keras_hpo import CNNClassifier, CNNRegressor
from sklearn_keras_hpo.estimators._base import _BaseCNN

from .conftest import FAST

HOOKS = {
    "_numeric_targets",
    "_encode_targets",
    "_output_activation",
    "_output_losses",
    "_metrics",
    "_target_metadata",
}


def test_the_hooks_are_declared_with_what_they_return():
    assert _BaseCNN.__abstractmethods__ == HOOKS
    for name in HOOKS:
        assert inspect.getdoc(inspect.getattr_static(_BaseCNN, name)), name

    class Incomplete(_BaseCNN):
        def _encode_targets(self, y, classes=None, reset=True):
            return None

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()
    assert not CNNClassifier.__abstractmethods__ and not CNNRegressor.__abstractmethods__


@pytest.mark.parametrize(
    "estimator, y, expected",
    [
        (CNNClassifier(), np.array(["b", "a", "b"]), ("binary", 1, "softmax", ["accuracy"])),
        (
            CNNClassifier(),
            np.array([[0, 1], [1, 1], [1, 0]]),
            ("multilabel-indicator", 2, "sigmoid", ["binary_accuracy"]),
        ),
        (CNNRegressor(), np.array([[0.5, 1.0], [2.0, 3.0]]), (None, 2, "linear", ["mae"])),
    ],
    ids=["labels", "label-matrix", "regression"],
)
def test_encoding_sets_nothing_and_the_hooks_read_what_it_returns(estimator, y, expected):
    before = dict(vars(estimator))
    targets = estimator._encode_targets(y)
    assert vars(estimator) == before  # nothing set on the estimator mid-fit
    kind, n_outputs, activation, metrics = expected
    assert (targets.target_type, targets.n_outputs) == (kind, n_outputs)
    assert estimator._output_activation(targets) == activation
    assert estimator._metrics(targets) == metrics
    assert estimator._target_metadata(targets)["n_outputs"] == n_outputs
    assert len(targets.values) == len(y)


def test_the_fitted_attributes_come_from_the_encoding_once_trained(digits):
    X, y = digits
    labels = np.array(["even", "odd"])[y % 2]
    clf = CNNClassifier(**{**FAST, "epochs": 1}).fit(X[:100], labels[:100])
    expected = clf._encode_targets(labels[:100]).attributes
    np.testing.assert_array_equal(clf.classes_, expected["classes_"])
    assert clf.target_type_ == expected["target_type_"] == "binary"
    continued = clf._encode_targets(labels[:10], reset=False)
    assert continued.attributes == {} and continued.encoder is clf.target_encoder_
    np.testing.assert_array_equal(continued.values, (labels[:10] == "odd").astype(np.int32))


def test_a_fit_that_fails_leaves_a_fresh_estimator_unfitted(digits):
    """The targets' attributes are set with the trained model, not before it."""
    X, y = digits
    clf = CNNClassifier(**FAST, loss="no_such_loss")
    with pytest.raises(ValueError):
        clf.fit(X[:50], y[:50])
    assert not hasattr(clf, "classes_") and not hasattr(clf, "model_")
