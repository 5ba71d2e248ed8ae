"""TensorFlow threads and GPUs per worker process, and the Dask recipe.

Imported by ``_backend.keras_and_tf`` between importing TensorFlow and
initialising it, which is the only moment thread pools and GPU visibility can
be set.

Threads: joblib's process backends (loky, multiprocessing) export
``OMP_NUM_THREADS = cores // n_jobs`` to their workers, and Dask's nanny exports
``OMP_NUM_THREADS=1``. TensorFlow ignores that variable, so each worker would
start thread pools for the whole machine and the workers would fight over the
cores. We size TensorFlow's intra-op pool from it instead (an explicit
``TF_NUM_INTRAOP_THREADS`` still wins, TensorFlow reads it itself).

GPUs: memory growth is switched on for every visible GPU, so several workers
can share one; with more than one GPU visible, each process takes the GPU the
fewest live processes have claimed (``SKHPO_GPU=<index>`` pins one instead).

Memory: glibc keeps the heap a fit frees (TensorFlow's many threads each get an
arena), so a worker's RSS overstates what it uses. loky measures each worker's RSS
after a forced ``gc.collect()`` and, when it has grown more than 300 MB since the
worker's first task, restarts the worker as "leaking", printing "A worker stopped
while some jobs were given to the executor ... memory leak" (measured in a CLI search
of Fashion-MNIST: +250 MB of RSS after 15 fits a worker, about half of it freed heap).
After every full garbage collection we hand the freed heap back (``malloc_trim``), so
loky's measurement sees the memory in use.

Dask: ``with joblib.parallel_config(backend="dask"):`` around any search sends
its fits to the ``dask.distributed.Client`` that is current; see docs/index.md
for a multi-machine recipe.
"""

import ctypes
import ctypes.util
import fcntl
import functools
import gc
import os
import tempfile
import warnings
from pathlib import Path

CLAIMS = Path(tempfile.gettempdir()) / "skhpo-gpu-claims"


DETERMINISTIC_THREADS = 1


def deterministic(environ=os.environ):
    """Whether ``SKHPO_DETERMINISTIC`` asks for results independent of where a fit runs."""
    return environ.get("SKHPO_DETERMINISTIC", "0") not in ("", "0")


def intra_op_threads(environ=os.environ):
    """Threads for TensorFlow's intra-op pool in this process, or None for its default.

    Deterministic mode: the same number in every process, whatever the environment says
    (``SKHPO_DETERMINISTIC``'s value when it is a number, such as 4 for single fits on a
    larger machine, else ``DETERMINISTIC_THREADS``), because TensorFlow's CPU kernels
    (Eigen's and oneDNN's matmuls and convolutions, their gradients) split their sums by
    the pool's size: the same fit rounds differently at another thread count.
    """
    if deterministic(environ):
        value = environ["SKHPO_DETERMINISTIC"]
        return int(value) if value.isdigit() else DETERMINISTIC_THREADS
    if environ.get("TF_NUM_INTRAOP_THREADS"):
        return None  # TensorFlow applies it
    value = environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def configure_tensorflow(tf):
    """Size thread pools and claim a GPU, before TensorFlow initialises its runtime;
    return freed heap after full garbage collections (``trim_heap_after_full_gc``)."""
    trim_heap_after_full_gc()
    threads = intra_op_threads()
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:  # something in this process started TensorFlow first
            if deterministic():
                warnings.warn(
                    "SKHPO_DETERMINISTIC=1 could not fix TensorFlow's thread count: TensorFlow was "
                    "started before sklearn_keras_hpo was imported, so results may depend on it. "
                    "Import sklearn_keras_hpo first, or set TF_NUM_INTRAOP_THREADS=1.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        pinned = os.environ.get("SKHPO_GPU")
        index = int(pinned) if pinned is not None else claim_gpu(len(gpus))
        gpus = [gpus[index]]
        tf.config.set_visible_devices(gpus, "GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)


def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def _trim_after_full_collection(phase, info, trim=None):
    if phase == "stop" and info.get("generation") == 2:
        trim(0)


def trim_heap_after_full_gc():
    """After every full ``gc.collect()`` of this process, give the heap that is free back
    to the system (once per process; nothing where there is no ``malloc_trim``).

    Returns whether the hook is installed. A trim costs about 35 ms after a fit, well
    under 1 ms when little was freed; full collections are rare outside explicit
    ``gc.collect()`` calls (none during a fit, measured).
    """
    installed = [c for c in gc.callbacks if getattr(c, "func", None) is _trim_after_full_collection]
    if installed:
        return True
    trim = _malloc_trim()
    if trim is None:
        return False
    gc.callbacks.append(functools.partial(_trim_after_full_collection, trim=trim))
    return True


def claim_gpu(n_gpus, claims=CLAIMS, pid=None):
    """Index of the GPU with the fewest claims by live processes; records this process's claim."""
    pid = pid or os.getpid()
    claims.mkdir(parents=True, exist_ok=True)
    with open(claims / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        counts = [0] * n_gpus
        for claim in claims.glob("gpu*-pid*"):
            gpu, owner = (int(part[3:]) for part in claim.name.split("-"))
            if _alive(owner) and gpu < n_gpus:
                counts[gpu] += 1
            else:
                claim.unlink(missing_ok=True)
        choice = counts.index(min(counts))
        (claims / f"gpu{choice}-pid{pid}").touch()
    return choice


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
