"""scikeras code as a drop-in: ``model=`` builders, ``meta``, scikeras's keywords and
their precedence (``_scikeras``, ``_planning``). scikeras's own suite runs in
test_scikeras_suite.py."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import CNNClassifier, CNNRegressor

QUICK = dict(epochs=1, batch_size=64, random_state=0)
CLASSIFIER_META = {
    "X_dtype_",
    "y_dtype_",
    "classes_",
    "target_type_",
    "n_classes_",
    "n_features_in_",
    "X_shape_",
    "n_outputs_expected_",
    "y_ndim_",
    "n_outputs_",
    "feature_encoder_",
    "target_encoder_",
}  # scikeras 0.13's keys (its tests/test_param_routing.py)
REGRESSOR_META = CLASSIFIER_META - {"classes_", "n_classes_"}


@pytest.fixture(scope="module")
def flat_digits(digits):
    X, y = digits
    return X.reshape(len(X), -1)[:300], y[:300]


def get_clf(meta, hidden_layer_sizes=(16,), dropout=0.0, seen=None):
    """The canonical scikeras builder: flat features in, softmax out."""
    if seen is not None:
        seen.update(meta)
    inputs = keras.Input(shape=(meta["n_features_in_"],))
    hidden = inputs
    for units in hidden_layer_sizes:
        hidden = keras.layers.Dropout(dropout)(keras.layers.Dense(units, activation="relu")(hidden))
    return keras.Model(inputs, keras.layers.Dense(meta["n_classes_"], activation="softmax")(hidden))


def test_flat_x_reaches_the_builder_flat_with_scikeras_meta(flat_digits):
    X, y = flat_digits
    seen = {}
    clf = CNNClassifier(
        model=get_clf, model__hidden_layer_sizes=(32,), model__seen=seen, **QUICK
    ).fit(X, y)
    assert (
        set(seen) == CLASSIFIER_META
        and seen["X_shape_"] == (300, 64)
        and seen["n_features_in_"] == 64
    )
    assert (
        seen["n_classes_"] == 10
        and seen["target_type_"] == "multiclass"
        and seen["X_dtype_"] == X.dtype
    )
    assert clf.model_.input_shape == (None, 64) and clf.predict(X[:5]).shape == (5,)
    images = CNNClassifier(model=get_clf, model__seen=seen, image_shape=(8, 8), **QUICK)
    with pytest.raises(ValueError):  # a Dense on 64 inputs cannot take (8, 8, 1) images
        images.fit(X, y)
    assert seen["X_shape_"] == (300, 8, 8, 1) and seen["n_features_in_"] == 8


def test_regressor_meta_and_layout():
    rng = np.random.default_rng(0)
    X, seen = rng.random((80, 3, 2)), {}

    def build(meta):
        seen.update(meta)
        inputs = keras.Input(meta["X_shape_"][1:])
        return keras.Model(
            inputs, keras.layers.Dense(meta["n_outputs_"])(keras.layers.Flatten()(inputs))
        )

    reg = CNNRegressor(model=build, **QUICK).fit(X, np.c_[X[:, 0, 0], X[:, 1, 1]])
    assert (
        set(seen) == REGRESSOR_META and seen["X_shape_"] == (80, 3, 2) and seen["n_outputs_"] == 2
    )
    assert reg.predict(X).shape == (80, 2) and reg.target_type_ == "continuous-multioutput"
    with pytest.raises(ValueError, match="dimensions in X"):
        reg.predict(X.reshape(80, 6))


@pytest.mark.parametrize("width, n_classes", [(5, 2), (1, 10)])
def test_output_width_that_does_not_match_the_classes(flat_digits, width, n_classes):
    X, y = flat_digits
    y = y % n_classes

    def build(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        return keras.Model(inputs, keras.layers.Dense(width, activation="softmax")(inputs))

    with pytest.raises(ValueError, match=rf"has {width} output unit.*y has {n_classes} classes"):
        CNNClassifier(model=build, **QUICK).fit(X, y)


def test_one_sigmoid_unit_for_two_classes(flat_digits):
    X, y = flat_digits

    def build(meta, compile_kwargs):
        inputs = keras.Input((meta["n_features_in_"],))
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
        model.compile(**{**compile_kwargs, "loss": compile_kwargs["loss"] or "binary_crossentropy"})
        return model

    labels = np.where(y < 5, "low", "high")
    clf = CNNClassifier(model=build, **{**QUICK, "epochs": 5}, learning_rate=0.05).fit(X, labels)
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 2) and np.allclose(proba.sum(axis=1), 1)
    assert clf.score(X, labels) > 0.7 and set(clf.predict(X)) <= {"low", "high"}


def test_optimizer_learning_rate_wins_over_learning_rate(flat_digits):
    """The issue's search: every fit failed with 'got multiple values for learning_rate'."""
    X, y = flat_digits
    clf = CNNClassifier(
        model=get_clf, optimizer="sgd", learning_rate=0.001, optimizer__learning_rate=0.05, **QUICK
    )
    fitted = clone(clf).fit(X, y)
    assert np.isclose(float(fitted.model_.optimizer.learning_rate), 0.05)
    assert np.allclose(
        fitted.history_["learning_rate"], 0.05
    )  # the schedule starts from the winner
    search = GridSearchCV(
        clf, {"optimizer__learning_rate": [0.01, 0.1]}, cv=2, error_score="raise"
    ).fit(X, y)
    assert search.best_params_["optimizer__learning_rate"] in (0.01, 0.1)


