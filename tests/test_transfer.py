"""keras.applications backbones: weights files, freeze then fine-tune, warm start, adapters.

Tiny inputs (24 grayscale 28x28 images, resized to 32 px inside the model) and
``mobilenet_v3_small``, the cheapest backbone; its weights files are made here (no
network). The fits share one structure, so the traced training steps of each phase are
reused from fit to fit (``training.reuse``).
"""

import pickle

import numpy as np
import pytest

from sklearn_keras_hpo import CNNClassifier, HyperbandSearchCV, load
from sklearn_keras_hpo.estimators import _planning
from sklearn_keras_hpo.model.architectures import build_model
from sklearn_keras_hpo.model.backbones import BACKBONES, backbone_of, build_backbone, is_batch_norm
from sklearn_keras_hpo.training import checkpoints, memory, reuse
from sklearn_keras_hpo.training import run as training_run

NAME = "mobilenet_v3_small"
SMALL = dict(architecture=NAME, batch_size=8, learning_rate=0.01, random_state=0)
HEAVY = {"efficientnet_v2_b0", "resnet50_v2", "convnext_tiny"}  # a few seconds each to build


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    y = np.arange(24) % 3
    X = (
        rng.integers(0, 60, (24, 28, 28, 1)).astype(np.uint8)
        + (80 * y).astype(np.uint8)[:, None, None, None]
    )
    return X, y


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """A backbone's weights (random, with batch-norm statistics that are not the initial
    0 and 1) saved as Keras' *_notop files are, and the values it holds."""
    backbone = build_backbone(NAME, (32, 32, 3))
    rng = np.random.default_rng(1)
    for layer in backbone.layers:
        if is_batch_norm(layer):
            layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape))
    path = tmp_path_factory.mktemp("weights") / f"{NAME}.weights.h5"
    backbone.save_weights(str(path))
    return str(path), [w.numpy() for w in backbone.weights]


def snapshots():
    """A callback keeping the backbone's weights at the end of each epoch (in ``.epochs``)."""
    import keras

    class Snapshots(keras.callbacks.Callback):
        epochs = []

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append([w.numpy() for w in backbone_of(self.model).weights])

    return Snapshots()


@pytest.fixture(scope="module")
def fine_tuned(images, weights_file):
    """Head only for 2 epochs, then the top 40 layers for 1 (batch norm frozen throughout)."""
    X, y = images
    snapshot = snapshots()
    clf = CNNClassifier(
        **SMALL,
        weights=weights_file[0],
        freeze_epochs=2,
        fine_tune_layers=40,
        epochs=3,
        callbacks=[snapshot],
    ).fit(X, y)
    return clf, snapshot.epochs


def test_frozen_epochs_keep_every_backbone_weight_and_statistic(fine_tuned, weights_file):
    _, epochs = fine_tuned
    for weights in epochs[:2]:
        assert len(weights) == len(weights_file[1])
        for value, original in zip(weights, weights_file[1], strict=False):
            np.testing.assert_array_equal(value, original)


def test_fine_tuning_changes_the_unfrozen_layers_only(fine_tuned, weights_file):
    clf, epochs = fine_tuned
    backbone = backbone_of(clf.model_)
    top = {
        id(w) for layer in backbone.layers[-40:] if not is_batch_norm(layer) for w in layer.weights
    }
    changed = [
        not np.array_equal(value, original)
        for value, original in zip(epochs[2], weights_file[1], strict=False)
    ]
    unfrozen = [id(w) in top for w in backbone.weights]
    assert sum(changed) >= 5
    assert changed[
        [w.path for w in backbone.weights].index("conv_1/kernel")
    ]  # the last conv's among them
    assert not any(c and not u for c, u in zip(changed, unfrozen, strict=False)), (
        "a frozen weight or statistic changed"
    )
    assert clf.history_["learning_rate"] == pytest.approx([0.01] * 3)


def test_grayscale_28_px_is_resized_and_scaled_once(fine_tuned, images):
    import keras

    clf, _ = fine_tuned
    X, _ = images
    backbone = backbone_of(clf.model_)
    assert backbone.input_shape == (None, 32, 32, 3)
    # uint8 and its float [0, 1] equivalent: the same predictions
    np.testing.assert_allclose(
        clf.predict_proba(X), clf.predict_proba(X.astype(np.float32) / 255), atol=1e-6
    )
    # black and white pixels reach the backbone as 0 and 255, its own rescaling makes them -1 and 1
    adapter = keras.Model(clf.model_.input, clf.model_.get_layer("pixels_0_255").output)
    own = keras.Model(
        backbone.input, backbone.layers[1].output
    )  # MobileNetV3's Rescaling(1/127.5, -1)
    black_white = np.stack([np.zeros((28, 28, 1)), np.ones((28, 28, 1))]).astype(np.float32)
    seen = np.asarray(adapter(black_white))
    np.testing.assert_allclose([seen[0].max(), seen[1].min()], [0.0, 255.0], atol=1e-4)
    np.testing.assert_allclose(np.asarray(own(seen)).reshape(2, -1)[:, 0], [-1.0, 1.0], atol=1e-6)


