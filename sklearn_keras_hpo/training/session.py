"""What a fit leaves behind in the process, scoped: seeds, gradient registrations,
TensorFlow's kernel cache."""

import contextlib
import random
import threading

import numpy as np

from .._backend import keras_and_tf


class _ThreadRandom:
    """Stands in for the ``random`` module inside Keras' seed generator.

    Keras draws every default seed (dropout, initializers) from Python's global
    ``random``, which other threads of a worker (Dask's event loop) also draw from,
    so a fit's weights could change with what else the process was doing. Inside
    ``seeded`` this thread draws from its own generator instead.
    """

    def __init__(self):
        self.local = threading.local()

    def __getattr__(self, name):
        return getattr(getattr(self.local, "rng", None) or random, name)


_THREAD_RANDOM = _ThreadRandom()


@contextlib.contextmanager
def thread_random_state():
    """Restore, after the block, the generator Keras draws default seeds from here."""
    generator = getattr(_THREAD_RANDOM.local, "rng", None) or random
    state = generator.getstate()
    try:
        yield
    finally:
        generator.setstate(state)


@contextlib.contextmanager
def seeded(seed):
    """Seed Python, NumPy and Keras for the block (Keras' default seeds from a
    generator private to this thread); restore Python's and NumPy's global
    generators afterwards."""
    keras_and_tf()
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    seed_generator.python_random = _THREAD_RANDOM
    python_state, numpy_state = random.getstate(), np.random.get_state()
    previous, _THREAD_RANDOM.local.rng = (
        getattr(_THREAD_RANDOM.local, "rng", None),
        random.Random(int(seed)),
    )
    try:
        # keras.utils.set_random_seed, except tf.random.set_seed: that clears TensorFlow's
        # kernel cache, and re-instantiating the traced training step then cost ~0.25 s
        # per fit (measured). Nothing here draws from TensorFlow's global seed: Keras uses
        # stateless ops seeded by its own generators, the shuffle is stateless too.
        global_state.set_global_attribute(GLOBAL_RANDOM_SEED, int(seed))
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
        random.seed(int(seed))
        np.random.seed(int(seed) % 2**32)
        yield
    finally:
        _THREAD_RANDOM.local.rng = previous
        random.setstate(python_state)
        np.random.set_state(numpy_state)


@contextlib.contextmanager
def dropped_gradient_registrations():
    """Forget the gradient functions TensorFlow registers while the block traces.

    Each traced training step calls tf.distribute's ``all_reduce``, a graph-mode
    ``tf.custom_gradient``, which registers a uniquely named gradient function in a
    global registry and never removes it. The function's closure holds the step's
    tensors, so every traced training graph stayed alive: about 6 MiB of RSS per fit
    when the architecture changes from fit to fit (measured over a random search).
    The traced step already holds its gradient (Keras differentiates with a
    GradientTape, which does not look the registry up), so the names are dropped.
    """
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    before = set(registry) if isinstance(registry, dict) else None
    try:
        yield
    finally:
        if before is not None:
            for name in set(registry) - before:
                if name.startswith("CustomGradient-"):
                    registry.pop(name, None)


KERNEL_CACHE_FITS = 20
_fits_since_clear = 0


def release_kernel_cache():
    """Clear TensorFlow's eager kernel cache every ``KERNEL_CACHE_FITS`` fits.

    Without clearing, RSS grew by about 1.8 MiB per fit (measured: kernels of each
    fit's dataset functions and variables, freed by nothing else); with it, under 1.
    Clearing costs the next fit about 0.25 s (its traced step is instantiated again),
    so it is done now and then, not every fit.
    """
    global _fits_since_clear
    _fits_since_clear += 1
    if _fits_since_clear >= KERNEL_CACHE_FITS:
        from tensorflow.python.eager import context

        context.context().clear_kernel_cache()
        _fits_since_clear = 0