def test_optimizer_as_keras_name_class_or_instance(flat_digits):
    X, y = flat_digits
    instance = keras.optimizers.SGD(learning_rate=0.03, momentum=0.5)
    fitted = CNNClassifier(
        model=get_clf, optimizer=instance, optimizer__nesterov=True, **QUICK
    ).fit(X, y)
    optimizer = fitted.model_.optimizer
    assert optimizer is not instance and int(instance.iterations) == 0  # copied, never trained
    assert np.isclose(float(optimizer.learning_rate), 0.03) and optimizer.nesterov
    assert np.isclose(float(optimizer.momentum), 0.5)
    for name, expected in (("SGD", "SGD"), (keras.optimizers.Adamax, "Adamax")):
        fitted = CNNClassifier(model=get_clf, optimizer=name, **QUICK).fit(X, y)
        assert type(fitted.model_.optimizer).__name__ == expected
    with pytest.raises(ValueError, match="do not act on an optimizer instance"):
        CNNClassifier(model=get_clf, optimizer=instance, learning_rate=0.1, **QUICK).fit(X, y)


def test_loss_metrics_callbacks_and_routed_precedence(flat_digits):
    X, y = flat_digits
    clf = CNNClassifier(
        model=get_clf,
        loss="SparseCategoricalCrossentropy",
        loss__name="my_loss",
        metrics=[keras.metrics.SparseCategoricalAccuracy],
        metrics__0__name="acc_0",
        run_eagerly=True,
        callbacks={"stop": keras.callbacks.EarlyStopping},
        callbacks__stop__monitor="loss",
        callbacks__stop__min_delta=100.0,
        validation_split=0.2,
        fit__epochs=4,
        **QUICK,
    )
    clf.fit(X, y)
    assert clf.model_.loss.name == "my_loss" and clf.model_.run_eagerly
    assert {"acc_0", "val_acc_0", "val_loss"} <= set(clf.history_)
    assert clf.n_epochs_ == 2  # fit__epochs=4 beat epochs=1; the routed callback stopped it after 2


def test_validation_split_is_our_stratified_split_and_must_agree():
    clf = CNNClassifier(validation_split=0.25, random_state=0)
    y = np.repeat([0, 1, 2], 40)  # sorted by class: Keras' tail split would be one class
    _, validation = clf._split_validation(clf._encode_targets(y), seed=0)
    assert np.array_equal(np.bincount(y[validation]), [10, 10, 10])
    disagreeing = CNNClassifier(validation_split=0.25, validation_fraction=0.1)
    with pytest.raises(ValueError, match="disagree"):
        disagreeing._split_validation(disagreeing._encode_targets(y), seed=0)


def test_warm_start_and_partial_fit_continue_the_model(flat_digits):
    X, y = flat_digits
    warm = CNNClassifier(model=get_clf, warm_start=True, **QUICK).fit(X, y)
    model, weights = warm.model_, [w.copy() for w in warm.model_.get_weights()]
    warm.fit(X, y)
    assert warm.model_ is model and not np.allclose(weights[0], model.get_weights()[0])
    cold = CNNClassifier(model=get_clf, **QUICK).fit(X, y)
    first = cold.model_
    assert cold.fit(X, y).model_ is not first
    partial = CNNClassifier(model=get_clf, **QUICK)
    partial.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    partial.partial_fit(X, y)
    assert (
        partial.n_epochs_ == 2
        and len(partial.history_["loss"]) == 2
        and len(partial.classes_) == 10
    )
    with pytest.raises(ValueError, match="not fitted on"):
        partial.partial_fit(X[:20], y[:20] + 10)


