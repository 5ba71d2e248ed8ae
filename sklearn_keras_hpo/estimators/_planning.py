"""Estimator parameters -> the plain parts of a ``training.FitPlan``.

Pure functions of the parameter dict (``get_params(deep=False)`` with scikeras's
precedence applied by ``_scikeras.effective_params``: routed ``model__*``,
``optimizer__*``, ``loss__*``, ... entries included); nothing here trains.
"""

import warnings

import numpy as np

from .._stacklevel import user_stacklevel
from ..model.architectures import resolve_architecture
from ..model.augmentation import LABEL_MIXERS, TRANSFORMS
from ..model.backbones import BACKBONES, weights_digest
from ..model.schedules import EPOCH_COUNT_FREE_SCHEDULES, PLATEAU, inert_schedule_message
from ..training import Checkpointing, ModelSpec, Training, optimizer_kwargs
from . import _callbacks, _routing, _scikeras

KERAS_INITIALIZER_ALIASES = {"uniform": "random_uniform", "normal": "random_normal"}
ARCHITECTURE_PARAMS = (
    "filters",
    "kernel_size",
    "dense_units",
    "n_blocks",
    "residual",
    "dropout",
    "batch_norm",
    "l1",
    "l2",
    "weights",
)
DEFAULT_VALIDATION_FRACTION = 0.1
# optimizer hyperparameters that only act on optimizer names and classes
FLAT_OPTIMIZER_DEFAULTS = {
    "learning_rate": 0.001,
    "momentum": 0.0,
    "nesterov": False,
    "weight_decay": None,
}
KERAS_DEFAULT_BATCH_SIZE = 32  # what batch_size=None means, as in Keras and scikeras
# inert-schedule messages already given in this process (see warn_if_schedule_inert)
_INERT_SCHEDULES_WARNED = set()


def resolve_auto(params, image_shape):
    """``params`` with ``"auto"`` settled for images of ``image_shape``: the architecture
    (``convnet`` from 32 px a side, else the tutorials' ``cnn``), and for the convnet the
    settings that let it learn photos in a few epochs, a cosine schedule and, on colour
    images, horizontal flips; the other nets keep the tutorials' constant rate, no flips.

    >>> params = {"architecture": "auto", "model": None, "lr_schedule": "auto", "flip": "auto"}
    >>> resolve_auto(params, (32, 32, 3))
    {'architecture': 'convnet', 'model': None, 'lr_schedule': 'cosine', 'flip': 'horizontal'}
    >>> resolve_auto(params, (28, 28, 1))
    {'architecture': 'cnn', 'model': None, 'lr_schedule': 'constant', 'flip': None}
    """
    architecture = resolve_architecture(params["architecture"], image_shape)
    convnet = architecture == "convnet" and params["model"] is None
    colour = len(image_shape) == 3 and image_shape[-1] == 3
    settled = {
        "architecture": architecture,
        "lr_schedule": "cosine" if convnet else "constant",
        "flip": "horizontal" if convnet and colour else None,
    }
    return {**params, **{name: value for name, value in settled.items() if _is_auto(params[name])}}


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def augmentation_settings(params):
    """The augmentation parameters, on or off."""
    return {name: params[name] for name in (*TRANSFORMS, *LABEL_MIXERS)}


def uses_label_mixing(params):
    return any(params[name] for name in LABEL_MIXERS)


def uses_augmentation(params):
    return any(augmentation_settings(params).values())


def architecture_hyperparameters(params, output_activation):
    """What a registered builder receives (besides input shape and outputs)."""
    initializer = params["kernel_initializer"]
    return {
        "output_activation": output_activation,
        **{
            name: params[name] for name in ARCHITECTURE_PARAMS if params[name] is not None
        },  # None: the builder's
        "activation": params["activation"] or "linear",
        "kernel_initializer": KERAS_INITIALIZER_ALIASES.get(initializer, initializer),
        **_routing.routed(params, "model"),
    }


def optimizer_settings(params):
    """``(optimizer, constructor kwargs)``: ``optimizer__*`` win over ``learning_rate`` &
    co.; an optimizer instance keeps its own settings (only ``optimizer__*`` change it)."""
    optimizer = params["optimizer"]
    if not isinstance(optimizer, (str, type)):
        changed = sorted(k for k, v in FLAT_OPTIMIZER_DEFAULTS.items() if params[k] != v)
        if changed:
            raise ValueError(
                f"{changed} do not act on an optimizer instance ({optimizer!r}), which keeps its "
                "own settings: pass optimizer__<name>=..., or the optimizer's name or class "
                "instead."
            )
    kwargs = optimizer_kwargs(
        optimizer,
        learning_rate=params["learning_rate"],
        momentum=params["momentum"],
        nesterov=params["nesterov"],
        weight_decay=params["weight_decay"],
        extra=_routing.routed(params, "optimizer", strict=True),
    )
    return optimizer, kwargs


