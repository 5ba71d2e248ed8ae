"""Which user callbacks leave warm start, checkpoints and resume on.

A checkpoint holds a fit's weights, optimizer state and history, not a callback's state,
and a longer fit continues a shorter one only if nothing but the absolute epoch steers
training. A callback that only observes (writes logs, files, plots) changes neither, so
it keeps them on. The rule: a callback observes only when

- it says so, with an ``observes_only = True`` attribute (on its class or the object;
  ``observes_only = False`` says it does not), or
- it is one of Keras' own observers: ``TensorBoard``, ``CSVLogger``, ``ProgbarLogger``,
  ``History``, ``RemoteMonitor``, ``ModelCheckpoint`` (exactly those classes, not
  subclasses).

Anything else may steer training: ``EarlyStopping``, ``ReduceLROnPlateau``,
``LearningRateScheduler``, ``TerminateOnNaN``, ``LambdaCallback``, any callback that sets
``model.stop_training`` or the learning rate. With one of those, ``checkpoint_dir`` is not
used (no warm start across rungs, no resume), with a warning naming it, once.

>>> class Logger:
...     observes_only = True
>>> observes_only(Logger()), observes_only(object())
(True, False)
"""

import warnings

from . import _scikeras

KERAS_OBSERVERS = frozenset(
    {"TensorBoard", "CSVLogger", "ProgbarLogger", "History", "RemoteMonitor", "ModelCheckpoint"}
)
CALLBACK_PARAMS = ("callbacks", "fit__callbacks")
_WARNED = set()  # names of the callbacks already warned about in this process


def observes_only(callback):
    """Whether ``callback`` (an object or a class) only observes training."""
    declared = getattr(callback, "observes_only", None)
    if declared is not None:
        return bool(declared)
    cls = callback if isinstance(callback, type) else type(callback)
    return cls.__module__.split(".")[0] in ("keras", "tf_keras") and cls.__name__ in KERAS_OBSERVERS


def user_callbacks(params):
    """The callbacks of ``callbacks`` and ``fit__callbacks``, unbuilt, as one flat list."""
    return [
        c
        for name in CALLBACK_PARAMS
        if params.get(name) is not None
        for c in _scikeras._flat(params[name])
    ]


def non_observing_callbacks(params):
    """The user callbacks that may change training (see the module's rule)."""
    return [c for c in user_callbacks(params) if not observes_only(c)]


def warn_checkpoints_off(callbacks, *, stacklevel):
    """Warn, once per callback, that ``callbacks`` turn ``checkpoint_dir`` off."""
    names = [getattr(c, "__name__", type(c).__name__) for c in callbacks]
    new = [name for name in names if name not in _WARNED]
    if not new:
        return
    _WARNED.update(new)
    warnings.warn(
        f"callbacks {new} may change training (stop it, or set the learning rate), which a "
        "checkpoint cannot hold: checkpoint_dir is not used, so there is no warm start across "
        "rungs and no resume. "
        "A callback that only observes keeps them: give it an attribute observes_only = True "
        f"(Keras' {sorted(KERAS_OBSERVERS)} are known).",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def without_observers(params):
    """``params`` with the observing callbacks left out: they do not name a fit's result
    (and their repr differs in every copy)."""
    return {**params, **{name: None for name in CALLBACK_PARAMS if name in params}}
