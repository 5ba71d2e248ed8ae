"""Learning-rate schedules as functions of the absolute epoch.

Each entry of ``SCHEDULES`` turns the estimator's flat schedule parameters into
a Keras ``LearningRateSchedule`` evaluated at the epoch number (Keras ships
time-based, step, exponential, cosine, cosine-restarts and polynomial decay;
one-cycle is ours). Because the rate depends only on the absolute epoch,
training resumed at epoch k sees the same rates as a straight run. Warmup
(linear from 0 over ``warmup_epochs``) combines with any schedule.
"reduce_on_plateau" is the one schedule that depends on the validation loss: it
is Keras' ``ReduceLROnPlateau`` callback. ``inert_schedule_message`` says when a
schedule's parameters keep the rate constant over the epochs of a fit (an
"exponential" schedule with ``lr_decay=0``, a "step" one whose step is longer
than the fit).

Examples
--------
>>> from sklearn_keras_hpo.model.schedules import learning_rates
>>> [round(r, 4) for r in learning_rates("time_based", 0.1, epochs=3, decay=1.0)]
[0.1, 0.05, 0.0333]
"""

import inspect
import math

from .._backend import keras_and_tf


def _schedules():
    keras, _ = keras_and_tf()
    return keras.optimizers.schedules


def _one_cycle(lr0, epochs, *, min_fraction, **_):
    """Linear ramp from lr0/25 to lr0 over the first 30% of epochs, then cosine down."""
    peak = max(1, round(0.3 * epochs))

    def rate(epoch):
        if epoch < peak:
            return lr0 / 25 + (lr0 - lr0 / 25) * epoch / peak
        t = min(1.0, (epoch - peak) / max(1, epochs - 1 - peak))
        floor = lr0 * min_fraction
        return floor + (lr0 - floor) * 0.5 * (1 + math.cos(math.pi * t))

    return rate


def _keras(factory):
    def make(lr0, epochs, **params):
        schedule = factory(lr0, epochs, **params)
        return lambda epoch: float(schedule(epoch))

    return make


SCHEDULES = {
    "constant": lambda lr0, epochs, **_: lambda epoch: lr0,
    "time_based": _keras(
        lambda lr0, epochs, decay, **_: _schedules().InverseTimeDecay(lr0, 1, decay)
    ),
    "step": _keras(
        lambda lr0, epochs, step_size, drop, **_: _schedules().ExponentialDecay(
            lr0, step_size, drop, staircase=True
        )
    ),
    "exponential": _keras(
        lambda lr0, epochs, decay, **_: _schedules().ExponentialDecay(lr0, 1, math.exp(-decay))
    ),
    "cosine": _keras(
        lambda lr0, epochs, min_fraction, **_: _schedules().CosineDecay(
            lr0, max(1, epochs - 1), alpha=min_fraction
        )
    ),
    "cosine_restarts": _keras(
        lambda lr0, epochs, restart_epochs, min_fraction, **_: _schedules().CosineDecayRestarts(
            lr0, restart_epochs, alpha=min_fraction
        )
    ),
    "polynomial": _keras(
        lambda lr0, epochs, power, min_fraction, **_: _schedules().PolynomialDecay(
            lr0, max(1, epochs - 1), end_learning_rate=lr0 * min_fraction, power=power
        )
    ),
    "one_cycle": _one_cycle,
}
PLATEAU = "reduce_on_plateau"
# Rates that depend on the absolute epoch only, not on the epoch count: a fit
# continued from a shorter one's checkpoint sees the rates of a straight run.
EPOCH_COUNT_FREE_SCHEDULES = {"constant", "time_based", "step", "exponential", "cosine_restarts"}
SCHEDULE_NAMES = {*SCHEDULES, PLATEAU}


def schedule_function(
    name,
    lr0,
    *,
    epochs,
    decay=0.0,
    step_size=10,
    drop=0.5,
    min_fraction=0.0,
    power=1.0,
    restart_epochs=10,
    warmup_epochs=0,
):
    """``epoch -> learning rate`` for a named schedule, with optional linear warmup."""
    base = SCHEDULES["constant" if name == PLATEAU else name](
        lr0,
        epochs - warmup_epochs,
        decay=decay,
        step_size=step_size,
        drop=drop,
        min_fraction=min_fraction,
        power=power,
        restart_epochs=restart_epochs,
    )

    def rate(epoch):
        if epoch < warmup_epochs:
            return lr0 * (epoch + 1) / (warmup_epochs + 1)
        return base(epoch - warmup_epochs)

    return rate


