"""Behaviour of CNNClassifier / CNNRegressor that sklearn's checks do not cover."""

import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_keras_hpo import CNNClassifier, CNNRegressor

from .conftest import FAST


def test_tags_make_it_a_classifier_and_cv_stratified():
    assert is_classifier(CNNClassifier()) and is_regressor(CNNRegressor())
    assert isinstance(check_cv(5, np.array([0, 1] * 10), classifier=True), StratifiedKFold)


def test_grid_search_uses_stratified_folds(digits_012):
    """On class-sorted data KFold would test each fold on a class it never trained on
    (accuracy 0); StratifiedKFold gives every fold every class."""
    X, y = digits_012
    search = GridSearchCV(CNNClassifier(**{**FAST, "epochs": 4}), {"filters": [4]}, cv=3)
    search.fit(X, y)
    split_scores = [search.cv_results_[f"split{i}_test_score"][0] for i in range(3)]
    assert min(split_scores) > 0.8, split_scores


def test_pipeline_with_scaler_on_flat_pixels(digits):
    X, y = digits
    flat = X.reshape(len(X), -1)
    pipe = make_pipeline(
        StandardScaler(), CNNClassifier(image_shape=(8, 8), **{**FAST, "epochs": 6})
    )
    pipe.fit(flat[:600], y[:600])
    assert pipe[-1].image_shape_ == (8, 8, 1)
    assert pipe.score(flat[600:900], y[600:900]) > 0.6


def test_cross_validate_keeps_every_parameter(digits):
    """The Keras-wrapper trap: epochs must survive the clone inside cross-validation."""
    X, y = digits
    result = cross_validate(
        CNNClassifier(**{**FAST, "epochs": 3}), X[:600], y[:600], cv=3, return_estimator=True
    )
    assert [est.n_epochs_ for est in result["estimator"]] == [3, 3, 3]
    assert np.all(result["test_score"] > 0.5)


NON_DEFAULTS = dict(
    architecture="vgg",
    model=None,
    image_shape=(8, 8, 1),
    image_size=(8, 8),
    channels=1,
    image_cache="memory",
    filters=5,
    kernel_size=2,
    dense_units=7,
    n_blocks=1,
    activation="tanh",
    kernel_initializer="he_uniform",
    dropout=0.1,
    batch_norm=True,
    residual=True,
    l1=1e-5,
    l2=1e-4,
    optimizer="sgd",
    learning_rate=0.05,
    momentum=0.9,
    nesterov=True,
    weight_decay=1e-4,
    batch_size=16,
    epochs=3,
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=2,
    tol=1e-3,
    class_weight="balanced",
    callbacks=[],
    checkpoint_dir="ckpt",
    random_state=7,
    verbose=0,
    lr_schedule="step",
    lr_decay=0.1,
    lr_step_size=2,
    lr_drop=0.25,
    lr_min_fraction=0.1,
    lr_power=2.0,
    lr_restart_epochs=3,
    lr_schedule_epochs=6,
    lr_patience=2,
    warmup_epochs=1,
    rotation=10.0,
    translation=0.1,
    zoom=0.1,
    shear=0.1,
    flip="horizontal",
    elastic=0.1,
    brightness=0.1,
    contrast=0.1,
    gamma=0.1,
    hue=0.0,
    saturation=0.0,
    erasing=0.1,
    randaugment=1,
    mixup=0.2,
    cutmix=0.0,
    augment_mode="precomputed",
    augment_copies=2,
    optimizer__clipnorm=1.0,
    fit__validation_freq=1,
    loss="CategoricalCrossentropy",
    loss__label_smoothing=0.1,
    metrics=["accuracy", "mse"],
    run_eagerly=True,
    shuffle=False,
    warm_start=True,
    validation_split=0.2,
    threshold=0.3,
    weights=None,
    freeze_epochs=1,
    fine_tune_layers=10,
    fine_tune_learning_rate=0.01,
)
# Colour transforms need RGB and two label mixers at once are pointless; weights need a
# keras.applications backbone (the phase parameters are ignored by "vgg"): left at defaults.
LEFT_AT_DEFAULT = ("model", "verbose", "hue", "saturation", "cutmix", "weights")


def test_clone_keeps_every_parameter():
    defaults = CNNClassifier().get_params()
    assert set(NON_DEFAULTS) >= set(defaults), set(defaults) - set(NON_DEFAULTS)
    changed = [k for k in defaults if k not in LEFT_AT_DEFAULT and NON_DEFAULTS[k] == defaults[k]]
    assert not changed, f"not set to a non-default value: {changed}"
    original = CNNClassifier(**NON_DEFAULTS)
    cloned = clone(original)
    assert cloned.get_params() == original.get_params()
    searched = clone(CNNClassifier()).set_params(**NON_DEFAULTS)
    assert searched.get_params() == original.get_params()


