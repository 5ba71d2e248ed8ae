"""Per-worker TensorFlow threads, GPU claims, quiet workers, progress bar, Dask."""

import json
import os
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import CNNClassifier, progress_bar
from sklearn_keras_hpo.parallel import claim_gpu, intra_op_threads
from tests.conftest import FAST

GRID = {"learning_rate": [0.01, 0.05], "activation": ["relu", "tanh"]}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_intra_op_threads_rules():
    assert intra_op_threads({}) is None  # TensorFlow's default
    assert intra_op_threads({"OMP_NUM_THREADS": "3"}) == 3  # what joblib gives each worker
    assert intra_op_threads({"OMP_NUM_THREADS": "3", "TF_NUM_INTRAOP_THREADS": "5"}) is None
    assert intra_op_threads({"OMP_NUM_THREADS": "junk"}) is None
    for environ in (
        {},
        {"OMP_NUM_THREADS": "3"},
        {"TF_NUM_INTRAOP_THREADS": "5"},
    ):  # one size everywhere
        assert intra_op_threads({**environ, "SKHPO_DETERMINISTIC": "1"}) == 1
        assert intra_op_threads({**environ, "SKHPO_DETERMINISTIC": "4"}) == 4
        assert intra_op_threads({**environ, "SKHPO_DETERMINISTIC": "yes"}) == 1


def _worker_threads():
    from sklearn_keras_hpo._backend import keras_and_tf

    _, tf = keras_and_tf()
    return tf.config.threading.get_intra_op_parallelism_threads()


def test_joblib_workers_size_tensorflow_threads():
    threads = joblib.Parallel(n_jobs=2)(joblib.delayed(_worker_threads)() for _ in range(2))
    assert threads == [max(1, joblib.cpu_count() // 2)] * 2


def test_claim_gpu_spreads_live_processes(tmp_path):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert claim_gpu(2, tmp_path, pid=os.getpid()) == 0
        assert claim_gpu(2, tmp_path, pid=os.getppid()) == 1
        (tmp_path / "gpu1-pid999999999").touch()  # a dead process's claim does not count
        assert claim_gpu(2, tmp_path, pid=1) == 0  # counts were [1, 1]: lowest index
        assert not (tmp_path / "gpu1-pid999999999").exists()
        assert claim_gpu(2, tmp_path, pid=sleeper.pid) == 1  # counts were [2, 1]
    finally:
        sleeper.kill()


def test_progress_bar_counts_every_fit(digits):
    """GridSearchCV counted through the bar's scikit-learn callback: each fit as it ends,
    in this process or in a worker process."""
    X, y = digits[0][:200], digits[1][:200]
    for n_jobs in (1, 2):
        search = GridSearchCV(CNNClassifier(**{**FAST, "epochs": 1}), GRID, cv=2, n_jobs=n_jobs)
        with progress_bar(disable=True) as bar:
            search.set_callbacks(bar.callback).fit(X, y)
        assert (bar.n, bar.total) == (8, 8)


def test_parallel_search_is_quiet(tmp_path):
    script = textwrap.dedent(
        """
        import numpy as np
        from sklearn.datasets import load_digits
        from sklearn.model_selection import GridSearchCV
        from sklearn_keras_hpo import CNNClassifier
        X, y = load_digits(return_X_y=True)
        est = CNNClassifier(image_shape=(8, 8), filters=4, dense_units=16, epochs=1, random_state=0)
        GridSearchCV(est, {"dropout": [0.0, 0.1]}, cv=2, n_jobs=2).fit(X[:200] / 16, y[:200])
        print("done")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert result.stderr == "", result.stderr  # nothing from TensorFlow, absl, oneDNN or workers


FREED_HEAP = """
import gc, sys
import psutil
from sklearn_keras_hpo.parallel import trim_heap_after_full_gc

if sys.argv[1] == "hook":
    assert trim_heap_after_full_gc()
rss = lambda: psutil.Process().memory_info().rss / 2**20
before = rss()
blocks = [bytes(2048) for _ in range(100_000)]  # 200 MB through malloc
pinned = bytes(2048)  # allocated last: the heap's top stays in use, so free() cannot shrink it
del blocks
gc.collect()  # what loky does before it calls a worker leaking
print(rss() - before)
"""


@pytest.mark.parametrize("hook", ["hook", "no hook"])
def test_full_gc_gives_freed_heap_back(hook):
    """loky restarts a worker whose RSS, measured after ``gc.collect()``, grew 300 MB since
    its first task; freed heap that glibc keeps must not count."""
    done = subprocess.run(
        [sys.executable, "-c", FREED_HEAP, hook], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    grown = float(done.stdout)
    if hook == "hook":
        assert grown < 50, f"RSS still {grown:.0f} MB above the start after the heap was freed"
    else:  # the premise: without the hook, glibc keeps the freed 200 MB
        assert grown > 150


def test_tensorflow_processes_trim_after_full_gc():
    import gc

    from sklearn_keras_hpo._backend import keras_and_tf
    from sklearn_keras_hpo.parallel import _trim_after_full_collection

    keras_and_tf()
    assert [c for c in gc.callbacks if getattr(c, "func", None) is _trim_after_full_collection]


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")
def test_dask_local_cluster_gives_the_local_scores(tmp_path):
    """A real LocalCluster(n_workers=2) on loopback runs the fits on its worker processes
    and gives exactly the local run's cv_results_ scores. Both runs use
    SKHPO_DETERMINISTIC=1: Dask workers get 1 thread each, and oneDNN's results depend on
    the thread count (without it a fold score moved by 0.056 here)."""
    pytest.importorskip("dask.distributed")
    out = tmp_path / "scores.json"
    env = {**os.environ, "SKHPO_DETERMINISTIC": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.dask_search", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert len(result["workers"]) == 2 and result["parent"] not in result["workers"]
    assert result["transitions"] > 0
    assert result["dask"]["params"] == result["local"]["params"]
    np.testing.assert_array_equal(result["dask"]["folds"], result["local"]["folds"])
    assert result["dask"]["best_params"] == result["local"]["best_params"]
