"""A worker process that dies (SIGKILL, as the out-of-memory killer does it) never loses a
search: real loky workers and a real Dask ``LocalCluster``, killed mid-search."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import HyperbandSearchCV
from sklearn_keras_hpo.search.recovery import (
    LostWorkerWarning,
    WorkerLostError,
    lost_workers_retried,
)
from tests.conftest import FAST
from tests.lost_worker_search import KILLER_UNITS, KillingClassifier, loky_workers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLOW_KINDS = ("asha", "random", "grid", "halving", "bayes")


def killed_mid_search(kind):
    """Run ``tests.lost_worker_search`` in deterministic mode; both runs' results."""
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"skhpo-lost-{kind}-{os.getpid()}.json")
    env = {**os.environ, "SKHPO_DETERMINISTIC": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.lost_worker_search", kind, out],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with open(out) as file:
        result = json.load(file)
    os.remove(out)
    return result["undisturbed"], result["disturbed"]


@pytest.mark.parametrize(
    "kind", ["hyperband", *[pytest.param(kind, marks=pytest.mark.slow) for kind in SLOW_KINDS]]
)
def test_search_finishes_with_undisturbed_scores_when_a_worker_is_killed(kind):
    undisturbed, disturbed = killed_mid_search(kind)
    assert disturbed["killed"], "the worker was never killed"
    assert disturbed["warnings"] and "run again on fresh workers" in disturbed["warnings"][0]
    assert "(fold " in disturbed["warnings"][0]  # names the lost fits
    assert {Path(path).name for path in disturbed["warned_at"]} == {
        "lost_worker_search.py"
    }  # at search.fit
    assert undisturbed["warnings"] == []
    after, before = (
        dict(zip(run["scores"]["params"], run["scores"]["folds"], strict=False))
        for run in (disturbed, undisturbed)
    )
    if kind == "asha":  # asynchronous: which candidates go on depends on when results arrive,
        assert set(after) & set(before)  # so compare the (candidate, epochs) rows both runs have
        after = {row: folds for row, folds in after.items() if row in before}
        before = {row: before[row] for row in after}
    assert after == before  # deterministic mode: the same scores, bit for bit


def lost_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, LostWorkerWarning)]


@pytest.mark.slow
def test_a_configuration_that_kills_its_worker_is_scored_with_error_score(digits):
    X, y = digits[0][:240], digits[1][:240]
    search = HyperbandSearchCV(
        KillingClassifier(**FAST),
        {"dense_units": [8, KILLER_UNITS]},
        max_epochs=2,
        factor=2,
        cv=2,
        n_jobs=2,
        random_state=0,
        points_to_evaluate=[],  # the two candidates only, not the estimator's own 16 units
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    units = search.cv_results_["param_dense_units"].tolist()
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[units.index(KILLER_UNITS)]) and np.isfinite(scores[units.index(8)])
    messages = lost_warnings(caught)
    assert any(
        f"dense_units={KILLER_UNITS}" in m and "killed its worker process again" in m
        for m in messages
    ), messages
    assert not any("dense_units=8" in m and "failed fit" in m for m in messages), messages
    assert search.best_params_["dense_units"] == 8


def test_scikit_learn_search_raises_naming_the_killer_with_error_score_raise(digits):
    X, y = digits[0][:240], digits[1][:240]
    search = GridSearchCV(
        KillingClassifier(**FAST),
        {"dense_units": [8, KILLER_UNITS]},
        cv=2,
        n_jobs=2,
        error_score="raise",
    )
    with (
        pytest.raises(WorkerLostError, match=f"dense_units={KILLER_UNITS}"),
        lost_workers_retried(),
    ):
        search.fit(X, y)


def test_the_retrying_backend_is_joblibs_own_seam_and_keeps_results(digits):
    """``lost_workers_retried`` is ``parallel_config(backend="skhpo-retry")``: scikit-learn's
    ``Parallel`` is untouched, and an undisturbed search gives the default backend's results."""
    from joblib.parallel import get_active_backend
    from sklearn.model_selection import _search

    from sklearn_keras_hpo.search.recovery import RETRY_BACKEND, RetryingBackend

    X, y = digits[0][:200], digits[1][:200]
    grid = {"learning_rate": [0.003, 0.03]}
    plain = GridSearchCV(KillingClassifier(**FAST), grid, cv=2, n_jobs=2).fit(X, y)
    original = _search.Parallel
    with lost_workers_retried():
        assert isinstance(get_active_backend()[0], RetryingBackend)
        wrapped = GridSearchCV(KillingClassifier(**FAST), grid, cv=2, n_jobs=2).fit(X, y)
    with joblib.parallel_config(backend=RETRY_BACKEND):
        configured = GridSearchCV(KillingClassifier(**FAST), grid, cv=2, n_jobs=2).fit(X, y)
    assert _search.Parallel is original
    for search in (wrapped, configured):
        np.testing.assert_array_equal(
            search.cv_results_["split0_test_score"], plain.cv_results_["split0_test_score"]
        )
        assert search.best_params_ == plain.best_params_


