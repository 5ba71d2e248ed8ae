"""Peak memory of a fit in a fresh process, for the tests that promise bounded memory.

``peak_growth(body, path, mode)`` runs ``PRELUDE`` then ``body`` in a new Python: the prelude
maps the array at ``path``, warms TensorFlow up with a tiny fit of ``clf``, resets the peak
RSS and gives ``body`` ``mapped``, ``y``, ``clf`` and ``mode``; ``body`` calls
``report(*extra)``, which prints the peak RSS growth as a multiple of the array's size.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np

PRELUDE = """
import sys, numpy as np
from sklearn_keras_hpo import CNNClassifier
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
mapped, mode = np.load(sys.argv[1], mmap_mode="r"), sys.argv[2]
y = np.arange(len(mapped)) % 2
clf = CNNClassifier(architecture="mlp", dense_units=4, epochs=1, batch_size=256, random_state=0)
clf.fit(np.zeros((64, *mapped.shape[1:]), np.uint8), y[:64])   # TensorFlow's own memory first
open("/proc/self/clear_refs", "w").write("5")                # reset the peak (VmHWM)
before = rss("VmRSS:")
def report(*extra):
    print((rss("VmHWM:") - before) / mapped.nbytes, *extra)
"""


def write_repeated_images(path, n_images):
    """A uint8 .npy of ``n_images`` copies of one random 64x64x3 image (12 KiB each)."""
    images = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n_images, 64, 64, 3))
    images[:] = np.random.default_rng(0).integers(0, 256, size=images.shape[1:], dtype=np.uint8)
    images.flush()


def peak_growth(body, path, mode):
    """The numbers ``report`` printed. One malloc arena: with glibc's default per-thread arenas,
    TensorFlow's freed batches made identical runs' peaks differ by up to 170 MiB (measured)."""
    script = textwrap.dedent(PRELUDE) + textwrap.dedent(body)
    out = subprocess.run(
        [sys.executable, "-c", script, str(path), mode],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MALLOC_ARENA_MAX": "1"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return [float(value) for value in out.stdout.strip().splitlines()[-1].split()]
