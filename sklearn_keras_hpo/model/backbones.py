"""``keras.applications`` backbones as entries of the architecture registry.

``architecture="mobilenet_v3_small"`` (or another name of ``BACKBONES``) builds the
application with ``include_top=False`` and global average pooling, followed by our
dropout and output layer. In front of it, built-in Keras layers (no ``Lambda``, so a
saved model loads in safe mode) adapt our images to what the backbone expects:

- grayscale is repeated to 3 channels (``Concatenate``); other channel counts are an
  error naming ``architecture``;
- images smaller than ``MIN_SIDE`` (32 px) a side are resized up, bilinear, keeping the
  aspect ratio (28x28 MNIST becomes 32x32);
- pixels: the estimators hand every model float32 values in [0, 1] (uint8 scaled by
  1/255 once, per batch, in ``training.sources.to_float``; float X as given). The adapter
  multiplies by 255 once, so the backbone's own preprocessing sees the 0-255 values it
  was trained on: MobileNetV3, EfficientNetV2 and ConvNeXt rescale or normalise inside
  (``include_preprocessing=True``); ResNetV2 gets its ``preprocess_input``
  (``x / 127.5 - 1``) as a ``Rescaling`` layer.

``weights``: None (random initial weights), ``"imagenet"`` (downloaded by Keras, which
needs a network), or the path of a weights file in the format of Keras' own ``*_notop``
files: the backbone built with ``include_top=False``, saved with ``save_weights``
(:func:`save_backbone_weights` writes one from a trained model). A backbone with weights
is called in inference mode and its batch-norm layers stay frozen (Keras' transfer
learning guide), so their statistics stay the file's; one from scratch trains them, with
the momentum of our own convnet (0.9 instead of the applications' 0.99 or 0.999, whose
statistics a short fit would leave near their initial values).

Examples
--------
>>> from sklearn_keras_hpo.model.architectures import build_model
>>> model = build_model("mobilenet_v3_small", (28, 28, 1), 10, dropout=0.2)
>>> model.output_shape, backbone_of(model).input_shape
((None, 10), (None, 32, 32, 3))
"""

import hashlib
import math
import os
import warnings
from typing import NamedTuple

from .._backend import keras_and_tf
from .architectures import BN_MOMENTUM
from .registry import register_architecture

MIN_SIDE = 32  # the smallest side keras.applications take with include_top=False


class Backbone(NamedTuple):
    """A ``keras.applications`` constructor and what its input must be."""

    application: str  # the keras.applications attribute
    preprocessing_inside: bool  # include_preprocessing=True: it takes 0-255 itself


BACKBONES = {  # float32 weights without the top: 3.6, 11.4, 22.6, 89.9 and 106.1 MiB
    "mobilenet_v3_small": Backbone("MobileNetV3Small", True),
    "mobilenet_v3_large": Backbone("MobileNetV3Large", True),
    "efficientnet_v2_b0": Backbone("EfficientNetV2B0", True),
    "resnet50_v2": Backbone("ResNet50V2", False),
    "convnext_tiny": Backbone("ConvNeXtTiny", True),
}


def backbone_input_shape(name, input_shape):
    """The backbone's ``(height, width, 3)`` for our images of ``input_shape``; a
    ``ValueError`` naming ``architecture`` for images it cannot take."""
    if len(input_shape) != 3 or input_shape[-1] not in (1, 3):
        raise ValueError(
            f"architecture={name!r} takes images of shape (height, width, channels) with 1 "
            f"(grayscale) or 3 (RGB) channels; these reach the model as {tuple(input_shape)}. "
            "Pass image_shape=..., convert the images, or choose another architecture."
        )
    height, width = input_shape[:2]
    scale = max(1.0, MIN_SIDE / min(height, width))
    return (
        max(MIN_SIDE, math.ceil(height * scale - 1e-9)),
        max(MIN_SIDE, math.ceil(width * scale - 1e-9)),
        3,
    )


def build_backbone(name, input_shape, weights=None):
    """The application for images of ``input_shape`` (already 3 channels and large
    enough), with global average pooling, its weights loaded."""
    keras, _ = keras_and_tf()
    entry = BACKBONES[name]
    application = getattr(keras.applications, entry.application)
    kwargs = {"include_preprocessing": True} if entry.preprocessing_inside else {}
    if weights == "imagenet":
        try:
            return application(
                input_shape=input_shape,
                include_top=False,
                weights="imagenet",
                pooling="avg",
                **kwargs,
            )
        except Exception as error:  # no network, a proxy, a broken download
            raise ValueError(
                f"weights='imagenet' for architecture={name!r}: Keras could not download or read "
                f"its ImageNet weights ({error}). Without a network, pass the path of a weights "
                "file instead."
            ) from error
    backbone = application(
        input_shape=input_shape, include_top=False, weights=None, pooling="avg", **kwargs
    )
    if weights is not None:
        load_backbone_weights(backbone, weights, name)
    return backbone


# (backbone, file digest) -> its values: Keras reads a file in seconds, a search each fit
_LOADED = {}
MAX_LOADED = 2


