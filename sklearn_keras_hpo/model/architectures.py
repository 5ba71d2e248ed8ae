"""Model builders: ``(input_shape, n_outputs, **hyperparameters) -> keras.Model``.

Each builder is a small pure function registered by name in ``ARCHITECTURES``
(``model.registry``; the ``keras.applications`` backbones of ``backbones.BACKBONES``
register there too, and importing ``sklearn_keras_hpo.model`` imports both); the
estimators pick one through their ``architecture`` parameter, or take a user's own
callable with the same signature. A builder receives only the hyperparameters its
signature names (or all of them if it takes ``**kwargs``). The registry's names are
importable from here as well.

Examples
--------
>>> from sklearn_keras_hpo.model.architectures import ARCHITECTURES, build_model
>>> sorted(ARCHITECTURES)  # doctest: +NORMALIZE_WHITESPACE
['cnn', 'convnet', 'convnext_tiny', 'efficientnet_v2_b0', 'mlp', 'mobilenet_v3_large',
 'mobilenet_v3_small', 'resnet', 'resnet50_v2', 'vgg']
>>> model = build_model("cnn", (8, 8, 1), 10, filters=8, dense_units=16)
>>> model.output_shape
(None, 10)
"""

import functools
import math

from .._backend import keras_and_tf
from .registry import ARCHITECTURES, accepted_kwargs, build_model, register_architecture

__all__ = [
    "ARCHITECTURES",
    "BN_MOMENTUM",
    "CONVNET_FROM_PX",
    "STEM_TARGET_PX",
    "accepted_kwargs",
    "build_model",
    "cnn",
    "convnet",
    "mlp",
    "register_architecture",
    "resnet",
    "resolve_architecture",
    "stem_halvings",
    "vgg",
]


def _regularizer(l1, l2):
    keras, _ = keras_and_tf()
    return keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None


def _conv(
    x,
    filters,
    kernel_size,
    activation,
    initializer,
    batch_norm,
    regularizer,
    strides=1,
    bn_momentum=0.99,
):
    """Conv2D -> [BatchNorm] -> activation, 'same' padding so tiny images work."""
    keras, _ = keras_and_tf()
    layers = keras.layers
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        kernel_initializer=initializer,
        kernel_regularizer=regularizer,
        use_bias=not batch_norm,
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
    return layers.Activation(activation)(x)


def _dense(x, units, activation, initializer, batch_norm, regularizer, dropout):
    """Dense -> [BatchNorm] -> activation -> [Dropout]."""
    keras, _ = keras_and_tf()
    layers = keras.layers
    x = layers.Dense(
        units,
        kernel_initializer=initializer,
        kernel_regularizer=regularizer,
        use_bias=not batch_norm,
    )(x)
    if batch_norm:
        x = layers.BatchNormalization()(x)
    x = layers.Activation(activation)(x)
    return layers.Dropout(dropout)(x) if dropout else x


def _head(x, inputs, n_outputs, output_activation, name):
    keras, _ = keras_and_tf()
    outputs = keras.layers.Dense(n_outputs, activation=output_activation)(x)
    return keras.Model(inputs, outputs, name=name)


@register_architecture("cnn")
def cnn(
    input_shape,
    n_outputs,
    *,
    output_activation="softmax",
    filters=32,
    kernel_size=3,
    dense_units=128,
    activation="relu",
    kernel_initializer="glorot_uniform",
    dropout=0.25,
    batch_norm=False,
    l1=0.0,
    l2=0.0,
):
    """The tutorials' CNN: conv -> conv -> max-pool -> dropout -> dense -> dropout -> output."""
    keras, _ = keras_and_tf()
    layers = keras.layers
    reg = _regularizer(l1, l2)
    inputs = keras.Input(input_shape)
    x = _conv(inputs, filters, kernel_size, activation, kernel_initializer, batch_norm, reg)
    x = _conv(x, 2 * filters, kernel_size, activation, kernel_initializer, batch_norm, reg)
    x = layers.MaxPooling2D(padding="same")(x)
    x = layers.Dropout(dropout)(x) if dropout else x
    x = layers.Flatten()(x)
    x = _dense(x, dense_units, activation, kernel_initializer, batch_norm, reg, dropout)
    return _head(x, inputs, n_outputs, output_activation, "cnn")


@register_architecture("mlp")
def mlp(
    input_shape,
    n_outputs,
    *,
    output_activation="softmax",
    dense_units=128,
    n_blocks=2,
    activation="relu",
    kernel_initializer="glorot_uniform",
    dropout=0.25,
    batch_norm=False,
    l1=0.0,
    l2=0.0,
):
    """The MNIST tutorial's MLP: flatten, then ``n_blocks`` x (dense -> dropout)."""
    keras, _ = keras_and_tf()
    reg = _regularizer(l1, l2)
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    for _ in range(n_blocks):
        x = _dense(x, dense_units, activation, kernel_initializer, batch_norm, reg, dropout)
    return _head(x, inputs, n_outputs, output_activation, "mlp")


@register_architecture("vgg")
def vgg(
    input_shape,
    n_outputs,
    *,
    output_activation="softmax",
    filters=32,
    kernel_size=3,
    dense_units=128,
    n_blocks=2,
    activation="relu",
    kernel_initializer="glorot_uniform",
    dropout=0.25,
    batch_norm=False,
    l1=0.0,
    l2=0.0,
):
    """VGG-style stack: ``n_blocks`` x (conv -> conv -> max-pool), filters doubling."""
    keras, _ = keras_and_tf()
    layers = keras.layers
    reg = _regularizer(l1, l2)
    inputs = keras.Input(input_shape)
    x = inputs
    for block in range(n_blocks):
        width = filters * 2**block
        for _ in range(2):
            x = _conv(x, width, kernel_size, activation, kernel_initializer, batch_norm, reg)
        x = layers.MaxPooling2D(padding="same")(x)
        x = layers.Dropout(dropout)(x) if dropout else x
    x = layers.Flatten()(x)
    x = _dense(x, dense_units, activation, kernel_initializer, batch_norm, reg, dropout)
    return _head(x, inputs, n_outputs, output_activation, "vgg")