def user_loss(params):
    """The ``loss`` parameter built with its ``loss__*`` arguments (None: the default)."""
    from .._backend import keras_and_tf

    loss = params["loss"]
    if loss is None or (isinstance(loss, (list, tuple)) and all(item is None for item in loss)):
        return None
    keras, _ = keras_and_tf()
    return _scikeras.keras_objects(params["loss"], _routing.routed(params, "loss"), keras.losses)


def user_metrics(params):
    """The ``metrics`` parameter as a list or dict, classes built with ``metrics__*``."""
    from .._backend import keras_and_tf

    if params["metrics"] is None:
        return None
    keras, _ = keras_and_tf()
    metrics = _scikeras.keras_objects(
        params["metrics"], _routing.routed(params, "metrics"), keras.metrics
    )
    return metrics if isinstance(metrics, (list, dict)) else [metrics]


def model_spec(
    params,
    *,
    raw_params,
    extras,
    output_losses,
    default_metrics,
    output_activation,
    meta,
    continue_from=None,
    loss_is_default=False,
):
    """What to build and how to compile it.

    ``params["model"]`` is the builder (``model=`` or ``_keras_build_fn``) or None for
    ``architecture``; ``extras`` the builder's bare arguments; ``output_losses`` the
    default loss for each output width the model may have (the user's ``loss`` wins);
    ``meta`` what a scikeras builder receives as ``meta``; ``continue_from`` a model to
    train on.
    A ``loss`` other than the class default must match the loss a builder compiles with.
    """
    loss, metrics = user_loss(params), user_metrics(params)
    run_eagerly = {"run_eagerly": True} if params["run_eagerly"] else {}
    compile_extra = {**_routing.routed(params, "compile", strict=True), **run_eagerly}
    losses = {width: default if loss is None else loss for width, default in output_losses.items()}
    common = dict(
        optimizer=optimizer_settings(params),
        metrics=metrics or default_metrics,
        compile_kwargs=compile_extra,
        continue_from=continue_from,
    )
    builder = params["model"]
    n_outputs = max(output_losses)
    if builder is None:
        hyperparameters = architecture_hyperparameters(params, output_activation)
        return ModelSpec(
            params["architecture"],
            hyperparameters,
            n_outputs,
            loss=losses[n_outputs],
            output_losses=losses,  # the widths a user's architecture= function may build
            **common,
        )
    builder_kwargs = None
    if not _scikeras.is_keras_model(builder):
        bare = {name: params[name] for name in extras}
        model_args = {**bare, **_routing.routed(params, "model", strict=True)}  # routed beats bare
        builder_compile_kwargs = {
            "loss": loss,
            "metrics": metrics,
            "run_eagerly": params["run_eagerly"],
            **compile_extra,
        }
        builder_kwargs = _scikeras.builder_arguments(
            builder,
            model_args,
            meta=meta,
            compile_kwargs=builder_compile_kwargs,
            params=raw_params,
        )
    checked = None if loss_is_default else loss
    return ModelSpec(
        None,
        {},
        n_outputs,
        loss=checked,
        scikeras_builder=builder,
        builder_kwargs=builder_kwargs,
        output_losses=losses,
        **common,
    )


def initial_learning_rate(spec):
    """The rate the schedule starts from; None: the optimizer's own (a builder's choice,
    or an optimizer instance's setting), read when training starts."""
    return None if spec.scikeras_builder is not None else spec.optimizer[1].get("learning_rate")


def training_settings(params, *, lr0, epochs, initial_epoch=0):
    """Epochs, batches, schedule, augmentation, callbacks and stopping of one fit
    (``epochs`` counted from 0: a continued fit runs ``epochs - initial_epoch``)."""
    schedule = dict(
        name=params["lr_schedule"],
        lr0=lr0,
        epochs=params["lr_schedule_epochs"] or params["epochs"],
        decay=params["lr_decay"],
        step_size=params["lr_step_size"],
        drop=params["lr_drop"],
        min_fraction=params["lr_min_fraction"],
        power=params["lr_power"],
        restart_epochs=params["lr_restart_epochs"],
        warmup_epochs=params["warmup_epochs"],
        patience=params["lr_patience"],
    )
    stopping = (params["n_iter_no_change"], params["tol"]) if params["early_stopping"] else None
    return Training(
        epochs=epochs,
        batch_size=params["batch_size"],
        schedule=schedule,
        augmentation=augmentation_settings(params),
        augment_mode=params["augment_mode"],
        augment_copies=params["augment_copies"],
        early_stopping=stopping,
        callbacks=_scikeras.built_callbacks(params) or None,
        fit_kwargs=_scikeras.fit_kwargs(params),
        verbose=params["verbose"],
        shuffle=params["shuffle"],
        initial_epoch=initial_epoch,
        fine_tuning=fine_tuning_settings(params, lr0),
    )