def test_loky_workers_are_found(digits):
    """The helper the kill tests rely on sees joblib's workers (so the tests can fail)."""
    joblib.Parallel(n_jobs=2)(joblib.delayed(os.getpid)() for _ in range(2))
    assert len(loky_workers()) == 2


DASK_KILL = """
import json, os, signal, sys, threading, time, warnings
import joblib, numpy as np
from dask import config, distributed
from sklearn.base import clone
from sklearn_keras_hpo import progress_bar
from sklearn_keras_hpo.search.recovery import LostWorkerWarning
from tests import lost_worker_search, resumable_searches
kind = sys.argv[1]
search = resumable_searches.make_search("hyperband", None, n_jobs=-1)
if kind == "killer":
    search.set_params(estimator=lost_worker_search.KillingClassifier(**search.estimator.get_params()),
                      param_distributions={"dense_units": [8, lost_worker_search.KILLER_UNITS]})
    local = None
else:
    local = resumable_searches.scores(
        clone(search).set_params(n_jobs=1).fit(*resumable_searches.data()))
config.set({"distributed.scheduler.allowed-failures": 1})
with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                              dashboard_address=None, processes=True) as cluster, \\
        distributed.Client(cluster) as client:
    with joblib.parallel_config(backend="dask"), progress_bar(disable=True) as bar, \\
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LostWorkerWarning)
        killed = []
        def kill():
            while bar.n < 2:
                time.sleep(0.02)
            worker = sorted(client.scheduler_info()["workers"])[0]
            killed.extend(client.run(os.getpid, workers=[worker]).values())
            os.kill(killed[0], signal.SIGKILL)
        if kind != "killer":
            threading.Thread(target=kill, daemon=True).start()
        search.fit(*resumable_searches.data())
    print(json.dumps({"warnings": [str(w.message) for w in caught
                                   if issubclass(w.category, LostWorkerWarning)],
                      "local": local, "dask": resumable_searches.scores(search), "killed": killed,
                      "units": [p.get("dense_units") for p in search.cv_results_["params"]]}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["hyperband", "killer"])
def test_dask_search_survives_a_killed_worker(kind):
    """A LocalCluster worker SIGKILLed mid-search: Dask runs its fits again (the nanny
    restarts the worker), and in deterministic mode the scores equal a local run's. A fit
    that kills every worker it runs on is scored with error_score and named."""
    env = {**os.environ, "SKHPO_DETERMINISTIC": "1"}
    done = subprocess.run(
        [sys.executable, "-c", DASK_KILL, kind],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    scores = np.array(result["dask"]["folds"]).mean(axis=1)
    if kind == "killer":
        assert np.isnan(scores[result["units"].index(KILLER_UNITS)]) and np.isfinite(
            scores[result["units"].index(8)]
        )
        assert any(
            f"dense_units={KILLER_UNITS}" in m and "on every try" in m for m in result["warnings"]
        )
    else:
        assert result["killed"], "the worker was never killed"
        assert result["dask"]["params"] == result["local"]["params"]
        assert np.array_equal(result["dask"]["folds"], result["local"]["folds"])


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
@pytest.mark.parametrize("searcher", ["grid", "random", "bayes", "halving", "hyperband", "asha"])
def test_cli_search_finishes_when_a_worker_is_killed(searcher, tmp_path):
    """``skhpo tune --n-jobs 2``: a loky worker SIGKILLed once both are training; the run
    ends normally, names the fits it ran again, and writes every output."""
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {log: [0.003, 0.03]}\nrotation: [10.0, 20.0]\n")
    command = [
        sys.executable,
        "-m",
        "sklearn_keras_hpo",
        "tune",
        "--searcher",
        searcher,
        "--space",
        str(space),
        "--n-iter",
        # bayes runs its points one batch at a time: enough of them that the workers are
        # still fitting once TensorFlow is up in both (3 ended before the kill could land)
        "8" if searcher == "bayes" else "3",
        "--max-epochs",
        "3",
        "--n-jobs",
        "2",
        "--set",
        "epochs=2",
        "--output",
        str(tmp_path / "out"),
        "--max-samples",
        "400",
        "--cv",
        "2",
        "--no-progress",
        "--set",
        "filters=4",
        "--set",
        "dense_units=16",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    killed = None
    deadline = time.monotonic() + 300
    seen = {}  # pid -> CPU seconds at the last look
    while killed is None and time.monotonic() < deadline and process.poll() is None:
        workers = loky_workers(process.pid)
        now = {pid: cpu_seconds(pid) for pid in workers}
        busy = [pid for pid in workers if now[pid] > 8 and now[pid] - seen.get(pid, now[pid]) > 0.1]
        if len(workers) == 2 and len(busy) == 2:  # TensorFlow up, both fitting right now
            os.kill(workers[0], signal.SIGKILL)
            killed = workers[0]
        seen = now
        time.sleep(0.25)
    out, err = process.communicate(timeout=900)
    assert killed, "no worker was killed"
    assert process.returncode == 0, err[-3000:]
    assert "run again on fresh workers" in err, err[-3000:]
    assert (tmp_path / "out" / "cv_results.csv").exists() and (
        tmp_path / "out" / "report.html"
    ).exists()
