"""Import TensorFlow and Keras once, quietly.

TensorFlow prints absl/oneDNN/CUDA lines straight to file descriptor 2 while it
imports and initialises its devices, before ``TF_CPP_MIN_LOG_LEVEL`` can take
effect. We point fd 2 at a temporary file for that moment only and restore it,
so the user's own stderr is untouched afterwards. Set ``SKHPO_TF_LOGS=1`` to see
the lines anyway.

``SKHPO_DETERMINISTIC=1`` makes results independent of where a fit runs: TensorFlow's
CPU kernels split their sums by the size of the intra-op thread pool, so the same fit
rounds differently at another thread count (a fit at ``n_jobs=1`` uses every core, the
same fit in an ``n_jobs=2`` worker half of them). In deterministic mode ``parallel``
gives every process the same pool size (see ``parallel.intra_op_threads``).
"""

import contextlib
import functools
import logging
import os
import sys
import tempfile
import threading
import warnings


@contextlib.contextmanager
def _silenced_stderr_fd():
    """Send whatever is written to fd 2 to a scratch file while the block runs."""
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile() as scratch:
        os.dup2(scratch.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


_import_lock = threading.Lock()


def keras_and_tf():
    """Return ``(keras, tensorflow)``, importing them quietly on first use."""
    with _import_lock:  # threads of one worker (Dask) must not configure TensorFlow twice
        return _import_keras_and_tf()


@functools.cache
def _import_keras_and_tf():
    quiet = os.environ.get("SKHPO_TF_LOGS", "0") in ("", "0")
    context = _silenced_stderr_fd() if quiet else contextlib.nullcontext()
    with context, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import keras
        import tensorflow as tf

        from .parallel import configure_tensorflow

        configure_tensorflow(tf)  # threads and GPUs, before the runtime starts
        tf.config.list_physical_devices()  # device init logs happen here
    if keras.backend.backend() != "tensorflow":
        raise ImportError(
            "sklearn_keras_hpo needs Keras' TensorFlow backend, but Keras is using "
            f"{keras.backend.backend()!r}; unset KERAS_BACKEND or set it to 'tensorflow'."
        )
    if quiet:
        tf.get_logger().setLevel(logging.ERROR)
        tf.autograph.set_verbosity(0)
    return keras, tf