@register_architecture("resnet")
def resnet(
    input_shape,
    n_outputs,
    *,
    output_activation="softmax",
    filters=16,
    kernel_size=3,
    n_blocks=2,
    activation="relu",
    kernel_initializer="he_normal",
    dropout=0.0,
    batch_norm=True,
    l1=0.0,
    l2=0.0,
):
    """A small ResNet: stem conv, ``n_blocks`` residual blocks (downsampling after the
    first), global average pooling."""
    keras, _ = keras_and_tf()
    layers = keras.layers
    reg = _regularizer(l1, l2)
    inputs = keras.Input(input_shape)
    x = _conv(inputs, filters, kernel_size, activation, kernel_initializer, batch_norm, reg)
    for block in range(n_blocks):
        strides = 1 if block == 0 else 2
        width = filters * 2**block
        shortcut = x
        y = _conv(x, width, kernel_size, activation, kernel_initializer, batch_norm, reg, strides)
        y = _conv(y, width, kernel_size, "linear", kernel_initializer, batch_norm, reg)
        if strides != 1 or shortcut.shape[-1] != width:
            shortcut = layers.Conv2D(width, 1, strides=strides, padding="same")(shortcut)
        x = layers.Activation(activation)(layers.Add()([y, shortcut]))
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x) if dropout else x
    return _head(x, inputs, n_outputs, output_activation, "resnet")


# the image size below which "auto" keeps the tutorials' net, and the side the stem reduces to
CONVNET_FROM_PX = 32
STEM_TARGET_PX = 32
# the convnet's batch-norm statistics follow the batches 10x faster than Keras' default
# (0.99): after a few hundred steps (a few epochs of a small set) they are the data's, so
# a short fit does not predict with the initial statistics
BN_MOMENTUM = 0.9


def resolve_architecture(architecture, image_shape):
    """``"auto"``: the modern ``convnet`` for images of at least 32 px a side, else the
    tutorials' ``cnn`` (8x8 digits, 28x28 MNIST). Any other value is returned as is."""
    if architecture != "auto":
        return architecture
    return "convnet" if min(image_shape[:2]) >= CONVNET_FROM_PX else "cnn"


def stem_halvings(image_shape):
    """How often the stem halves the image: to 32 px a side or less (0 for 32 px, 2 for 96,
    3 for 160), so a stage costs about the same at any image size and no weight changes."""
    side = min(image_shape[:2])
    return math.ceil(math.log2(side / STEM_TARGET_PX)) if side > STEM_TARGET_PX else 0


@register_architecture("convnet")
def convnet(
    input_shape,
    n_outputs,
    *,
    output_activation="softmax",
    filters=32,
    kernel_size=3,
    n_blocks=2,
    residual=False,
    activation="relu",
    kernel_initializer="he_normal",
    dropout=0.25,
    batch_norm=True,
    l1=0.0,
    l2=0.0,
):
    """A modern small convnet whose weights do not grow with the image: a stem that halves
    images larger than 32 px to about 32 px (a strided conv, then max-pools), three stages
    of ``n_blocks`` conv + batch norm + activation (widths ``filters`` x 1, 2, 4), each
    followed by a 2x2 max-pool and optionally residual, then global average pooling,
    dropout and the output layer (no flatten of a large map).

    With the defaults (``filters=32, n_blocks=2``), measured by
    ``benchmarks/bench_architectures.py``: 0.290 M weights at 32 px, 0.299 M at 96 and
    160 px; 38.6 M, 28.5 M and 24.0 M multiply-adds per image; 471, 350 and 288 training
    images/s on 2 CPU cores (the tutorials' ``cnn``: 18.9 M weights, 197 M multiply-adds and
    105 images/s at 96 px).
    """
    keras, _ = keras_and_tf()
    layers = keras.layers
    reg = _regularizer(l1, l2)
    conv = functools.partial(
        _conv,
        kernel_size=kernel_size,
        initializer=kernel_initializer,
        batch_norm=batch_norm,
        regularizer=reg,
        bn_momentum=BN_MOMENTUM,
    )
    inputs = keras.Input(input_shape)
    x = inputs
    halvings = stem_halvings(input_shape)
    if halvings:
        x = conv(x, filters, activation=activation, strides=2)
    for _ in range(halvings - 1):
        x = layers.MaxPooling2D(padding="same")(x)
    for stage in range(3):
        width = filters * 2**stage
        shortcut = x
        for block in range(n_blocks):
            last = block == n_blocks - 1
            x = conv(x, width, activation="linear" if (residual and last) else activation)
        if residual:
            if shortcut.shape[-1] != width:
                shortcut = layers.Conv2D(
                    width,
                    1,
                    padding="same",
                    use_bias=False,
                    kernel_initializer=kernel_initializer,
                    kernel_regularizer=reg,
                )(shortcut)
            x = layers.Activation(activation)(layers.Add()([x, shortcut]))
        x = layers.MaxPooling2D(padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x) if dropout else x
    return _head(x, inputs, n_outputs, output_activation, "convnet")