def test_non_default_parameters_reach_the_model(digits, tmp_path):
    X, y = digits
    clf = clone(CNNClassifier(**NON_DEFAULTS)).set_params(
        checkpoint_dir=str(tmp_path)
    )  # callbacks=[]: checkpoints on
    clf.fit(X[:240], y[:240])  # run_eagerly: every step in Python
    optimizer = clf.model_.optimizer
    assert type(optimizer).__name__ == "SGD" and optimizer.nesterov and optimizer.clipnorm == 1.0
    assert np.isclose(float(optimizer.momentum), 0.9)
    assert clf.model_.name == "vgg" and 1 <= clf.n_epochs_ <= 3 and clf.best_epoch_ >= 1
    assert clf.model_.run_eagerly and np.isclose(
        clf.model_.loss.get_config()["label_smoothing"], 0.1
    )
    assert {"val_accuracy", "val_mse"} <= set(clf.history_)
    assert any("batch_normalization" in layer.name for layer in clf.model_.layers)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_fitted_round_trip_gives_identical_predictions(digits, tmp_path, dump):
    X, y = digits
    clf = CNNClassifier(**FAST).fit(X[:500], y[:500])
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(clf))
    else:
        joblib.dump(clf, tmp_path / "clf.joblib")
        restored = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(restored.predict_proba(X[500:]), clf.predict_proba(X[500:]))


def test_same_random_state_same_probabilities_in_one_process(digits):
    X, y = digits
    a = CNNClassifier(**{**FAST, "dropout": 0.3}).fit(X[:500], y[:500]).predict_proba(X[500:600])
    b = CNNClassifier(**{**FAST, "dropout": 0.3}).fit(X[:500], y[:500]).predict_proba(X[500:600])
    c = CNNClassifier(**{**FAST, "random_state": 1}).fit(X[:500], y[:500]).predict_proba(X[500:600])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


REPRO_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn_keras_hpo import CNNClassifier
    X, y = load_digits(return_X_y=True)
    clf = CNNClassifier(image_shape=(8, 8), filters=4, dense_units=16, dropout=0.3, epochs=2,
                        batch_size=64, early_stopping=True, random_state=0)
    proba = clf.fit(X[:500] / 16, y[:500]).predict_proba(X[500:600] / 16)
    np.save(sys.argv[1], proba)
    """
)


def test_same_random_state_same_probabilities_in_two_processes(tmp_path):
    outputs = []
    for run in range(2):
        path = tmp_path / f"proba{run}.npy"
        subprocess.run([sys.executable, "-c", REPRO_SCRIPT, str(path)], check=True)
        outputs.append(np.load(path))
    np.testing.assert_array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("layout", ["4d", "3d", "flat", "uint8"])
def test_image_layouts(digits, layout):
    X, y = digits
    forms = {
        "4d": X[..., None],
        "3d": X,
        "flat": X.reshape(len(X), -1),
        "uint8": (X * 255).astype(np.uint8),
    }
    clf = CNNClassifier(**FAST).fit(forms[layout][:500], y[:500])
    assert clf.image_shape_ == (8, 8, 1) and clf.n_features_in_ == 64
    assert clf.predict(forms[layout][500:510]).shape == (10,)


def test_rgb_images_and_string_labels():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(120, 6, 6, 3), dtype=np.uint8)
    y = np.where(X[..., 0].mean(axis=(1, 2)) > 127, "bright", "dark")
    clf = CNNClassifier(architecture="resnet", **FAST).fit(X, y)
    assert set(clf.classes_) == {"bright", "dark"} and clf.image_shape_ == (6, 6, 3)
    assert set(clf.predict(X)) <= {"bright", "dark"}
    assert clf.predict_proba(X).shape == (120, 2)


def test_history_and_early_stopping(digits):
    X, y = digits
    clf = CNNClassifier(**{**FAST, "epochs": 30, "early_stopping": True, "n_iter_no_change": 2})
    clf.fit(X[:600], y[:600])
    history = clf.history_
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history)
    assert all(len(values) == clf.n_epochs_ for values in history.values())
    assert clf.best_epoch_ == int(np.argmin(history["val_loss"])) + 1
    plain = CNNClassifier(**FAST).fit(X[:300], y[:300])
    assert plain.best_epoch_ is None and "val_loss" not in plain.history_


def test_validation_split_is_stratified_and_shuffled(digits_012):
    """Keras' validation_split would take the tail of class-sorted data: one class."""
    X, y = digits_012
    clf = CNNClassifier(validation_fraction=0.2, random_state=0)
    train, validation = clf._split_validation(clf._encode_targets(y), seed=0)
    assert len(np.intersect1d(train, validation)) == 0 and len(train) + len(validation) == len(y)
    counts = np.bincount(y[validation])
    np.testing.assert_allclose(counts / counts.sum(), np.bincount(y) / len(y), atol=0.02)
    fitted = CNNClassifier(**{**FAST, "epochs": 4, "validation_fraction": 0.2}).fit(X, y)
    assert fitted.history_["val_accuracy"][-1] > 0.8


