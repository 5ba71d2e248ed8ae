"""Searches that lose a worker process, importable by the tests and runnable as a script.

``python -m tests.lost_worker_search KIND OUT.json`` runs the ``resumable_searches``
search KIND with ``n_jobs=2`` twice, each with its own checkpoint directory: undisturbed,
then with one loky worker SIGKILLed (what the kernel's out-of-memory killer does) as soon
as two fits have finished. It writes both runs' scores and times, the pid it killed and
the ``LostWorkerWarning`` messages to OUT.json.
"""

import json
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

from sklearn_keras_hpo import CNNClassifier, progress_bar
from sklearn_keras_hpo.search.recovery import LostWorkerWarning, lost_workers_retried

from . import resumable_searches

KILLER_UNITS = 13


class KillingClassifier(CNNClassifier):
    """A ``CNNClassifier`` whose fit SIGKILLs its own process when ``dense_units`` is
    ``KILLER_UNITS``, in a worker only (never the test's own process)."""

    def fit(self, X, y=None, **fit_params):
        if (
            self.dense_units == KILLER_UNITS
            and multiprocessing.current_process().name != "MainProcess"
        ):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().fit(X, y, **fit_params)


def loky_workers(parent=None):
    """Pids of the loky worker processes of ``parent`` (this process by default)."""
    parent = parent or os.getpid()
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"LokyProcess" in command:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def kill_a_worker_when(bar, n_finished, killed):
    """In a thread: SIGKILL one loky worker once ``bar`` counts ``n_finished`` fits."""

    def kill():
        while bar.n < n_finished:
            time.sleep(0.02)
        pid = loky_workers()[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def run(kind, disturbed):
    """Scores, seconds, killed pids and LostWorkerWarning messages of one search."""
    killed = []
    with tempfile.TemporaryDirectory() as directory:
        search = resumable_searches.make_search(kind, directory, n_jobs=2)
        with progress_bar(disable=True) as bar, warnings.catch_warnings(record=True) as caught:
            search.set_callbacks(bar.callback)  # ours count their fits without it
            warnings.simplefilter("always", LostWorkerWarning)
            if disturbed:
                kill_a_worker_when(bar, 2, killed)
            start = time.perf_counter()
            with lost_workers_retried():  # for scikit-learn's searchers; ours retry anyway
                search.fit(*resumable_searches.data())
            seconds = time.perf_counter() - start
    lost = [w for w in caught if issubclass(w.category, LostWorkerWarning)]
    return {
        "scores": resumable_searches.scores(search),
        "seconds": seconds,
        "killed": killed,
        "warnings": [str(w.message) for w in lost],
        "warned_at": [w.filename for w in lost],
    }


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    result = {"undisturbed": run(kind, False), "disturbed": run(kind, True)}
    with open(out, "w") as file:
        json.dump(result, file)
    print(
        json.dumps({k: (v["seconds"], v["killed"], len(v["warnings"])) for k, v in result.items()})
    )
