"""Estimator parameters -> the plain parts of a ``training.FitPlan``.

Pure functions of the parameter dict (``get_params(deep=False)``, routed
``model__*``/``optimizer__*``/... entries included); nothing here trains.
"""

import numpy as np

from . import _routing
from .augmentation import LABEL_MIXERS, TRANSFORMS
from .schedules import EPOCH_COUNT_FREE_SCHEDULES
from .training import Checkpointing, ModelSpec, Training, optimizer_kwargs

KERAS_INITIALIZER_ALIASES = {"uniform": "random_uniform", "normal": "random_normal"}
ARCHITECTURE_PARAMS = ("filters", "kernel_size", "dense_units", "n_blocks", "dropout", "batch_norm", "l1", "l2")


def augmentation_settings(params):
    """The augmentation parameters, on or off."""
    return {name: params[name] for name in (*TRANSFORMS, *LABEL_MIXERS)}


def uses_label_mixing(params):
    return any(params[name] for name in LABEL_MIXERS)


def architecture_hyperparameters(params, output_activation):
    """What a registered builder receives (besides input shape and outputs)."""
    initializer = params["kernel_initializer"]
    return {
        "output_activation": output_activation,
        **{name: params[name] for name in ARCHITECTURE_PARAMS},
        "activation": params["activation"] or "linear",
        "kernel_initializer": KERAS_INITIALIZER_ALIASES.get(initializer, initializer),
        **_routing.routed(params, "model"),
    }


def model_spec(params, *, n_outputs, output_activation, loss, metrics, meta):
    """What to build and how to compile it; ``meta`` is what a scikeras builder is told."""
    optimizer = params["optimizer"]
    kwargs = optimizer_kwargs(
        optimizer, learning_rate=params["learning_rate"], momentum=params["momentum"],
        nesterov=params["nesterov"], weight_decay=params["weight_decay"],
        extra=_routing.routed(params, "optimizer"),
    )  # fmt: skip
    common = dict(n_outputs=n_outputs, optimizer=(optimizer, kwargs), loss=loss, metrics=metrics,
                  compile_kwargs=_routing.routed(params, "compile"))  # fmt: skip
    if params["model"] is not None:
        builder_kwargs = {**_routing.routed(params, "model"), "meta": meta, "params": params}
        return ModelSpec(None, {}, scikeras_builder=params["model"], builder_kwargs=builder_kwargs, **common)
    return ModelSpec(params["architecture"], architecture_hyperparameters(params, output_activation), **common)


def training_settings(params):
    """Epochs, batches, schedule, augmentation, callbacks and stopping of one fit."""
    schedule = dict(
        name=params["lr_schedule"], lr0=params["learning_rate"], epochs=params["epochs"],
        decay=params["lr_decay"], step_size=params["lr_step_size"], drop=params["lr_drop"],
        min_fraction=params["lr_min_fraction"], power=params["lr_power"],
        restart_epochs=params["lr_restart_epochs"], warmup_epochs=params["warmup_epochs"],
        patience=params["lr_patience"],
    )  # fmt: skip
    stopping = (params["n_iter_no_change"], params["tol"]) if params["early_stopping"] else None
    return Training(
        epochs=params["epochs"], batch_size=params["batch_size"], schedule=schedule,
        augmentation=augmentation_settings(params), augment_mode=params["augment_mode"],
        augment_copies=params["augment_copies"], early_stopping=stopping,
        callbacks=params["callbacks"], callback_kwargs=_routing.routed(params, "callbacks"),
        fit_kwargs=_routing.routed(params, "fit"), verbose=params["verbose"],
    )  # fmt: skip


def can_continue(params):
    """Whether a longer fit may continue a shorter one's checkpoint and match a straight run:
    schedules of the absolute epoch only, no early stopping, no stateful user callbacks."""
    return (
        params["model"] is None
        and params["callbacks"] is None
        and not params["early_stopping"]
        and params["lr_schedule"] in EPOCH_COUNT_FREE_SCHEDULES
        and not isinstance(params["random_state"], np.random.RandomState)
    )


def checkpointing(params, class_name):
    """Where this fit's checkpoints go and what names them, or None (no
    ``checkpoint_dir``, or user callbacks whose state a checkpoint cannot hold)."""
    if params["checkpoint_dir"] is None or params["callbacks"] is not None:
        return None
    return Checkpointing(params["checkpoint_dir"], {"class": class_name, **params}, can_continue(params))
