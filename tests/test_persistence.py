"""save/load without pickle: round trip, safe_mode, trusted code, corrupt files."""

import json

import numpy as np
import pytest

from sklearn_keras_hpo import CNNClassifier, CNNRegressor, load

from .conftest import FAST


def tiny_architecture(input_shape, n_outputs, output_activation, dense_units):
    import keras

    inputs = keras.Input(input_shape)
    hidden = keras.layers.Dense(dense_units, activation="relu")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(n_outputs, activation=output_activation)(hidden))


def lambda_model(meta, compile_kwargs):
    import keras

    model = keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Lambda(lambda x: x * 2.0),
            keras.layers.Flatten(),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer=compile_kwargs["optimizer"])
    return model


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    labels = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    return CNNClassifier(early_stopping=True, **FAST).fit(X[:400], labels[y[:400]])


def test_round_trip_identical_predictions_and_attributes(fitted, digits, tmp_path):
    X, _ = digits
    fitted.save(tmp_path / "clf")
    again = load(tmp_path / "clf")
    assert type(again) is CNNClassifier
    assert again.get_params() == fitted.get_params()
    np.testing.assert_array_equal(again.predict_proba(X[400:500]), fitted.predict_proba(X[400:500]))
    np.testing.assert_array_equal(again.classes_, fitted.classes_)
    assert again.history_ == fitted.history_ and again.best_epoch_ == fitted.best_epoch_
    assert again.image_shape_ == fitted.image_shape_ and again.n_features_in_ == 64
    assert not list((tmp_path / "clf").glob("*.pkl"))


def test_regressor_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((120, 8, 8)).astype(np.float32)
    reg = CNNRegressor(**FAST).fit(X, X.mean(axis=(1, 2)))
    again = load(reg.save(tmp_path / "reg"))
    assert again.predict(X).shape == (120,)
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))


def test_parameters_naming_code_need_trust(digits, tmp_path):
    X, y = digits
    clf = CNNClassifier(architecture=tiny_architecture, **FAST).fit(X[:200], y[:200])
    clf.save(tmp_path / "own")
    with pytest.raises(ValueError, match=r"architecture names code to import .*trusted=True"):
        load(tmp_path / "own")
    again = load(tmp_path / "own", trusted=True)
    assert again.architecture is tiny_architecture
    np.testing.assert_array_equal(again.predict(X[:50]), clf.predict(X[:50]))


def test_lambda_layer_refused_unless_trusted(digits, tmp_path):
    X, y = digits
    clf = CNNClassifier(model=lambda_model, **FAST).fit(X[:200], y[:200])
    clf.save(tmp_path / "lam")
    with pytest.raises(ValueError, match="trusted=True"):
        load(tmp_path / "lam")
    again = load(tmp_path / "lam", trusted=True)
    np.testing.assert_array_equal(again.predict(X[:50]), clf.predict(X[:50]))


def test_truncated_model_file_gives_clear_error(fitted, tmp_path):
    fitted.save(tmp_path / "clf")
    model_file = tmp_path / "clf" / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    with pytest.raises(ValueError, match="model.keras is corrupt or truncated"):
        load(tmp_path / "clf")


def test_corrupt_or_missing_metadata_gives_clear_error(fitted, tmp_path):
    fitted.save(tmp_path / "clf")
    metadata = tmp_path / "clf" / "estimator.json"
    text = metadata.read_text()
    metadata.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match="estimator.json is corrupt or truncated"):
        load(tmp_path / "clf")
    metadata.write_text(json.dumps({**json.loads(text), "class": "os:system"}))
    with pytest.raises(ValueError, match="not a sklearn_keras_hpo estimator"):
        load(tmp_path / "clf")
    with pytest.raises(FileNotFoundError, match="not a directory written by save"):
        load(tmp_path / "nothing-here")


def test_save_refuses_an_unfitted_estimator(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        CNNClassifier().save(tmp_path / "x")
