"""The estimators' parameter constraints, as data (checked at the start of ``fit``).

Generated from the registries (architectures, schedules, augmentations) so that a
new entry there is a valid value here without further edits.
"""

import os
from numbers import Integral, Real
from typing import Literal, get_args

from .._sklearn_compat import HasMethods, Hidden, Interval, Options, StrOptions
from ..model import ARCHITECTURES, LABEL_MIXERS, SCHEDULE_NAMES, TRANSFORMS

# the fixed sets of strings, as the type hints of the estimators' signatures name them
Activation = Literal["relu", "tanh", "sigmoid", "elu", "selu", "swish", "gelu", "linear"]
Initializer = Literal[
    "uniform",
    "lecun_uniform",
    "lecun_normal",
    "normal",
    "zeros",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "random_uniform",
    "random_normal",
    "orthogonal",
]
Flip = Literal["auto", "horizontal", "vertical", "horizontal_and_vertical"]
AugmentMode = Literal["online", "precomputed"]

ACTIVATIONS = set(get_args(Activation))
INITIALIZERS = set(get_args(Initializer))
OPTIMIZER_NAMES = {"sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", "nadam", "adamw"}
# Keras' own spellings (scikeras passes them through): "SGD", "Adam", "lion", ...
KERAS_OPTIMIZER_NAMES = {
    "SGD",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adam",
    "Adamax",
    "Nadam",
    "AdamW",
    "ftrl",
    "Ftrl",
    "lion",
    "Lion",
    "adafactor",
    "Adafactor",
}
_KERAS_OBJECT = [None, str, callable, list, dict]  # losses and metrics: names, classes, instances

PARAMETER_CONSTRAINTS = {
    "architecture": [StrOptions({"auto", *ARCHITECTURES}), callable],
    "model": [None, callable],  # a builder function, or a keras.Model (callable too)
    "image_shape": [None, tuple, list],
    "image_size": [None, tuple, list],
    "channels": [None, Options(Integral, {1, 3})],
    "image_cache": [None, str, os.PathLike],
    "filters": [Interval(Integral, 1, None, closed="left")],
    "kernel_size": [Interval(Integral, 1, None, closed="left"), tuple],
    "dense_units": [Interval(Integral, 1, None, closed="left")],
    "n_blocks": [Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(ACTIVATIONS), None],
    "kernel_initializer": [StrOptions(INITIALIZERS)],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_norm": ["boolean", None],
    "residual": ["boolean"],
    "l1": [Interval(Real, 0, None, closed="left")],
    "l2": [Interval(Real, 0, None, closed="left")],
    "weights": [
        None,
        StrOptions({"imagenet"}),
        str,
        os.PathLike,
    ],  # a path: a backbone's weights file
    "freeze_epochs": [Interval(Integral, 0, None, closed="left")],
    "fine_tune_layers": [StrOptions({"all"}), Interval(Integral, 0, None, closed="left")],
    "fine_tune_learning_rate": [None, Interval(Real, 0, None, closed="neither")],
    "optimizer": [
        StrOptions(OPTIMIZER_NAMES),
        Hidden(StrOptions(KERAS_OPTIMIZER_NAMES)),
        type,
        HasMethods(["apply_gradients"]),
    ],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterov": ["boolean"],
    "weight_decay": [None, Interval(Real, 0, None, closed="left")],
    "loss": _KERAS_OBJECT,
    "metrics": _KERAS_OBJECT,
    "run_eagerly": ["boolean"],
    # scikeras: None is Keras' default (32), -1 all training samples in one batch
    "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "warm_start": ["boolean"],
    "lr_schedule": [StrOptions({*SCHEDULE_NAMES, "auto"})],
    "lr_decay": [Interval(Real, 0, None, closed="left")],
    "lr_step_size": [Interval(Integral, 1, None, closed="left")],
    "lr_drop": [Interval(Real, 0, 1, closed="right")],
    "lr_min_fraction": [Interval(Real, 0, 1, closed="both")],
    "lr_power": [Interval(Real, 0, None, closed="neither")],
    "lr_restart_epochs": [Interval(Integral, 1, None, closed="left")],
    "lr_schedule_epochs": [Interval(Integral, 1, None, closed="left"), None],
    "lr_patience": [Interval(Integral, 1, None, closed="left")],
    "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
    **{name: [None, Interval(Real, 0, None, closed="left")] for name in TRANSFORMS},
    "flip": [None, StrOptions(set(get_args(Flip)))],
    "randaugment": [None, Interval(Integral, 0, None, closed="left")],
    **{name: [None, Interval(Real, 0, None, closed="left")] for name in LABEL_MIXERS},
    "augment_mode": [StrOptions(set(get_args(AugmentMode)))],
    "augment_copies": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [None, Interval(Real, 0, 1, closed="neither")],
    "validation_split": [Interval(Real, 0, 1, closed="left")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "class_weight": [None, dict, StrOptions({"balanced"})],
    # a list or dict of callbacks, one callback, or a Callback class (built with callbacks__*)
    "callbacks": [None, list, dict, callable, HasMethods(["set_model"])],
    "checkpoint_dir": [None, str, os.PathLike],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}
