"""Losses the estimators choose for themselves (beyond Keras' own names).

``label_weighted_binary_crossentropy(positive, negative)``: binary cross-entropy of
multi-label targets (one sigmoid unit per label) in which each label's term is
weighted by ``positive[j]`` where the label is on and ``negative[j]`` where it is
off; a multi-label ``class_weight`` becomes this loss. Keras' own
``BinaryCrossentropy`` has no per-label weights, and a per-sample weight cannot hold
one weight per label.

The class is defined (and registered with Keras for loading saved models) on first
use, so importing this module does not import TensorFlow; ``register()`` defines it
for ``keras.saving.load_model``.

Examples
--------
>>> import numpy as np
>>> from sklearn_keras_hpo.model.losses import label_weighted_binary_crossentropy
>>> loss = label_weighted_binary_crossentropy([3.0, 1.0], [1.0, 1.0])
>>> y_true = np.array([[1.0, 0.0]])
>>> y_pred = np.array([[0.5, 0.5]])
>>> round(float(loss(y_true, y_pred)), 4)  # (3 * ln 2 + ln 2) / 2
1.3863
"""

import functools

from .._backend import keras_and_tf

PACKAGE = "sklearn_keras_hpo"


def label_weighted_binary_crossentropy(positive, negative):
    """Binary cross-entropy weighted per label: ``positive[j]`` where label ``j`` is on,
    ``negative[j]`` where it is off (a Keras ``Loss``, saved and loaded with the model)."""
    return register()(positive=positive, negative=negative)


@functools.cache
def register():
    """Define the loss class and register it with Keras (once); the class."""
    keras, _ = keras_and_tf()

    @keras.saving.register_keras_serializable(package=PACKAGE)
    class LabelWeightedBinaryCrossentropy(keras.losses.Loss):
        """Binary cross-entropy with one positive and one negative weight per label."""

        def __init__(self, positive, negative, name="label_weighted_binary_crossentropy", **kwargs):
            super().__init__(name=name, **kwargs)
            self.positive = [float(w) for w in positive]
            self.negative = [float(w) for w in negative]

        def call(self, y_true, y_pred):
            ops = keras.ops
            y_true = ops.cast(y_true, y_pred.dtype)
            per_label = keras.losses.binary_crossentropy(
                ops.expand_dims(y_true, -1), ops.expand_dims(y_pred, -1)
            )
            positive = ops.convert_to_tensor(self.positive, dtype=y_pred.dtype)
            negative = ops.convert_to_tensor(self.negative, dtype=y_pred.dtype)
            weights = y_true * positive + (1.0 - y_true) * negative
            return ops.mean(per_label * weights, axis=-1)

        def get_config(self):
            return {**super().get_config(), "positive": self.positive, "negative": self.negative}

        def __repr__(self):  # equal weights, equal repr: fits may share a traced model
            return f"{type(self).__name__}(positive={self.positive}, negative={self.negative})"

    return LabelWeightedBinaryCrossentropy
