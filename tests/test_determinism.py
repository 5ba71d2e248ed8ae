"""Deterministic mode (``SKHPO_DETERMINISTIC=1``): a fit's ``predict_proba`` is bit-identical
whatever TensorFlow's thread count, in the parent process, a loky worker and a Dask worker,
for every architecture of the registry. Real processes, each with its own environment."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.thread_count_fits import BUILT_IN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def predictions(tmp_path, size, places, deterministic, threads=None):
    """``{place: {configuration: predict_proba}}`` from ``tests.thread_count_fits``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_NUM_INTRAOP_THREADS", "SKHPO_DETERMINISTIC")
    }
    env["SKHPO_DETERMINISTIC"] = "1" if deterministic else "0"
    if threads:
        env["TF_NUM_INTRAOP_THREADS"] = str(threads)
    out = tmp_path / f"{deterministic}-{threads}-{'-'.join(places)}.json"
    done = subprocess.run(
        [sys.executable, "-m", "tests.thread_count_fits", str(out), size, *places],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with open(out) as file:
        return {
            place: {k: np.array(v) for k, v in fits.items()}
            for place, fits in json.load(file).items()
        }


def largest_difference(a, b):
    assert a.keys() == b.keys()
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def test_deterministic_fits_equal_at_two_threads_and_in_a_loky_worker(tmp_path):
    """The parent told to use 2 threads and a loky worker given 1 (n_jobs=2) fit alike."""
    runs = predictions(tmp_path, "quick", ["parent", "loky"], deterministic=True, threads=2)
    assert len(runs["parent"]) == len(BUILT_IN)  # every built-in architecture
    assert largest_difference(runs["parent"], runs["loky"]) == 0.0


@pytest.mark.slow
def test_deterministic_fits_equal_everywhere_and_default_mode_does_not(tmp_path):
    """1, 2 and the default number of threads; parent, loky and Dask workers; filters 16
    and 64, rotation off and on, 3 epochs. Default mode is the control: there the same
    fits differ between the parent at TensorFlow's default and a 1-thread worker (2+ cores)."""
    runs = [
        predictions(tmp_path, "full", ["parent", "loky", "dask"], True, threads)
        for threads in (1, 2, None)
    ]
    reference = runs[0]["parent"]
    for run in runs:
        for place, fits in run.items():
            assert largest_difference(reference, fits) == 0.0, place
    if (os.cpu_count() or 1) >= 2:
        # TensorFlow's default pool (every core) in the parent, 1 thread in the worker: no
        # TF_NUM_INTRAOP_THREADS, which the worker would inherit and apply itself
        control = predictions(tmp_path, "full", ["parent", "loky"], False)
        assert largest_difference(control["parent"], control["loky"]) > 0.0


@pytest.mark.slow
def test_cluster_started_from_the_dask_command_line_gives_the_local_scores(tmp_path):
    """The guide's recipe: ``dask scheduler`` and two ``dask worker --nthreads 1`` processes
    started from the command line; a Hyperband search with filters=16 (the candidates that
    differed before) gives exactly the local run's fold scores in deterministic mode."""
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    env = {**os.environ, "SKHPO_DETERMINISTIC": "1", "SKHPO_FILTERS": "16", "PYTHONPATH": ROOT}
    address_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [
            dask,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(address_file),
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    workers = []
    try:
        for _ in range(600):
            if address_file.exists() and json.loads(address_file.read_text() or "{}").get(
                "address"
            ):
                break
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        workers = [
            subprocess.Popen(
                [dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
                env=env,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        out = tmp_path / "scores.json"
        done = subprocess.run(
            [sys.executable, "-m", "tests.dask_search", str(out), "hyperband", address],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
            process.wait(timeout=60)
    result = json.loads(out.read_text())
    assert len(set(result["workers"])) == 2 and result["parent"] not in result["workers"]
    assert result["dask"]["params"] == result["local"]["params"]
    np.testing.assert_array_equal(result["dask"]["folds"], result["local"]["folds"])
