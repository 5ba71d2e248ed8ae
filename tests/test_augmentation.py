"""Augmentation: every transform conforms; training data only; reproducible."""

import numpy as np
import pytest
from sklearn.model_selection import cross_validate

from sklearn_keras_hpo import CNNClassifier, plot_augmentations
from sklearn_keras_hpo._backend import keras_and_tf
from sklearn_keras_hpo.model.augmentation import (
    COLOUR_ONLY,
    LABEL_MIXERS,
    TRANSFORMS,
    make_batch_augmenter,
)

from .conftest import FAST

SETTING = {"flip": "horizontal_and_vertical", "randaugment": 2, "cutmix": 1.0, "erasing": 1.0}


def _batch(channels):
    rng = np.random.default_rng(0)
    images = rng.random((8, 12, 12, channels)).astype(np.float32)
    return images, (np.arange(8) % 3).astype(np.int32)


def _apply(name, images, labels, seed=0):
    augment = make_batch_augmenter(
        {name: SETTING.get(name, 0.4)}, channels=images.shape[-1], n_classes=3, seed=seed
    )
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


# -- magnitudes: every transform is a jitter of the stated size around the original ---------
def _photos():
    """96 RGB 32x32 crops of scikit-learn's two bundled photographs (real colour statistics)."""
    from sklearn.datasets import load_sample_images

    crops = [
        photo[y : y + 128 : 4, x : x + 128 : 4]
        for photo in load_sample_images().images
        for y in (0, 150, 290)
        for x in (0, 200, 400, 500)
    ]
    return np.tile(np.stack(crops).astype(np.float32) / 255.0, (4, 1, 1, 1))


def _shapes(axes=(12, 6), offset=0.0, n=96, size=48):
    """``n`` copies of one white ellipse (semi-axes in pixels) on black, grayscale."""
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    ellipse = (((xx - offset) / axes[0]) ** 2 + (yy / axes[1]) ** 2 <= 1).astype(np.float32)
    return np.repeat(ellipse[None, ..., None], n, axis=0)


def _moments(images):
    """Centroid (cx, cy) and central second moments (xx, yy, xy) of each image."""
    weights = images[..., 0]
    mass = weights.sum(axis=(1, 2))
    yy, xx = np.mgrid[: weights.shape[1], : weights.shape[2]]
    cx, cy = ((weights * grid).sum(axis=(1, 2)) / mass for grid in (xx, yy))
    dx, dy = xx - cx[:, None, None], yy - cy[:, None, None]
    second = {
        key: (weights * a * b).sum(axis=(1, 2)) / mass
        for key, (a, b) in {"xx": (dx, dx), "yy": (dy, dy), "xy": (dx, dy)}.items()
    }
    return {"cx": cx, "cy": cy, **second}


def _rotation(before, after):
    """Per image: the turn of its principal axis, in degrees."""
    m0, m1 = _moments(before), _moments(after)
    angle = [np.arctan2(2 * m["xy"], m["xx"] - m["yy"]) for m in (m0, m1)]
    return 0.5 * np.degrees(angle[1] - angle[0])


def _hsv(images):
    _, tf = keras_and_tf()
    return tf.image.rgb_to_hsv(images).numpy()


def _hue_turn(before, after):
    """Per image: the median hue change (fraction of a turn) of its coloured pixels."""
    h0, h1 = _hsv(before), _hsv(after)
    turn = (h1[..., 0] - h0[..., 0] + 0.5) % 1.0 - 0.5
    coloured = (h0[..., 1] > 0.2) & (h0[..., 2] > 0.2)
    return np.array(
        [np.median(t[c]) for t, c in zip(turn, coloured, strict=False) if c.sum() >= 20]
    )


def _gamma_exponent(before, after):
    """Per image: log of the gamma exponent, from pixels away from 0 and 1."""
    mid = (before > 0.05) & (before < 0.95)
    ratio = np.log(np.clip(after, 1e-6, 1.0)) / np.log(np.where(mid, before, 0.5))
    return np.array([np.log(np.median(r[m])) for r, m in zip(ratio, mid, strict=False)])


def _log_ratio(statistic):
    return lambda before, after: np.log(np.maximum(statistic(after) / statistic(before), 1e-6))


def _saturation(images):
    return _hsv(images)[..., 1].mean(axis=(1, 2))


def _translation(before, after):
    m0, m1 = _moments(before), _moments(after)
    return np.concatenate([(m1["cx"] - m0["cx"]), (m1["cy"] - m0["cy"])]) / before.shape[1]


def _size(m):
    return np.sqrt(m["xx"] + m["yy"])