def fine_tuning_settings(params, lr0):
    """A backbone's phases (``model.fine_tuning``): ``freeze_epochs``, ``fine_tune_layers``,
    the fine-tuning epochs' rate as a factor of the schedule's, batch norm frozen with
    weights. None for the built-in nets (they have no backbone: the phase parameters do
    not act on them); ``weights`` with one of them, or with ``model=``, is an error."""
    backbone = params["model"] is None and params["architecture"] in BACKBONES
    if not backbone:
        if params["weights"] is not None:
            raise ValueError(
                f"weights={params['weights']!r} loads a keras.applications backbone: set "
                f"architecture to one of {sorted(BACKBONES)}, or weights=None "
                f"(architecture={params['architecture']!r}"
                f"{', model=' if params['model'] is not None else ''} has no backbone)."
            )
        return None
    rate = params["fine_tune_learning_rate"]
    factor = 1.0 if rate is None or not lr0 else rate / lr0
    return dict(
        freeze_epochs=params["freeze_epochs"],
        fine_tune_layers=params["fine_tune_layers"],
        lr_factor=factor,
        frozen_batch_norm=params["weights"] is not None,
    )


def resolved_batch_sizes(params, n_train):
    """``params`` with scikeras's batch sizes made concrete for ``n_train`` training
    samples: ``batch_size=None`` is Keras' default (32); -1, for ``batch_size`` or
    ``fit__validation_batch_size``, means all ``n_train`` samples in one batch.

    >>> resolved_batch_sizes({"batch_size": -1}, 100)["batch_size"]
    100
    """
    out = dict(params)
    if out["batch_size"] is None:
        out["batch_size"] = KERAS_DEFAULT_BATCH_SIZE
    for name in ("batch_size", "fit__validation_batch_size"):
        if out.get(name) == -1:
            out[name] = n_train
    return out


def warn_if_schedule_inert(schedule, *, stacklevel):
    """Warn (``UserWarning``) when ``schedule`` (``Training.schedule``) cannot change
    the learning rate within its epochs, naming the parameter to change.

    Each distinct message is given once per process: scikit-learn's searches reset
    Python's warning registry for every fit, so its once-per-location rule would
    repeat it for every candidate and fold. The message names the epochs but not the
    rate, so a search warns once per rung length, not once per learning rate drawn.
    """
    message = inert_schedule_message(**schedule)
    if message is not None and message not in _INERT_SCHEDULES_WARNED:
        _INERT_SCHEDULES_WARNED.add(message)
        warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)


def validation_fraction(params):
    """The share held out for validation: ``validation_fraction``, else scikeras's
    ``validation_split`` (the same shuffled, stratified split), else 0.1 with early
    stopping; None for no split."""
    fraction, split = params["validation_fraction"], params["validation_split"]
    if fraction is not None and split and fraction != split:
        raise ValueError(
            f"validation_fraction={fraction} and validation_split={split} disagree; they name the "
            "same held-out share: set only one."
        )
    fraction = fraction if fraction is not None else (split or None)
    return (
        DEFAULT_VALIDATION_FRACTION if fraction is None and params["early_stopping"] else fraction
    )


def can_continue(params):
    """Whether a longer fit may continue a shorter one's checkpoint and match a straight run:
    schedules of the absolute epoch only (any but "reduce_on_plateau" once
    ``lr_schedule_epochs`` fixes their length), no early stopping, no stateful user callbacks."""
    return (
        # a builder may do anything
        (params["model"] is None or _scikeras.is_keras_model(params["model"]))
        # callbacks that only observe keep warm start (see _callbacks)
        and not _callbacks.non_observing_callbacks(params)
        and not params["early_stopping"]
        and (
            params["lr_schedule"] in EPOCH_COUNT_FREE_SCHEDULES
            or (params["lr_schedule_epochs"] is not None and params["lr_schedule"] != PLATEAU)
        )
        and not isinstance(params["random_state"], np.random.RandomState)
        and isinstance(params["optimizer"], (str, type))
    )


def checkpointing(params, class_name):
    """Where this fit's checkpoints go and what names them, or None (no
    ``checkpoint_dir``, or user callbacks whose state a checkpoint cannot hold)."""
    if params["checkpoint_dir"] is None:
        return None
    non_observing = _callbacks.non_observing_callbacks(params)
    if non_observing:
        _callbacks.warn_checkpoints_off(non_observing, stacklevel=user_stacklevel())
        return None
    named = {
        "class": class_name,
        **_callbacks.without_observers(params),
        "weights": weights_digest(params["weights"]),
        "model": model_fingerprint(params["model"]),
    }
    return Checkpointing(params["checkpoint_dir"], named, can_continue(params))


def model_fingerprint(model):
    """What names ``model=`` in a checkpoint key: a ``keras.Model`` by its configuration,
    compile settings and weights (its repr names neither), anything else as it is."""
    if not _scikeras.is_keras_model(model):
        return model
    import hashlib
    import json

    digest = hashlib.blake2b(digest_size=16)
    compiled = model.get_compile_config() if model.compiled else None
    digest.update(json.dumps([model.get_config(), compiled], sort_keys=True, default=repr).encode())
    for array in model.get_weights():
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).data)
    return f"keras.Model:{digest.hexdigest()}"
