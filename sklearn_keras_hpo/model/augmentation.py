"""Augmentation parameters -> Keras preprocessing layers, applied to training batches.

Each entry of ``TRANSFORMS`` maps one estimator parameter to a factory
``(value, seed) -> keras layer``; a value of 0 or None turns it off. Images are
floats in [0, 1] (uint8 input is scaled on the way in), so value ranges are (0, 1).
MixUp and CutMix act on (images, one-hot labels) and live in ``LABEL_MIXERS``.

Every magnitude means a jitter of that size around the original image, in both
directions, so that the average augmented image looks like the average original:

============  =================================================================
rotation      angle drawn from [-rotation, rotation] degrees
translation   shift drawn from [-translation, translation] of the height/width
zoom          scale drawn from [1 - zoom, 1 + zoom], the aspect ratio kept
shear         shear factor drawn from [-shear, shear] along each axis
flip          "horizontal", "vertical" or "horizontal_and_vertical", each half the time
elastic       elastic deformation of every image, of strength ``elastic`` (<= 1)
brightness    ``brightness`` times the value range added or subtracted (<= 1)
contrast      contrast multiplied by a factor from [1 - contrast, 1 + contrast] (<= 1)
gamma         ``x ** g``, g log-uniform in [1 / (1 + gamma), 1 + gamma]
hue           hue turned by up to ``hue`` of a full turn either way (0.5: any hue)
saturation    saturation multiplied by a factor from [1 / (1 + s), 1 + s], log-symmetric
erasing       the fraction of images that get a random patch erased (<= 1)
randaugment   the number of RandAugment operations per image
============  =================================================================

Keras's own layers mean something else for some of these: ``RandomSaturation(f)``
draws from [0, f] with 0.5 meaning "no change", so ``f=0.3`` only desaturates;
``RandomContrast(f)`` with a single float only raises the contrast; ``RandomHue(f)``
turns by at most f/2; ``RandomErasing(f)`` and ``RandomElasticTransform(f)`` draw a
probability from [0, f]. The factories below translate.

Examples
--------
>>> import numpy as np
>>> from sklearn_keras_hpo.model.augmentation import augmentation_layers
>>> layers = augmentation_layers({"rotation": 15, "zoom": 0.1}, channels=1, seed=0)
>>> [type(layer).__name__ for layer in layers]
['RandomRotation', 'RandomZoom']
"""

import math

from .._backend import keras_and_tf

VALUE_RANGE = (0.0, 1.0)
COLOUR_ONLY = ("hue", "saturation")


def _keras_layers():
    keras, _ = keras_and_tf()
    return keras.layers