# name -> (value, images, per-image effect (0 = unchanged), (lowest, highest) effect the value
#          allows, whether the effect is a log ratio whose exp must average ~1)
JITTERS = {
    "rotation": (20.0, _shapes, _rotation, (-20.0, 20.0), False),
    "translation": (0.1, _shapes, _translation, (-0.1, 0.1), False),
    # Keras's zoom z in [0.8, 1.2] samples a region z times the image: objects scale by 1 / z
    "zoom": (
        0.2,
        _shapes,
        lambda b, a: np.log(_size(_moments(a)) / _size(_moments(b))),
        (-np.log(1.2), -np.log(0.8)),
        True,
    ),
    # a thin horizontal bar sheared vertically by s turns to slope s (the horizontal shear
    # slides it)
    "shear": (
        0.2,
        lambda: _shapes(axes=(16, 1.5)),
        lambda b, a: np.tan(np.radians(_rotation(b, a))),
        (-0.2, 0.2),
        False,
    ),
    "brightness": (
        0.2,
        _photos,
        lambda b, a: a.mean(axis=(1, 2, 3)) - b.mean(axis=(1, 2, 3)),
        (-0.2, 0.2),
        False,
    ),
    "contrast": (
        0.3,
        _photos,
        _log_ratio(lambda x: x.std(axis=(1, 2, 3))),
        (np.log(0.7), np.log(1.3)),
        True,
    ),
    "gamma": (0.3, _photos, _gamma_exponent, (-np.log(1.3), np.log(1.3)), False),
    "hue": (0.1, _photos, _hue_turn, (-0.1, 0.1), False),
    "saturation": (0.3, _photos, _log_ratio(_saturation), (-np.log(1.3), np.log(1.3)), True),
}


def _horizontal_flips(images, out):
    """Fraction of images mirrored left-right; the others must be untouched."""
    flipped = np.all(np.isclose(out, images[:, :, ::-1]), axis=(1, 2, 3))
    untouched = np.all(np.isclose(out, images), axis=(1, 2, 3))
    assert (flipped | untouched).all()
    return flipped.mean()


def _changed(images, out):
    return np.abs(out - images).mean(axis=(1, 2, 3)) > 1e-6


# name -> (value, images, check(images, augmented)): transforms that have no direction
RATES = {
    "flip": (
        "horizontal",
        lambda: _shapes(offset=8.0),
        lambda x, out: 0.3 < _horizontal_flips(x, out) < 0.7,
    ),
    "elastic": (0.5, _shapes, lambda x, out: _changed(x, out).all()),  # every image, not a fraction
    "erasing": (
        0.5,
        _photos,
        lambda x, out: 0.35 < _changed(x, out).mean() < 0.65,
    ),  # the probability
    "randaugment": (2, _photos, lambda x, out: _changed(x, out).mean() > 0.9),
}


def _augment(name, value, images, seed=0):
    augment = make_batch_augmenter({name: value}, channels=images.shape[-1], n_classes=2, seed=seed)
    return np.asarray(augment(images, np.zeros(len(images), np.int32))[0])


def test_every_transform_has_a_magnitude_probe():
    assert set(JITTERS) | set(RATES) == set(TRANSFORMS) and not set(JITTERS) & set(RATES)


@pytest.mark.parametrize("name", sorted(JITTERS))
def test_magnitude_is_a_jitter_of_that_size_around_the_original(name):
    value, make_images, effect, (low, high), log_ratio = JITTERS[name]
    images = make_images()
    effect = effect(images, _augment(name, value, images))
    size = min(-low, high)
    assert len(effect) >= 48 and np.isfinite(effect).all()
    assert (effect > 0.02 * size).mean() > 0.25 and (effect < -0.02 * size).mean() > 0.25, (
        "one direction only"
    )
    assert abs(effect.mean()) < 0.2 * size, (
        f"biased: mean effect {effect.mean():.3g} for a jitter of {size:.3g}"
    )
    assert 1.15 * low < effect.min() and effect.max() < 1.15 * high, (
        f"larger than {name}={value} allows"
    )
    assert np.quantile(np.abs(effect), 0.9) > 0.6 * size, f"much smaller than {name}={value}"
    if log_ratio:  # the mean of the statistic is kept: mean ratio ~1
        assert abs(np.exp(effect).mean() - 1) < 0.1


def test_zoom_keeps_the_aspect_ratio():
    images = _shapes()
    before, after = _moments(images), _moments(_augment("zoom", 0.2, images))
    aspect = np.sqrt(after["xx"] / after["yy"]) / np.sqrt(before["xx"] / before["yy"])
    np.testing.assert_allclose(aspect, 1.0, atol=0.03)


@pytest.mark.parametrize("name", sorted(RATES))
def test_transforms_without_a_direction_act_as_often_as_stated(name):
    value, make_images, check = RATES[name]
    images = make_images()
    assert check(images, _augment(name, value, images))


def test_elastic_strength_grows_with_the_value():
    images = _shapes()
    weak, strong = (np.abs(_augment("elastic", v, images) - images).mean() for v in (0.1, 0.9))
    assert strong > 2 * weak > 0


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
    np.testing.assert_allclose(
        augmented.history_["val_loss"], plain.history_["val_loss"], rtol=1e-6
    )
    assert len(set(augmented.history_["val_loss"])) == 1
    assert not np.allclose(augmented.history_["loss"], plain.history_["loss"])  # training was
    np.testing.assert_array_equal(
        augmented.predict_proba(X[300:400]), plain.predict_proba(X[300:400])
    )
    assert not any("Random" in type(layer).__name__ for layer in augmented.model_.layers)


def test_precomputed_expands_only_the_training_fold(digits):
    X, y = digits
    copies, batch = 2, FAST["batch_size"]
    result = cross_validate(
        CNNClassifier(**FAST, rotation=10.0, augment_mode="precomputed", augment_copies=copies),
        X[:300],
        y[:300],
        cv=3,
        return_estimator=True,
    )
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
