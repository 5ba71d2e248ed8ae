"""Augmentation parameters -> Keras preprocessing layers, applied to training batches.

Each entry of ``TRANSFORMS`` maps one estimator parameter to a factory
``(value, seed) -> keras layer``; a value of 0 or None turns it off. Images are
floats in [0, 1] (uint8 input is scaled on the way in), so value ranges are (0, 1).
MixUp and CutMix act on (images, one-hot labels) and live in ``LABEL_MIXERS``.

Examples
--------
>>> import numpy as np
>>> from sklearn_keras_hpo.augmentation import augmentation_layers
>>> layers = augmentation_layers({"rotation": 15, "zoom": 0.1}, channels=1, seed=0)
>>> [type(layer).__name__ for layer in layers]
['RandomRotation', 'RandomZoom']
"""

from ._backend import keras_and_tf

VALUE_RANGE = (0.0, 1.0)
COLOUR_ONLY = ("hue", "saturation")


def _keras_layers():
    keras, _ = keras_and_tf()
    return keras.layers


def _random_gamma(value, seed):
    keras, tf = keras_and_tf()

    class RandomGamma(keras.layers.Layer):
        """Gamma correction ``x ** g`` with ``g`` drawn from ``[1 - value, 1 + value]``
        per image (Keras has no such layer)."""

        def __init__(self, factor, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.factor, self.seed = float(factor), seed
            self._generator = tf.random.Generator.from_seed(seed or 0)

        def call(self, images, training=True):
            if not training:
                return images
            shape = (tf.shape(images)[0], 1, 1, 1)
            gamma = self._generator.uniform(shape, 1.0 - self.factor, 1.0 + self.factor)
            return tf.pow(tf.clip_by_value(images, 0.0, 1.0), gamma)

    return RandomGamma(min(value, 0.99), seed=seed)


# parameter -> factory(value, seed); the order is the order the layers are applied.
TRANSFORMS = {
    "rotation": lambda v, s: _keras_layers().RandomRotation(v / 360.0, fill_mode="constant", seed=s),
    "translation": lambda v, s: _keras_layers().RandomTranslation(v, v, fill_mode="constant", seed=s),
    "zoom": lambda v, s: _keras_layers().RandomZoom(v, v, fill_mode="constant", seed=s),
    "shear": lambda v, s: _keras_layers().RandomShear(v, v, fill_mode="constant", seed=s),
    "flip": lambda v, s: _keras_layers().RandomFlip(v, seed=s),
    "elastic": lambda v, s: _keras_layers().RandomElasticTransform(
        factor=v, value_range=VALUE_RANGE, fill_mode="constant", seed=s
    ),
    "brightness": lambda v, s: _keras_layers().RandomBrightness(v, value_range=VALUE_RANGE, seed=s),
    "contrast": lambda v, s: _keras_layers().RandomContrast(v, value_range=VALUE_RANGE, seed=s),
    "gamma": _random_gamma,
    "hue": lambda v, s: _keras_layers().RandomHue(v, value_range=VALUE_RANGE, seed=s),
    "saturation": lambda v, s: _keras_layers().RandomSaturation(v, value_range=VALUE_RANGE, seed=s),
    "erasing": lambda v, s: _keras_layers().RandomErasing(factor=v, value_range=VALUE_RANGE, seed=s),
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
    return [factory(on[name], seed + 100 + i) for i, (name, factory) in enumerate(LABEL_MIXERS.items()) if name in on]


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
