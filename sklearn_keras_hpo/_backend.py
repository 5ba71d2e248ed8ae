"""Import TensorFlow and Keras once, quietly.

TensorFlow prints absl/oneDNN/CUDA lines straight to file descriptor 2 while it
imports and initialises its devices, before ``TF_CPP_MIN_LOG_LEVEL`` can take
effect. We point fd 2 at a temporary file for that moment only and restore it,
so the user's own stderr is untouched afterwards. Set ``SKHPO_TF_LOGS=1`` to see
the lines anyway.

``SKHPO_DETERMINISTIC=1`` makes results independent of the thread count: oneDNN's
CPU kernels sum in an order that depends on the threads a process has, so a fit at
``n_jobs=1`` (all cores) and the same fit in an ``n_jobs=2`` worker (half the cores)
can differ in the last bits, and now and then one prediction flips. The variable
switches oneDNN off (``TF_ENABLE_ONEDNN_OPTS=0``) before TensorFlow is imported;
measured here, a 28x28 CNN epoch is then about 2x slower on CPU.
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
    if os.environ.get("SKHPO_DETERMINISTIC", "0") not in ("", "0"):
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"  # read by TensorFlow at import
    context = _silenced_stderr_fd() if quiet else contextlib.nullcontext()
    with context, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tensorflow as tf
        import keras

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
