"""The architecture registry: a name for each model builder, and building from either.

A builder is ``(input_shape, n_outputs, **hyperparameters) -> keras.Model``.
``architectures`` (the tutorials' nets, the modern convnet) and ``backbones`` (the
``keras.applications`` entries) register theirs here; both import this module and
neither imports the other's registrations, so there is no import cycle. The package
``sklearn_keras_hpo.model`` imports both, so the registry is complete once anything
under ``model`` has been imported.
"""

import inspect
from collections.abc import Callable
from typing import Any

from .._backend import keras_and_tf

ARCHITECTURES: dict[str, Callable[..., Any]] = {}


def register_architecture(name):
    """Register a builder under ``name`` (usable as a decorator)."""

    def add(builder):
        ARCHITECTURES[name] = builder
        return builder

    return add


def build_model(architecture, input_shape, n_outputs, **hyperparameters):
    """Build an uncompiled model from a registered name or a builder callable."""
    builder = ARCHITECTURES[architecture] if isinstance(architecture, str) else architecture
    accepted = accepted_kwargs(builder, hyperparameters)
    model = builder(tuple(input_shape), n_outputs, **accepted)
    keras, _ = keras_and_tf()
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"architecture {builder!r} returned {type(model).__name__}, expected a keras.Model"
        )
    return model


def accepted_kwargs(function, kwargs):
    """The subset of ``kwargs`` that ``function``'s signature accepts."""
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return dict(kwargs)
    names = {p.name for p in parameters}
    return {k: v for k, v in kwargs.items() if k in names}