def test_class_weight_balanced_changes_the_fit(digits):
    """From the same initial weights, a few small steps that weight the minority class
    up raise its predicted probability on every sample."""
    X, y = digits
    unbalanced = np.r_[np.flatnonzero(y == 0)[:150], np.flatnonzero(y == 1)[:15]]
    Xu, yu = X[unbalanced], y[unbalanced]
    gentle = {**FAST, "epochs": 1, "learning_rate": 1e-3}
    plain = CNNClassifier(**gentle).fit(Xu, yu).predict_proba(Xu)[:, 1]
    for class_weight in ("balanced", {0: 1.0, 1: 10.0}):
        weighted = CNNClassifier(**gentle, class_weight=class_weight).fit(Xu, yu)
        assert np.all(weighted.predict_proba(Xu)[:, 1] > plain), class_weight
    clf = CNNClassifier(class_weight="balanced")
    weights = clf._training_weights(clf._encode_targets(yu), np.ones(len(yu)))
    np.testing.assert_allclose(np.unique(weights), [165 / (2 * 150), 165 / (2 * 15)])


def test_scikeras_style_builder_and_routing(digits):
    """A builder written for scikeras works unchanged: meta, compile_kwargs, model__*."""
    import keras

    seen = {}

    def get_model(hidden, meta, compile_kwargs):
        seen.update(meta=meta, hidden=hidden)
        model = keras.Sequential(
            [
                keras.Input(meta["X_shape_"][1:]),
                keras.layers.Flatten(),
                keras.layers.Dense(hidden, activation="relu"),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )
        model.compile(loss="categorical_crossentropy", optimizer=compile_kwargs["optimizer"])
        return model

    X, y = digits
    clf = CNNClassifier(model=get_model, model__hidden=12, optimizer__beta_1=0.8, **FAST)
    search = GridSearchCV(clf, {"model__hidden": [12, 20]}, cv=2).fit(X[:400], y[:400])
    assert search.best_params_["model__hidden"] in (12, 20)
    # scikeras's meaning: X_shape_ is X as the model gets it (samples first), n_features_in_ its
    # 2nd entry
    assert seen["meta"]["n_classes_"] == 10 and seen["meta"]["X_shape_"] == (400, 8, 8)  # the refit
    assert seen["meta"]["n_features_in_"] == 8
    fitted = search.best_estimator_
    assert np.isclose(float(fitted.model_.optimizer.beta_1), 0.8)
    assert fitted.score(X[400:600], y[400:600]) > 0.5


def test_own_architecture_callable(digits):
    import keras

    def tiny(input_shape, n_outputs, output_activation, dense_units):
        inputs = keras.Input(input_shape)
        hidden = keras.layers.Dense(dense_units, activation="relu")(keras.layers.Flatten()(inputs))
        return keras.Model(
            inputs, keras.layers.Dense(n_outputs, activation=output_activation)(hidden)
        )

    X, y = digits
    clf = CNNClassifier(architecture=tiny, **FAST).fit(X[:300], y[:300])
    assert clf.model_.layers[2].units == FAST["dense_units"]


def test_regressor_single_and_multi_output():
    rng = np.random.default_rng(0)
    X = rng.random((300, 8, 8)).astype(np.float32)
    y = X[:, :4, :4].mean(axis=(1, 2))
    y = (y - y.mean()) / y.std()
    reg = CNNRegressor(**{**FAST, "architecture": "mlp", "epochs": 20}).fit(X[:200], y[:200])
    assert reg.predict(X).shape == (300,) and "mae" in reg.history_
    assert reg.score(X[200:], y[200:]) > 0.5
    multi = CNNRegressor(**FAST).fit(X, np.c_[y, 2 * y])
    assert multi.predict(X[:5]).shape == (5, 2) and multi.n_outputs_ == 2
