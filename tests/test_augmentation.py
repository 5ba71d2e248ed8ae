"""Augmentation: every transform conforms; training data only; reproducible."""

import numpy as np
import pytest
from sklearn.model_selection import cross_validate

from sklearn_keras_hpo import CNNClassifier, plot_augmentations
from sklearn_keras_hpo._backend import keras_and_tf
from sklearn_keras_hpo.augmentation import COLOUR_ONLY, LABEL_MIXERS, TRANSFORMS, make_batch_augmenter

from .conftest import FAST

SETTING = {"flip": "horizontal_and_vertical", "randaugment": 2, "cutmix": 1.0, "erasing": 1.0}


def _batch(channels):
    rng = np.random.default_rng(0)
    images = rng.random((8, 12, 12, channels)).astype(np.float32)
    return images, (np.arange(8) % 3).astype(np.int32)


def _apply(name, images, labels, seed=0):
    augment = make_batch_augmenter({name: SETTING.get(name, 0.4)}, channels=images.shape[-1],
                                   n_classes=3, seed=seed)  # fmt: skip
    return [np.asarray(t) for t in augment(images, labels)]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", sorted(TRANSFORMS) + sorted(LABEL_MIXERS))
def test_every_transform_conforms(name, channels):
    if name in COLOUR_ONLY and channels == 1:
        pytest.skip("colour transform: grayscale is rejected (tested below)")
    keras, _ = keras_and_tf()
    images, labels = _batch(channels)
    keras.utils.set_random_seed(0)
    out_images, out_labels = _apply(name, images, labels)
    keras.utils.set_random_seed(0)
    again_images, _ = _apply(name, images, labels)
    assert out_images.shape == images.shape and np.isfinite(out_images).all()
    assert not np.allclose(out_images, images), "the transform changed nothing"
    np.testing.assert_array_equal(out_images, again_images)  # same seed, same transform
    if name in LABEL_MIXERS:  # mixed one-hot labels: rows are convex combinations
        assert out_labels.shape == (8, 3)
        np.testing.assert_allclose(out_labels.sum(axis=1), 1.0, rtol=1e-5)
        assert (np.count_nonzero(out_labels, axis=1) <= 2).all()
    else:
        np.testing.assert_array_equal(out_labels, labels)


@pytest.mark.parametrize("name", COLOUR_ONLY)
def test_colour_augmentation_on_grayscale_is_refused(name, digits):
    X, y = digits
    with pytest.raises(ValueError, match=f"{name} augmentation needs RGB"):
        CNNClassifier(**FAST, **{name: 0.2}).fit(X[:50], y[:50])


HEAVY = dict(rotation=180.0, brightness=0.9, erasing=1.0, translation=0.3)


def test_validation_split_and_predict_are_never_augmented(digits):
    """With a learning rate of ~0 the weights cannot move, so the validation loss of
    every epoch must be the same number, and the same as without augmentation, unless
    the validation images were augmented."""
    X, y = digits
    frozen = {**FAST, "epochs": 3, "learning_rate": 1e-12, "validation_fraction": 0.3}
    augmented = CNNClassifier(**frozen, **HEAVY).fit(X[:300], y[:300])
    plain = CNNClassifier(**frozen).fit(X[:300], y[:300])
    np.testing.assert_allclose(augmented.history_["val_loss"], plain.history_["val_loss"], rtol=1e-6)
    assert len(set(augmented.history_["val_loss"])) == 1
    assert not np.allclose(augmented.history_["loss"], plain.history_["loss"])  # training was
    np.testing.assert_array_equal(augmented.predict_proba(X[300:400]), plain.predict_proba(X[300:400]))
    assert not any("Random" in type(layer).__name__ for layer in augmented.model_.layers)


def test_precomputed_expands_only_the_training_fold(digits):
    X, y = digits
    copies, batch = 2, FAST["batch_size"]
    result = cross_validate(
        CNNClassifier(**FAST, rotation=10.0, augment_mode="precomputed", augment_copies=copies),
        X[:300], y[:300], cv=3, return_estimator=True,
    )  # fmt: skip
    for estimator in result["estimator"]:
        steps = FAST["epochs"] * -(-200 * (copies + 1) // batch)  # 200 rows in each training fold
        assert int(estimator.model_.optimizer.iterations) == steps


@pytest.mark.parametrize("mode", ["online", "precomputed"])
def test_augmented_fit_is_reproducible(digits, mode):
    X, y = digits
    params = {**FAST, "rotation": 15.0, "zoom": 0.1, "mixup": 0.2, "augment_mode": mode}
    a = CNNClassifier(**params).fit(X[:300], y[:300]).predict_proba(X[300:350])
    b = CNNClassifier(**params).fit(X[:300], y[:300]).predict_proba(X[300:350])
    np.testing.assert_array_equal(a, b)


def test_plot_augmentations_shows_originals_beside_versions(digits):
    X, _ = digits
    figure = plot_augmentations(X, CNNClassifier(rotation=30.0, zoom=0.2), n_images=4, n_versions=3)
    axes = figure.get_axes()
    assert len(axes) == 4 * 4
    original, version = axes[0].get_images()[0].get_array(), axes[1].get_images()[0].get_array()
    np.testing.assert_allclose(original, X[0])
    assert not np.allclose(original, version)