def load_backbone_weights(backbone, path, name):
    """Load a ``save_weights`` file into ``backbone``; a ``ValueError`` naming the file, the
    backbone and ``weights`` when it is missing or holds another network's weights.
    The values of the last files read are kept, by content, for the next fits."""
    key = (name, weights_digest(path))
    if key in _LOADED:
        backbone.set_weights(_LOADED[key])
        return
    _read_weights_file(backbone, path, name)
    _LOADED[key] = backbone.get_weights()
    while len(_LOADED) > MAX_LOADED:
        del _LOADED[next(iter(_LOADED))]


def _read_weights_file(backbone, path, name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            backbone.load_weights(os.fspath(path))
            error = None
        except Exception as raised:  # Keras raises ValueError, OSError, KeyError for a wrong file
            error = raised
    skipped = [
        str(w.message)
        for w in caught
        if "could not be loaded" in str(w.message) or "Skipping" in str(w.message)
    ]
    if error is not None or skipped:
        reason = str(error or skipped[0]).strip().splitlines()[0]
        raise ValueError(
            f"weights={str(path)!r} does not fit architecture={name!r} ({reason}). The file must "
            f"hold the weights of {BACKBONES[name].application} built with include_top=False "
            "(saved with save_weights, as Keras' *_notop files)."
        ) from error


def build_backbone_model(
    name, input_shape, n_outputs, *, output_activation="softmax", dropout=0.25, weights=None
):
    """Adapter layers -> backbone ``name`` -> dropout -> the output layer."""
    keras, _ = keras_and_tf()
    layers = keras.layers
    shape = backbone_input_shape(name, input_shape)
    inputs = keras.Input(input_shape)
    x = inputs if input_shape[-1] == 3 else layers.Concatenate(name="gray_to_rgb")([inputs] * 3)
    if tuple(input_shape[:2]) != shape[:2]:
        x = layers.Resizing(*shape[:2], interpolation="bilinear", name=f"resize_to_{MIN_SIDE}px")(x)
    # our [0, 1] -> the 0-255 the backbone expects
    x = layers.Rescaling(255.0, name="pixels_0_255")(x)
    if not BACKBONES[name].preprocessing_inside:  # ResNetV2's preprocess_input, mode "tf"
        x = layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess_input")(x)
    backbone = build_backbone(name, shape, weights)
    pretrained = weights is not None
    for layer in backbone._flatten_layers(include_self=False):
        if is_batch_norm(layer):
            # with weights: the file's statistics, in every phase; from scratch: statistics
            # that follow a short fit's batches
            layer.trainable = not pretrained
            layer.momentum = BN_MOMENTUM
    # a backbone with weights runs in inference mode in every phase (Keras' fine-tuning guide)
    x = backbone(x, training=False) if pretrained else backbone(x)
    x = layers.Dropout(dropout)(x) if dropout else x
    outputs = layers.Dense(n_outputs, activation=output_activation)(x)
    return keras.Model(inputs, outputs, name=name)


def _register(name):
    def builder(input_shape, n_outputs, *, output_activation="softmax", dropout=0.25, weights=None):
        return build_backbone_model(
            name,
            input_shape,
            n_outputs,
            output_activation=output_activation,
            dropout=dropout,
            weights=weights,
        )

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = (
        f"keras.applications.{BACKBONES[name].application} (include_top=False, global average "
        "pooling) behind the input adapter, then dropout and the output layer."
    )
    register_architecture(name)(builder)
    return builder


for _name in BACKBONES:
    globals()[_name] = _register(_name)


def is_batch_norm(layer):
    keras, _ = keras_and_tf()
    return isinstance(layer, keras.layers.BatchNormalization)


def backbone_of(model):
    """The nested ``keras.applications`` model of a model built here, or None."""
    keras, _ = keras_and_tf()
    return next(
        (layer for layer in getattr(model, "layers", ()) if isinstance(layer, keras.Model)), None
    )


def save_backbone_weights(model, path):
    """Write the backbone of ``model`` (an estimator's ``model_`` built from a name of
    ``BACKBONES``) to ``path`` (ending in ``.weights.h5``), for ``weights=path`` later."""
    backbone = backbone_of(model)
    if backbone is None:
        raise ValueError(
            f"{model.name!r} has no keras.applications backbone (architecture= one of "
            f"{sorted(BACKBONES)})."
        )
    backbone.save_weights(os.fspath(path))
    return path


_DIGESTS = {}  # (path, size, mtime) -> content digest: a search hashes a file once per process


def weights_digest(weights):
    """What names ``weights`` in a checkpoint key: None and "imagenet" as they are, a file
    by its content (not its path), so a changed file never continues an old fit."""
    if weights is None or weights == "imagenet":
        return weights
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise ValueError(
            f"weights={path!r} is not a file: pass the path of a backbone's weights file "
            "(include_top=False, save_weights), 'imagenet' or None."
        )
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.blake2b(digest_size=16)
        with open(path, "rb") as file:
            for chunk in iter(lambda: file.read(2**20), b""):
                digest.update(chunk)
        _DIGESTS[key] = f"file:{digest.hexdigest()}"
    return _DIGESTS[key]
