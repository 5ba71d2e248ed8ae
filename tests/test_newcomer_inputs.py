"""Two inputs a new user gives: one-hot y (``keras.utils.to_categorical``, as the tutorial
this project grew from does) and an ``architecture=`` function with the wrong output width."""

import numpy as np
import pytest

from sklearn_keras_hpo import CNNClassifier

from .conftest import FAST


def test_one_hot_y_is_multiclass_as_scikeras_reads_it(digits):
    """Softmax over the columns, not one sigmoid per column; predict returns one-hot rows;
    the same model as integer labels give."""
    X, y = digits
    X, y = X[:300], y[:300]
    one_hot = np.eye(10, dtype=np.float32)[y]
    model = CNNClassifier(**FAST).fit(X, one_hot)
    assert model.target_type_ == "multiclass-onehot" and model.classes_.tolist() == list(range(10))
    proba = model.predict_proba(X[:20])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)  # softmax, not sigmoids
    predicted = model.predict(X[:20])
    assert predicted.shape == (20, 10) and predicted.dtype == np.float32
    assert (predicted.sum(axis=1) == 1).all()
    by_labels = CNNClassifier(**FAST).fit(X, y)
    np.testing.assert_allclose(proba, by_labels.predict_proba(X[:20]), atol=1e-5)
    assert model.score(X, one_hot) == pytest.approx(by_labels.score(X, y))


def test_one_hot_y_survives_save_and_load(digits, tmp_path):
    from sklearn_keras_hpo import load

    X, y = digits
    model = CNNClassifier(**FAST).fit(X[:200], np.eye(10, dtype=np.int64)[y[:200]])
    loaded = load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict(X[:10]), model.predict(X[:10]))
    assert loaded.predict(X[:10]).dtype == np.int64


def test_a_matrix_with_several_labels_in_a_row_stays_multi_label(digits):
    X, y = digits
    labels = np.stack([y[:200] % 2, (y[:200] > 4).astype(int)], axis=1)
    model = CNNClassifier(**FAST).fit(X[:200], labels)
    assert model.target_type_ == "multilabel-indicator"


def test_an_architecture_function_of_the_wrong_width_is_named():
    """1 output unit for 10 classes failed deep in TensorFlow ("Received a label value of 9
    which is outside the valid range of [0, 1)"); it is now the message model= gives."""
    import keras

    def one_unit(input_shape, n_outputs, **kwargs):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))

    X = np.random.default_rng(0).random((40, 8, 8), dtype=np.float32)
    with pytest.raises(ValueError, match=r"architecture= has 1 output unit\(s\), but y has 10"):
        CNNClassifier(architecture=one_unit, epochs=1).fit(X, np.arange(40) % 10)


def test_baselines_run_on_small_images_and_say_why_not_otherwise(digits):
    from sklearn_keras_hpo.reporting.baselines import MAX_VALUES, baseline_scores, baselines_html

    X, y = digits
    scores = baseline_scores(X[:1200], y[:1200], X[1200:], y[1200:])
    assert set(scores) == {"LogisticRegression", "SVC"}
    assert all(0.9 < accuracy <= 1.0 for accuracy, _ in scores.values())
    assert "the tuned CNN" in baselines_html(scores, 0.99)
    big = np.zeros((MAX_VALUES // 64 + 1, 8, 8), np.uint8)
    assert "above" in baseline_scores(big, np.zeros(len(big)), X[:5], y[:5])
    paths = np.array(["a.png", "b.png"])
    assert "files" in baseline_scores(paths, [0, 1], paths, [0, 1])
    assert "no held-out" in baseline_scores(X, y, X[:0], y[:0])