def _random_gamma(value, seed):
    """Gamma correction ``x ** g``, ``log g`` uniform in ``[-log(1 + value), log(1 + value)]``
    per image, so brighter and darker are equally likely (Keras has no such layer)."""
    keras, tf = keras_and_tf()

    class RandomGamma(keras.layers.Layer):
        def __init__(self, factor, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.factor, self.seed = float(factor), seed
            self._generator = tf.random.Generator.from_seed(seed or 0)

        def call(self, images, training=True):
            if not training:
                return images
            shape = (tf.shape(images)[0], 1, 1, 1)
            spread = math.log1p(self.factor)
            gamma = tf.exp(self._generator.uniform(shape, -spread, spread))
            return tf.pow(tf.clip_by_value(images, 0.0, 1.0), gamma)

    return RandomGamma(value, seed=seed)


def _saturation(value, seed):
    """Keras multiplies the saturation by ``f / (1 - f)`` for ``f`` drawn from the factor
    range; ``[1 / (2 + s), (1 + s) / (2 + s)]`` maps to ``[1 / (1 + s), 1 + s]``."""
    factor = (1.0 / (2.0 + value), (1.0 + value) / (2.0 + value))
    return _keras_layers().RandomSaturation(factor, value_range=VALUE_RANGE, seed=seed)


def _hue(value, seed):
    """Keras turns the hue by ``f / 2`` of a turn, f drawn from [0, factor], either way."""
    return _keras_layers().RandomHue(min(2.0 * value, 1.0), value_range=VALUE_RANGE, seed=seed)


def _contrast(value, seed):
    """A pair: Keras clips a single float's lower bound to 0 (contrast only ever rises)."""
    value = min(value, 1.0)
    return _keras_layers().RandomContrast((value, value), value_range=VALUE_RANGE, seed=seed)


def _brightness(value, seed):
    return _keras_layers().RandomBrightness(min(value, 1.0), value_range=VALUE_RANGE, seed=seed)


def _elastic(value, seed):
    """Every image deformed (probability 1) with strength ``value`` (Keras's ``scale``:
    displacements of ``0.1 * value`` of the image size, smoothed over ``0.05 * value``)."""
    value = min(value, 1.0)
    return _keras_layers().RandomElasticTransform(
        factor=(1.0, 1.0),
        scale=(value, value),
        value_range=VALUE_RANGE,
        fill_mode="constant",
        seed=seed,
    )


def _erasing(value, seed):
    """A pair, so that ``value`` is the probability itself, not the upper bound of one."""
    value = min(value, 1.0)
    return _keras_layers().RandomErasing(factor=(value, value), value_range=VALUE_RANGE, seed=seed)


# parameter -> factory(value, seed); the order is the order the layers are applied.
TRANSFORMS = {
    "rotation": lambda v, s: _keras_layers().RandomRotation(
        v / 360.0, fill_mode="constant", seed=s
    ),
    "translation": lambda v, s: _keras_layers().RandomTranslation(
        v, v, fill_mode="constant", seed=s
    ),
    # width_factor None: one scale for both axes (a pair of factors would stretch the image)
    "zoom": lambda v, s: _keras_layers().RandomZoom(v, None, fill_mode="constant", seed=s),
    "shear": lambda v, s: _keras_layers().RandomShear(v, v, fill_mode="constant", seed=s),
    "flip": lambda v, s: _keras_layers().RandomFlip(v, seed=s),
    "elastic": _elastic,
    "brightness": _brightness,
    "contrast": _contrast,
    "gamma": _random_gamma,
    "hue": _hue,
    "saturation": _saturation,
    "erasing": _erasing,
    "randaugment": lambda v, s: _keras_layers().RandAugment(
        value_range=VALUE_RANGE, num_ops=int(v), factor=0.5, seed=s
    ),
}
LABEL_MIXERS = {
    "mixup": lambda v, s: _keras_layers().MixUp(alpha=v, seed=s),
    "cutmix": lambda v, s: _keras_layers().CutMix(factor=v, seed=s),
}


def active(settings):
    """The augmentation settings that are switched on (not 0, None or False)."""
    return {name: value for name, value in settings.items() if value not in (0, 0.0, None, False)}


def check_colour_settings(settings, channels):
    """Hue and saturation need RGB images."""
    on = [name for name in COLOUR_ONLY if name in active(settings)]
    if on and channels != 3:
        raise ValueError(
            f"{' and '.join(on)} augmentation needs RGB images (3 channels), but the images "
            f"have {channels} channel(s): set {'='.join(on)}=0 for grayscale data."
        )


def augmentation_layers(settings, *, channels, seed):
    """Layers for the active image transforms of ``settings``, each with its own seed."""
    check_colour_settings(settings, channels)
    on = active(settings)
    return [
        factory(on[name], seed + index)
        for index, (name, factory) in enumerate(TRANSFORMS.items())
        if name in on
    ]


def label_mixers(settings, *, seed):
    """MixUp / CutMix layers for the active label-mixing settings."""
    on = active(settings)
    return [
        factory(on[name], seed + 100 + i)
        for i, (name, factory) in enumerate(LABEL_MIXERS.items())
        if name in on
    ]


def make_batch_augmenter(settings, *, channels, n_classes, seed):
    """A ``(images, labels[, weights]) -> same`` function for ``tf.data.Dataset.map``,
    or None when nothing is switched on. With MixUp/CutMix, labels come out one-hot."""
    _, tf = keras_and_tf()
    image_layers = augmentation_layers(settings, channels=channels, seed=seed)
    mixers = label_mixers(settings, seed=seed)
    if not image_layers and not mixers:
        return None

    def augment(images, labels, *weights):
        for layer in image_layers:
            images = layer(images, training=True)
        if mixers:
            labels = tf.one_hot(labels, n_classes) if len(labels.shape) == 1 else labels
            for mixer in mixers:
                mixed = mixer({"images": images, "labels": labels}, training=True)
                images, labels = mixed["images"], mixed["labels"]
        return (images, labels, *weights)

    return augment