def test_bare_builder_arguments_as_in_scikeras(flat_digits):
    X, y = flat_digits
    clf = CNNClassifier(model=get_clf, hidden_layer_sizes=(7,), **QUICK).fit(X, y)
    assert clf.model_.layers[1].units == 7
    assert clone(clf).set_params(hidden_layer_sizes=(9,)).fit(X, y).model_.layers[1].units == 9
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        CNNClassifier(model=get_clf, hiden_layer_sizes=(7,), **QUICK).fit(X, y)
    with pytest.raises(TypeError, match="unexpected keyword argument"):  # no builder to take it
        CNNClassifier(hidden_layer_sizes=(7,), **QUICK).fit(X, y)
    with pytest.raises(ValueError, match="Invalid parameter"):
        clf.set_params(hidden_layer_size=(3,))


def test_a_keras_model_parameter_is_copied_and_uint8_reaches_it_unscaled():
    inputs = keras.Input((1,))
    model = keras.Model(
        inputs, keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(inputs)
    )
    model.compile(optimizer=keras.optimizers.SGD(1e-6), loss="mse")
    X = np.array([[200], [3]], dtype=np.uint8)
    reg = CNNRegressor(model=model, batch_size=2).initialize(X, [0.0, 1.0])
    assert reg.model_ is not model and reg.n_epochs_ == 0
    np.testing.assert_allclose(reg.predict(X), [200.0, 3.0])  # the model's own weights, raw values
    reg.set_params(epochs=1).fit(X, [0.0, 1.0])
    assert model.get_weights()[0][0, 0] == 1.0  # the parameter was not trained


def test_loss_that_differs_from_the_builders_compiled_loss(flat_digits):
    X, y = flat_digits

    def build(meta):
        model = get_clf(meta)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        return model

    with pytest.raises(ValueError, match="but model compiled with"):
        CNNClassifier(model=build, loss="sparse_categorical_crossentropy", **QUICK).fit(X, y)
    same = CNNClassifier(
        model=build, loss=keras.losses.CategoricalCrossentropy(), **{**QUICK, "epochs": 3}
    )
    losses = same.fit(X, y).history_[
        "loss"
    ]  # accepted; one-hot targets (sparse ones would not fit the loss)
    assert len(losses) == 3 and losses[-1] < losses[0]


class _StepCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1


def compiled_clf(meta):
    """get_clf compiled by the builder (one step per execution: callbacks see every batch)."""
    model = get_clf(meta)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize(
    "batch_size, steps", [(-1, 1), (None, 10)]
)  # 300 samples: 1 batch, or 32 a batch
def test_batch_size_minus_one_is_all_samples_and_none_is_kerass_default(
    flat_digits, batch_size, steps
):
    X, y = flat_digits
    counter = _StepCounter()
    clf = CNNClassifier(
        model=compiled_clf, callbacks=[counter], **{**QUICK, "batch_size": batch_size}
    )
    assert (
        counter.steps == 0 and clf.fit(X, y).batch_size == batch_size
    )  # the parameter is kept as given
    assert counter.steps == steps
    routed = CNNClassifier(
        model=compiled_clf, callbacks=[counter], fit__batch_size=-1, **QUICK
    ).fit(X, y)
    assert counter.steps == steps + 1 and routed.batch_size == QUICK["batch_size"]
    with pytest.raises(ValueError, match="'batch_size' parameter"):
        CNNClassifier(batch_size=-2).fit(X, y)


def test_validation_batch_size_is_a_fit_keyword_not_a_builder_argument(flat_digits):
    X, y = (
        flat_digits  # get_clf does not take validation_batch_size: scikeras hands it to Model.fit
    )
    clf = CNNClassifier(model=get_clf, validation_batch_size=-1, validation_split=0.2, **QUICK).fit(
        X, y
    )
    assert "val_loss" in clf.history_ and clf.get_params()["validation_batch_size"] == -1
    assert (
        clone(clf).set_params(validation_batch_size=16).get_params()["validation_batch_size"] == 16
    )
    plain = CNNClassifier(validation_batch_size=8).set_params(validation_batch_size=4)
    assert plain.get_params()["validation_batch_size"] == 4


def test_target_and_feature_encoders_as_in_scikeras(flat_digits):
    X, y = flat_digits
    clf = CNNClassifier(model=get_clf, **QUICK)
    assert not hasattr(clf, "target_encoder_")  # not fitted
    encoder = clf.partial_fit(X, y).target_encoder_
    clf.partial_fit(X[:50], y[:50])
    assert clf.target_encoder_ is encoder
    assert np.array_equal(encoder.inverse_transform([0, 9]), clf.classes_[[0, 9]])
    assert np.array_equal(
        clf.feature_encoder_.fit_transform(X[:3]), X[:3]
    )  # X reaches the model as given
    reg = CNNRegressor(**QUICK).fit(np.random.default_rng(0).random((40, 8, 8)), np.arange(40.0))
    assert np.array_equal(reg.target_encoder_.fit_transform(np.c_[[1.0, 2.0]]), [[1.0], [2.0]])
