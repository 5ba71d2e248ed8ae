"""A search killed with SIGKILL and run again retrains only the unfinished fits and
ends with the same results as an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sklearn_keras_hpo import CNNClassifier

from . import resumable_searches
from .conftest import FAST

ROOT = Path(__file__).resolve().parents[1]


def run_search(kind, checkpoint_dir, out, kill_after_files=None, n_jobs=1, env=None):
    """Run the search in a subprocess; with ``kill_after_files``, SIGKILL it as soon as
    that many fits are on disk. Returns the process's exit code."""
    command = [
        sys.executable,
        "-m",
        "tests.resumable_searches",
        kind,
        str(checkpoint_dir),
        str(out),
        str(n_jobs),
    ]
    env = {**os.environ, **(env or {})}
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
    if kill_after_files is None:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        return 0
    deadline = time.monotonic() + 300
    while len(fit_files(checkpoint_dir)) < kill_after_files and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return process.returncode


def fit_files(directory):
    return {p.name: p.stat().st_mtime_ns for p in Path(directory).glob("*.npz")}


# by default the rung searches, one with the model-guided sampler; every searcher with --run-slow
FAST_KINDS = ("hyperband", "asha_tpe")


@pytest.mark.parametrize(
    "kind",
    [
        kind if kind in FAST_KINDS else pytest.param(kind, marks=pytest.mark.slow)
        for kind in resumable_searches.KINDS
    ],
)
def test_killed_search_resumes_and_matches_an_uninterrupted_run(kind, tmp_path):
    # uninterrupted, with its own fit records (warm-started rungs continue from them)
    uninterrupted = resumable_searches.make_search(kind, str(tmp_path / "reference"))
    reference = resumable_searches.scores(uninterrupted.fit(*resumable_searches.data()))

    cache, out = tmp_path / "fits", tmp_path / "scores.json"
    code = run_search(kind, cache, out, kill_after_files=4)
    assert code == -signal.SIGKILL, "the search finished before it could be killed"
    finished = fit_files(cache)
    assert len(finished) >= 4 and not out.exists()

    run_search(kind, cache, out)
    resumed = json.loads(out.read_text())
    after = fit_files(cache)
    assert all(after[name] == mtime for name, mtime in finished.items()), (
        "a finished fit was retrained"
    )
    assert len(after) > len(finished)
    assert resumed["params"] == reference["params"]
    np.testing.assert_array_equal(resumed["folds"], reference["folds"])
    assert resumed["best_params"] == reference["best_params"]


def test_finished_fit_with_early_stopping_is_restored_not_retrained(digits, tmp_path, monkeypatch):
    import keras

    X, y = digits
    params = dict(
        FAST, epochs=4, early_stopping=True, lr_schedule="cosine", checkpoint_dir=str(tmp_path)
    )
    first = CNNClassifier(**params).fit(X[:300], y[:300])
    calls = []
    original = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: calls.append(1) or original(*a, **k))
    again = CNNClassifier(**params).fit(X[:300], y[:300])
    assert calls == []
    assert again.history_ == first.history_ and again.best_epoch_ == first.best_epoch_
    np.testing.assert_array_equal(again.predict_proba(X[300:400]), first.predict_proba(X[300:400]))
    CNNClassifier(**{**params, "epochs": 5}).fit(X[:300], y[:300])  # other epochs: a new fit
    assert calls == [1]


@pytest.mark.parametrize("kind", [pytest.param("random", marks=pytest.mark.slow), "hyperband_tpe"])
def test_same_scores_in_two_processes_at_one_and_two_jobs(kind, tmp_path):
    """Reproducibility across processes and n_jobs. oneDNN sums in a thread-count dependent
    order, so an n_jobs=1 fit (2 threads) and an n_jobs=2 worker's fit (1 thread) may differ
    in the last bits; SKHPO_DETERMINISTIC=1 removes that (see _backend)."""
    deterministic = {"SKHPO_DETERMINISTIC": "1"}
    run_search(kind, "-", tmp_path / "one.json", n_jobs=1, env=deterministic)
    run_search(kind, "-", tmp_path / "two.json", n_jobs=2, env=deterministic)
    one, two = (json.loads((tmp_path / name).read_text()) for name in ("one.json", "two.json"))
    assert one["params"] == two["params"]
    np.testing.assert_array_equal(one["folds"], two["folds"])