def test_save_and_load_round_trip_a_fine_tuned_model(fine_tuned, images, tmp_path):
    clf, _ = fine_tuned
    clf.set_params(callbacks=None).save(tmp_path / "saved")
    again = load(tmp_path / "saved")  # safe mode: the adapter is built-in layers only
    np.testing.assert_array_equal(again.predict_proba(images[0]), clf.predict_proba(images[0]))
    assert again.get_params()["fine_tune_layers"] == 40


def test_continued_fit_across_the_phase_switch_equals_a_straight_run(
    images, weights_file, tmp_path, monkeypatch
):
    X, y = images
    initial_epochs = []
    original = training_run._train
    monkeypatch.setattr(
        training_run, "_train", lambda *a: initial_epochs.append(a[-1]) or original(*a)
    )
    params = dict(**SMALL, weights=weights_file[0], freeze_epochs=1, fine_tune_learning_rate=0.001)
    CNNClassifier(**params, epochs=1, checkpoint_dir=str(tmp_path)).fit(X, y)
    continued = CNNClassifier(**params, epochs=3, checkpoint_dir=str(tmp_path)).fit(X, y)
    straight = CNNClassifier(**params, epochs=3).fit(X, y)
    assert initial_epochs == [
        0,
        1,
        0,
    ]  # the second fit continued from epoch 1, after the frozen one
    assert continued.history_ == straight.history_
    assert straight.history_["learning_rate"] == pytest.approx([0.01, 0.001, 0.001])
    for a, b in zip(continued.model_.weights, straight.model_.weights, strict=False):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_hyperband_over_freeze_epochs_warm_starts_rungs_exactly(images, weights_file, monkeypatch):
    X, y = images
    initial_epochs = []
    original = training_run._train
    monkeypatch.setattr(
        training_run, "_train", lambda *a: initial_epochs.append(a[-1]) or original(*a)
    )
    runs, split = {}, [(np.arange(0, 24, 2), np.arange(1, 24, 2))]
    for warm in (
        True,
        False,
    ):  # rungs of 1 and 2 epochs; freeze_epochs=1 switches phase in the second
        runs[warm] = (
            HyperbandSearchCV(
                CNNClassifier(**SMALL, weights=weights_file[0], fine_tune_learning_rate=0.001),
                {"freeze_epochs": [0, 1]},
                max_epochs=2,
                factor=2,
                cv=split,
                scoring="neg_log_loss",
                warm_start=warm,
                refit=False,
                random_state=0,
            )
            .fit(X, y)
            .cv_results_
        )
        if warm:
            assert 1 in initial_epochs  # the 2-epoch rung continued a 1-epoch fit
    # to float precision: the same batches and rates; TensorFlow's threaded reductions may
    # differ in the last bits (3e-6 seen once in a full suite run)
    np.testing.assert_allclose(
        runs[True]["mean_test_score"], runs[False]["mean_test_score"], rtol=1e-5
    )
    assert np.isfinite(runs[True]["mean_test_score"]).all()


def test_the_weights_file_content_names_the_checkpoint(weights_file, tmp_path):
    path = tmp_path / "backbone.weights.h5"
    path.write_bytes(open(weights_file[0], "rb").read())
    params = {
        **CNNClassifier(**SMALL, weights=str(path), checkpoint_dir=str(tmp_path)).get_params(),
        "model": None,
    }

    def key():
        return checkpoints.fit_key(
            _planning.checkpointing(params, "CNNClassifier"), 3, "data", np.arange(3), np.ones(3)
        )

    first = key()
    moved = tmp_path / "moved.weights.h5"
    moved.write_bytes(path.read_bytes())
    params["weights"] = str(moved)
    assert key() == first  # the same content elsewhere: the same fit
    with open(moved, "ab") as file:
        file.write(b"\0")
    assert key() != first
    params["freeze_epochs"] = 1
    params["weights"] = str(path)
    assert key() != first  # the phases are part of the key


def test_a_weights_file_of_another_backbone_is_named(images, tmp_path):
    path = tmp_path / "large.weights.h5"
    build_backbone("mobilenet_v3_large", (32, 32, 3)).save_weights(str(path))
    with pytest.raises(
        ValueError, match=r"weights=.*large\.weights\.h5.*architecture='mobilenet_v3_small'"
    ):
        CNNClassifier(**SMALL, weights=str(path), epochs=1).fit(*images)
    with pytest.raises(ValueError, match=r"weights='.*missing.weights.h5' is not a file"):
        CNNClassifier(**SMALL, weights=str(tmp_path / "missing.weights.h5"), epochs=1).fit(*images)


