"""Per-worker TensorFlow threads, GPU claims, quiet workers, progress bar, Dask."""

import os
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import CNNClassifier, progress_bar
from sklearn_keras_hpo.parallel import claim_gpu, intra_op_threads
from tests.conftest import FAST

GRID = {"learning_rate": [0.01, 0.05], "activation": ["relu", "tanh"]}
# Candidates that train stably here: relu at 0.05 sits on the edge of divergence, where
# the Dask workers' run-to-run differences grow into different scores.
STABLE_GRID = [{"activation": ["relu"], "learning_rate": [0.01]},
               {"activation": ["tanh"], "learning_rate": [0.01, 0.05]}]  # fmt: skip


def test_intra_op_threads_rules():
    assert intra_op_threads({}) is None  # TensorFlow's default
    assert intra_op_threads({"OMP_NUM_THREADS": "3"}) == 3  # what joblib gives each worker
    assert intra_op_threads({"OMP_NUM_THREADS": "3", "TF_NUM_INTRAOP_THREADS": "5"}) is None
    assert intra_op_threads({"OMP_NUM_THREADS": "junk"}) is None


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
    X, y = digits[0][:200], digits[1][:200]
    for n_jobs in (1, 2):
        with progress_bar(disable=True) as bar:
            GridSearchCV(CNNClassifier(**{**FAST, "epochs": 1}), GRID, cv=2, n_jobs=n_jobs).fit(X, y)
        assert (bar.n, bar.total) == (8, 8)
    assert joblib.Parallel.print_progress.__name__ == "print_progress"  # restored


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
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert result.stderr == "", result.stderr  # nothing from TensorFlow, absl, oneDNN or workers


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")
def test_dask_local_cluster_runs_the_search(digits):
    """A real LocalCluster on loopback runs every fit on its worker processes.

    Scores are compared loosely on purpose: fits on Dask workers were not
    reproducible run to run here (a candidate's mean score moved by up to 0.17 in
    one of three runs; the cause is open, see the guide's Dask section), while
    joblib's own backends are bit-identical (test_search)."""
    distributed = pytest.importorskip("dask.distributed")
    X, y = digits[0][:300], digits[1][:300]
    search = GridSearchCV(CNNClassifier(**FAST), STABLE_GRID, cv=2)
    local = search.fit(X, y)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True
    ) as cluster, distributed.Client(cluster) as client:
        with joblib.parallel_config(backend="dask"):
            on_dask = clone(search).fit(X, y)
        ran_on = client.run(os.getpid)
        tasks_done = sum(client.run(lambda dask_worker: len(dask_worker.data) >= 0 and
                                    dask_worker.state.transition_counter).values())  # fmt: skip
    assert len(ran_on) == 2 and os.getpid() not in ran_on.values()
    assert tasks_done > 0
    assert on_dask.cv_results_["params"] == local.cv_results_["params"]
    assert np.isfinite(on_dask.cv_results_["mean_test_score"]).all()
    assert abs(on_dask.best_score_ - local.best_score_) < 0.1
    assert on_dask.best_estimator_.score(X, y) > 0.5
