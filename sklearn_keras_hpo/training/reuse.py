"""Reuse traced Keras models across fits in one process.

Tracing a fresh model's training step costs about a second per fit, which is
most of a small fit's cost and the whole of what a search repeats. Fits that
share a *structure* (architecture, hyperparameters baked into the graph, input
shape, loss, metrics, optimizer class and configuration) train one cached
"trainer" model: its variables (weights and dropout seed states) are copied
from a freshly built, seeded, untraced model, and its optimizer variables are
reset to their initial values with the new learning rate. The result is the
same as training the fresh model, without the tracing.

Fits with a backbone (``model.backbones``) change which layers train between epochs:
the key includes the model's trainable state at rest, and the trainer keeps one traced
step per trainable state (``model.fine_tuning``), so a cached trainer traces each phase
once.

The fitted estimator keeps the fresh model (the trained variables are copied
back into it), never the trainer, so a later fit cannot change an earlier
estimator's ``model_``.
"""

import collections
import os
import threading

from .._backend import keras_and_tf

MAX_CACHED_MODELS = 4
_local = threading.local()  # one cache per thread: concurrent fits never share a trainer


def _cache():
    """This thread's ``structure key -> (trainer model, initial optimizer values)``."""
    if not hasattr(_local, "trainers"):
        _local.trainers = collections.OrderedDict()
    return _local.trainers


def structure_key(parts, model=None):
    """A hashable key from the parts that shape the traced graph (None: do not cache),
    and ``model``'s trainable state (which layers train and which batch-norm layers are
    frozen change the traced step)."""
    if parts is None:
        return None
    try:
        key = repr((parts, trainable_signature(model)) if model is not None else parts)
        hash(key)
    except TypeError:
        return None
    return key


def trainer_for(model, key, compile_kwargs):
    """A traced model with ``model``'s structure, set to ``model``'s initial state.

    ``compile_kwargs`` are ``keras_fit.compile_model``'s loss, metrics, extra.
    Returns ``model`` itself when ``key`` is None (not cacheable).
    """
    if key is None or os.environ.get("SKHPO_MODEL_CACHE") == "0":
        return model
    trainers = _cache()
    if key not in trainers:
        trainers[key] = _new_trainer(model, compile_kwargs)
        while len(trainers) > MAX_CACHED_MODELS:
            trainers.popitem(last=False)
    trainers.move_to_end(key)
    trainer, initial_optimizer_values = trainers[key]
    copy_variables(model.variables, trainer.variables)
    copy_variables(initial_optimizer_values, trainer.optimizer.variables)
    trainer.optimizer.learning_rate = float(model.optimizer.learning_rate.numpy())
    return trainer


def _new_trainer(model, compile_kwargs):
    """Clone and compile ``model`` without touching the global random state the
    rest of the (seeded) fit draws from."""
    from .keras_fit import compile_model
    from .session import thread_random_state

    keras, _ = keras_and_tf()
    with thread_random_state():
        trainer = keras.models.clone_model(model)
        optimizer = model.optimizer.__class__.from_config(model.optimizer.get_config())
        compile_model(trainer, optimizer, **compile_kwargs)
        optimizer.build(trainer.trainable_variables)
    return trainer, [variable.numpy() for variable in optimizer.variables]


def copy_variables(sources, targets):
    """Assign each source (variable or array) to the target variable at the same place."""
    if len(sources) != len(targets):
        raise RuntimeError(f"cannot copy {len(sources)} variables into {len(targets)}")
    for source, target in zip(sources, targets, strict=False):
        target.assign(source)


def trainable_signature(model):
    """A short digest of which of ``model``'s layers are trainable, nested ones included."""
    import hashlib

    flags = "".join(
        "1" if layer.trainable else "0" for layer in model._flatten_layers(include_self=False)
    )
    return hashlib.blake2b(flags.encode(), digest_size=8).hexdigest()


def copy_state(trainer, model):
    """Copy the trained variables and optimizer state back into the estimator's model."""
    copy_variables(trainer.variables, model.variables)
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    copy_variables(trainer.optimizer.variables, model.optimizer.variables)


def clear():
    """Drop this thread's cached trainer models (they are rebuilt on demand)."""
    _cache().clear()


def cached_count():
    """How many trainer models this thread holds."""
    return len(_cache())