def learning_rates(name, lr0, *, epochs, **params):
    """The rate of each of ``epochs`` epochs, without training (a preview)."""
    rate = schedule_function(name, lr0, epochs=epochs, **params)
    return [rate(epoch) for epoch in range(epochs)]


def schedule_callbacks(name, lr0, *, epochs, patience=3, monitor="loss", **params):
    """Keras callbacks that apply a schedule and log ``learning_rate`` in the history."""
    keras, _ = keras_and_tf()
    rate = schedule_function(name, lr0, epochs=epochs, **params)
    if name != PLATEAU:
        return [keras.callbacks.LearningRateScheduler(lambda epoch, lr: rate(epoch))]
    warmup = params.get("warmup_epochs", 0)
    return [  # warmup sets the rate; afterwards the plateau callback owns it
        keras.callbacks.LearningRateScheduler(lambda e, lr: rate(e) if e < warmup else lr),
        keras.callbacks.ReduceLROnPlateau(
            monitor=monitor,
            factor=params.get("drop", 0.5),
            patience=patience,
            min_lr=lr0 * params.get("min_fraction", 0.0),
        ),
    ]


# schedule_function's keyword -> the estimator parameter that sets it
ESTIMATOR_PARAMS = {
    "decay": "lr_decay",
    "step_size": "lr_step_size",
    "drop": "lr_drop",
    "min_fraction": "lr_min_fraction",
    "power": "lr_power",
    "restart_epochs": "lr_restart_epochs",
    "warmup_epochs": "warmup_epochs",
    "patience": "lr_patience",
}


def _default(parameter):
    return inspect.signature(schedule_function).parameters[parameter].default


# schedule -> (parameter to change, advice) when its rates are all equal
_INERT_BECAUSE = {
    "time_based": lambda p, epochs: ("decay", "set it above 0, e.g. 0.1"),
    "exponential": lambda p, epochs: ("decay", "set it above 0, e.g. 0.1"),
    "step": lambda p, epochs: (
        ("drop", "set it below 1, e.g. 0.5")
        if p.get("drop", _default("drop")) >= 1
        else ("step_size", f"set it below the {epochs} epochs, or train longer")
    ),
    "cosine": lambda p, epochs: ("min_fraction", "set it below 1"),
    "cosine_restarts": lambda p, epochs: ("min_fraction", "set it below 1"),
    "polynomial": lambda p, epochs: ("min_fraction", "set it below 1"),
}


def inert_schedule_message(name, lr0, *, epochs, patience=3, **params):
    """A warning text when schedule ``name`` cannot change the learning rate within
    ``epochs``, naming the estimator parameter to change; None when it acts.

    "constant" never warns (a constant rate is what it means), nor does a single epoch
    (one epoch has one rate, whatever the schedule). "reduce_on_plateau" warns when its
    patience leaves no epoch for a reduced rate.

    Parameters
    ----------
    name : str
        A name from ``SCHEDULE_NAMES``.
    lr0 : float or None
        The initial learning rate; None: unknown until training (a builder's own
        optimizer). Every schedule scales with it, so whether one acts does not
        depend on it, and the message does not name it (one message covers a
        search over learning rates).
    epochs : int
        The epochs of the fit.
    patience : int, default=3
        Epochs without improvement before "reduce_on_plateau" drops the rate.
    **params
        ``decay``, ``step_size``, ``drop``, ``min_fraction``, ``power``,
        ``restart_epochs``, ``warmup_epochs`` as in ``schedule_function``.

    Returns
    -------
    str or None

    Examples
    --------
    >>> print(inert_schedule_message("step", 0.01, epochs=5, step_size=10))
    lr_schedule='step' keeps the learning rate constant for all 5 epochs: lr_step_size=10 has
    no effect; set it below the 5 epochs, or train longer.
    >>> inert_schedule_message("step", 0.01, epochs=5, step_size=2) is None
    True
    """
    if name == "constant" or epochs < 2:
        return None
    if name == PLATEAU:
        if (
            epochs >= patience + 2
        ):  # no improvement over `patience` epochs, then one at the lower rate
            return None
        parameter, advice = "patience", f"set it below {epochs - 1}, or train longer"
    else:
        rates = learning_rates(name, 1.0 if lr0 is None else lr0, epochs=epochs, **params)
        if not math.isclose(min(rates), max(rates), rel_tol=1e-6):
            return None
        parameter, advice = _INERT_BECAUSE[name](params, epochs)
    value = patience if parameter == "patience" else params.get(parameter, _default(parameter))
    return (
        f"lr_schedule={name!r} keeps the learning rate constant for all {epochs} epochs: "
        f"{ESTIMATOR_PARAMS[parameter]}={value!r} has no effect; {advice}."
    )