def test_weights_need_a_backbone_and_images_need_1_or_3_channels(images, weights_file):
    X, y = images
    with pytest.raises(ValueError, match="weights=.*set architecture to one of"):
        CNNClassifier(architecture="convnet", weights=weights_file[0], epochs=1).fit(X, y)
    with pytest.raises(
        ValueError, match="architecture='mobilenet_v3_small' takes images .* 1 .* or 3"
    ):
        CNNClassifier(**SMALL, epochs=1).fit(np.zeros((6, 32, 32, 4), np.float32), np.arange(6) % 2)


@pytest.mark.parametrize(
    "name",
    [n if n not in HEAVY else pytest.param(n, marks=pytest.mark.slow) for n in sorted(BACKBONES)],
)
def test_every_backbone_builds_for_small_images(name):
    model = build_model(name, (8, 8, 1), 3, dropout=0.1)
    out = np.asarray(
        model(np.random.default_rng(0).random((2, 8, 8, 1), np.float32), training=False)
    )
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    backbone = backbone_of(model)
    assert backbone.input_shape == (None, 32, 32, 3)
    # what reaches the backbone for black and white images: 0-255 for those that preprocess inside,
    # ResNetV2's preprocess_input range (-1, 1) for it
    import keras

    feeding = model.layers[model.layers.index(backbone) - 1]
    black_white = np.stack([np.zeros((8, 8, 1)), np.ones((8, 8, 1))]).astype(np.float32)
    seen = np.asarray(keras.Model(model.input, feeding.output)(black_white))
    expected = [0.0, 255.0] if BACKBONES[name].preprocessing_inside else [-1.0, 1.0]
    np.testing.assert_allclose([seen[0].max(), seen[1].min()], expected, atol=1e-4)


def test_memory_guard_and_model_cache_see_the_backbone(weights_file):
    scratch = build_model(NAME, (28, 28, 1), 3)
    pretrained = build_model(NAME, (28, 28, 1), 3, weights=weights_file[0])
    top_level = (
        sum(int(np.prod(layer.output.shape[1:])) for layer in scratch.layers)
        * 4
        * memory.ACTIVATION_COPIES
    )
    weights = scratch.count_params() * 4 * memory.WEIGHT_COPIES
    assert (
        memory.model_bytes(scratch, 8) > weights + 8 * top_level * 10
    )  # the backbone's own activations
    # the same graph, but batch norm frozen with weights: another traced step
    assert reuse.structure_key(("parts",), scratch) != reuse.structure_key(("parts",), pretrained)


def test_pickles_from_before_transfer_learning_get_the_defaults():
    old = CNNClassifier(epochs=2)
    for name in ("weights", "freeze_epochs", "fine_tune_layers", "fine_tune_learning_rate"):
        delattr(old, name)
    again = pickle.loads(pickle.dumps(old))
    assert (
        again.weights,
        again.freeze_epochs,
        again.fine_tune_layers,
        again.fine_tune_learning_rate,
    ) == (None, 0, "all", None)


def test_model_given_as_a_keras_model_keeps_rung_warm_start(digits, tmp_path, monkeypatch):
    import keras

    X, y = digits[0][:200].reshape(200, -1), digits[1][:200]
    net = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    initial_epochs = []
    original = training_run._train
    monkeypatch.setattr(
        training_run, "_train", lambda *a: initial_epochs.append(a[-1]) or original(*a)
    )
    fit = dict(model=net, loss="sparse_categorical_crossentropy", random_state=0)
    CNNClassifier(**fit, epochs=1, checkpoint_dir=str(tmp_path)).fit(X, y)
    continued = CNNClassifier(**fit, epochs=3, checkpoint_dir=str(tmp_path)).fit(X, y)
    straight = CNNClassifier(**fit, epochs=3).fit(X, y)
    assert initial_epochs == [0, 1, 0]
    assert continued.history_ == straight.history_
    other = keras.models.clone_model(net)  # the same configuration, other weights: not continued
    CNNClassifier(**{**fit, "model": other}, epochs=3, checkpoint_dir=str(tmp_path)).fit(X, y)
    assert initial_epochs[-1] == 0


def test_cli_set_fixes_the_backbone_and_its_weights_file(weights_file, tmp_path):
    from sklearn_keras_hpo.cli.parser import build_parser
    from sklearn_keras_hpo.cli.searches import base_estimator, make_search
    from sklearn_keras_hpo.cli.settings import TuneSettings

    args = build_parser().parse_args(
        [
            "tune",
            "--space",
            "transfer",
            "--searcher",
            "hyperband",
            "--set",
            f"architecture={NAME}",
            "--set",
            f"weights={weights_file[0]}",
        ]
    )
    settings = TuneSettings.from_args(args)
    estimator = base_estimator(settings, tmp_path, stream_params={})
    assert (estimator.architecture, estimator.weights) == (NAME, weights_file[0])
    search, searched = make_search(settings, estimator, "accuracy", (28, 28, 1), 24)
    assert "architecture" not in searched  # fixed by --set, not drawn from the preset
    assert {"freeze_epochs", "fine_tune_layers", "learning_rate", "fine_tune_learning_rate"} <= set(
        searched
    )
    assert search.estimator.weights == weights_file[0]
