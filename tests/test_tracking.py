"""Experiment tracking against real components: MLflow (a SQLite file, and an ``mlflow
server`` on 127.0.0.1) and the command line's TensorBoard logs.

Each search is logged, then read back with ``MlflowClient`` (``tracking_checks``); the
Hyperband search logged to MLflow and TensorBoard at once is in
``test_tracking_hyperband.py``. Runnable as a script for the kill-and-resume test:
``python -m tests.test_tracking URI CHECKPOINT_DIR``.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.tracking import log_search

from .tracking_checks import (
    TINY,
    check_search_logged,
    data,
    experiment_runs,
    hyperband,
    steps,
)
from .tracking_services import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]


def test_importing_and_fitting_loads_no_tracker():
    code = (
        "import sys\n"
        "from sklearn.datasets import load_digits\n"
        "import sklearn_keras_hpo\n"
        "X, y = load_digits(return_X_y=True)\n"
        "sklearn_keras_hpo.CNNClassifier(image_shape=(8, 8), filters=4, dense_units=16, epochs=1)"
        ".fit(X[:100] / 16, y[:100])\n"
        "loaded = [m for m in ('mlflow', 'tensorboard.plugins.hparams') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize(
    "blocked, extra",
    [("mlflow.tracking", "tracking"), ("tensorboard.plugins.hparams", "tensorboard")],
)
def test_a_missing_extra_is_named(blocked, extra, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, blocked, None)  # import fails as if not installed
    kwargs = {"tensorboard_dir": str(tmp_path)} if extra == "tensorboard" else {"experiment": "x"}
    with pytest.raises(ImportError, match=rf"sklearn_keras_hpo\[{extra}\]"):
        with log_search(**kwargs):
            pass


def test_a_search_of_any_estimator_is_logged(store, tmp_path, monkeypatch):
    """No Keras: parent, children with their scores, the refitted model pickled."""
    from sklearn.tree import DecisionTreeClassifier

    uri, client, _ = store
    monkeypatch.chdir(tmp_path)
    search = GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [2, 4, 8]}, cv=3)
    with log_search(tracking_uri=uri, experiment="tree") as logger, warnings.catch_warnings():
        warnings.simplefilter("error")  # no "does not support callbacks" warning either
        search.set_callbacks(logger).fit(*data())
    (parent,), children = experiment_runs(client, "tree")
    assert parent.data.metrics["best_score"] == pytest.approx(search.best_score_)
    assert parent.data.params["best.max_depth"] == str(search.best_params_["max_depth"])
    assert sorted(c.data.params["max_depth"] for c in children) == ["2", "4", "8"]
    for child in children:  # each fold's test score, from cv_results_
        row = search.cv_results_["params"].index({"max_depth": int(child.data.params["max_depth"])})
        for fold in range(3):
            (point,) = client.get_metric_history(child.info.run_id, f"fold_{fold}/test_score")
            assert point.value == pytest.approx(search.cv_results_[f"split{fold}_test_score"][row])
    assert {"cv_results.csv", "best_estimator.joblib"} <= {
        a.path for a in client.list_artifacts(parent.info.run_id)
    }


@pytest.mark.parametrize("error, status", [(ValueError, "FAILED"), (KeyboardInterrupt, "KILLED")])
def test_a_search_that_raises_ends_its_run_so(error, status, store, tmp_path, monkeypatch):
    from sklearn.tree import DecisionTreeClassifier

    class Raising(DecisionTreeClassifier):
        def fit(self, X, y, **kwargs):
            raise error("stopped")

    uri, client, _ = store
    monkeypatch.chdir(tmp_path)
    search = GridSearchCV(Raising(), {"max_depth": [2, 4]}, cv=2, error_score="raise")
    with log_search(tracking_uri=uri, experiment=f"raises {status}") as logger:
        with pytest.raises(error):
            search.set_callbacks(logger).fit(*data())
    (parent,), _ = experiment_runs(client, f"raises {status}")
    assert parent.info.status == status


def test_a_failing_logger_warns_and_the_search_goes_on():
    from sklearn_keras_hpo.tracking import SearchLogger

    class Broken(SearchLogger):
        def __init__(self):
            super().__init__(tensorboard_dir="unused")
            self.records = []

        def search_started(self, search):
            pass

        def fit_finished(self, record):
            self.records.append(record)
            raise ConnectionError("tracking server gone")

        def search_ended(self, search, error):
            raise ConnectionError("tracking server gone")

    logger = Broken()
    search = GridSearchCV(CNNClassifier(**TINY, epochs=1), {"dropout": [0.0, 0.2]}, cv=2)
    with pytest.warns(RuntimeWarning, match="tracking server gone") as caught:
        search.set_callbacks(logger).fit(*data())
    assert len(search.cv_results_["params"]) == 2
    gone = [w for w in caught if "tracking server gone" in str(w.message)]
    assert len(gone) == 4 + 1  # each fit, and the end
    assert sorted((r["params"]["dropout"], r["fold"]) for r in logger.records) == [
        (0.0, 0),
        (0.0, 1),
        (0.2, 0),
        (0.2, 1),
    ]


def test_grid_search_in_two_workers_logged_to_sqlite(store, tmp_path, monkeypatch):
    """scikit-learn's GridSearchCV, fits in 2 loky worker processes: the logger's copy in
    each worker sends each fold's curves here, where they are written."""
    uri, client, _ = store
    monkeypatch.chdir(tmp_path)  # MLflow's local artifact store
    search = GridSearchCV(CNNClassifier(**TINY, epochs=2), {"dropout": [0.0, 0.2]}, cv=2, n_jobs=2)
    with log_search(tracking_uri=uri, experiment="grid") as logger:
        search.set_callbacks(logger).fit(*data())
    parent, _ = check_search_logged(
        client, "grid", search, artifacts=("cv_results.csv", "best_estimator")
    )
    assert logger.run_id == parent.info.run_id
    assert "estimator.epochs" in parent.data.params and "space" in parent.data.params


def test_only_the_search_given_the_logger_is_logged(store, tmp_path, monkeypatch):
    """Two GridSearchCV fitted at once in two threads, one given the logger: only that one
    is logged (nothing process-wide decides what is logged)."""
    uri, client, _ = store
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(MeetingCNN, "meeting", threading.Barrier(2, timeout=120))
    searches = {
        name: GridSearchCV(MeetingCNN(**TINY, epochs=1), {"dropout": dropouts}, cv=2)
        for name, dropouts in (("logged", [0.0, 0.2]), ("not logged", [0.1, 0.3]))
    }
    failures = []

    def fit(search):
        try:
            search.fit(*data())
        except BaseException as error:
            failures.append(error)
            MeetingCNN.meeting.abort()

    with log_search(tracking_uri=uri, experiment="threads") as logger:
        searches["logged"].set_callbacks(logger)
        threads = [threading.Thread(target=fit, args=(search,)) for search in searches.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not failures, failures  # every fit met one of the other search: they overlapped
    check_search_logged(client, "threads", searches["logged"])  # one parent: this one's


class MeetingCNN(CNNClassifier):
    """Each fit first waits at ``meeting`` (a barrier) for a fit of another search."""

    meeting = None

    def fit(self, X, y, sample_weight=None):
        self.meeting.wait()
        return super().fit(X, y, sample_weight)


def test_observing_callbacks_keep_warm_start_and_a_steering_one_warns_once(tmp_path):
    import keras

    X, y = data()
    params = dict(TINY, checkpoint_dir=str(tmp_path / "fits"))
    log = tmp_path / "epochs.csv"

    class Seen(keras.callbacks.Callback):
        observes_only = True

        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)

    first = CNNClassifier(
        **params, epochs=1, callbacks=[keras.callbacks.CSVLogger(str(log), append=True)]
    ).fit(X, y)
    seen = Seen()
    second = CNNClassifier(
        **params, epochs=3, callbacks=[keras.callbacks.CSVLogger(str(log), append=True), seen]
    )
    second.fit(X, y)
    assert (first.initial_epoch_, second.initial_epoch_, second.n_epochs_) == (
        0,
        1,
        3,
    )  # continued rung 1
    assert seen.epochs == [1, 2]
    assert [row.split(",")[0] for row in log.read_text().splitlines() if row[0].isdigit()] == [
        "0",
        "1",
        "2",
    ]
    assert second.history_["loss"][0] == first.history_["loss"][0]

    class SteersInThisTest(keras.callbacks.Callback):  # not declared an observer: may steer
        pass

    with pytest.warns(UserWarning, match=r"\['SteersInThisTest'\].*checkpoint_dir is not used"):
        steered = CNNClassifier(**params, epochs=3, callbacks=[SteersInThisTest()]).fit(X, y)
    assert steered.initial_epoch_ == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CNNClassifier(**params, epochs=1, callbacks=[SteersInThisTest()]).fit(X, y)
    assert not [w for w in caught if "SteersInThisTest" in str(w.message)]  # warned once: not again


@pytest.fixture
def mlflow_server(tmp_path):
    """A real ``mlflow server`` on 127.0.0.1 with a SQLite backend store; its URI."""
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    if mlflow is None:
        pytest.skip("the mlflow command is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            mlflow,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_for(uri + "/health", process, seconds=120)
        yield uri
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_bayes_search_logged_to_an_mlflow_server(mlflow_server):
    skopt = pytest.importorskip("skopt")
    from mlflow.tracking import MlflowClient

    search = bayes_search_passing_contexts(skopt.BayesSearchCV)(
        CNNClassifier(**TINY, epochs=2),
        {"dropout": skopt.space.Real(0.0, 0.5)},
        n_iter=2,
        cv=2,
        random_state=0,
        optimizer_kwargs={"n_initial_points": 2},
    )
    with log_search(tracking_uri=mlflow_server, experiment="bayes") as logger:
        with warnings.catch_warnings():
            # skopt: "The objective has been evaluated at point..."
            warnings.simplefilter("ignore", UserWarning)
            search.set_callbacks(logger).fit(*data())
    check_search_logged(
        MlflowClient(mlflow_server), "bayes", search, artifacts=("cv_results.csv", "best_estimator")
    )


def bayes_search_passing_contexts(searcher):
    """``searcher`` (skopt's ``BayesSearchCV``, whose ``_run_search`` takes no callback
    context) passing scikit-learn's callback contexts on: a "search" task, one task per
    step whose subtasks are its fits. Without them, callbacks hear no fit."""

    class ContextPassing(searcher):
        def _run_search(self, evaluate_candidates, *, callback_ctx=None):
            if callback_ctx is None:
                return super()._run_search(evaluate_candidates)
            task = callback_ctx.subcontext(task_name="search", max_subtasks=None)
            task.call_on_fit_task_begin(estimator=self)

            def evaluate(candidates, *args, **kwargs):
                candidates = list(candidates)
                step = task.subcontext(
                    task_name="iteration",
                    max_subtasks=len(candidates) * self.n_splits_,
                    sequential_subtasks=False,
                ).call_on_fit_task_begin(estimator=self)
                results = evaluate_candidates(candidates, *args, callback_ctx=step, **kwargs)
                step.call_on_fit_task_end(estimator=self)
                return results

            super()._run_search(evaluate)
            task.call_on_fit_task_end(estimator=self)

    return ContextPassing


def test_killed_search_resumes_into_the_same_parent_run(store, tmp_path):
    uri, client, folder = store
    checkpoints = tmp_path / "fits"
    command = [sys.executable, "-m", "tests.test_tracking", uri, str(checkpoints)]
    process = subprocess.Popen(
        command,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while len(list(checkpoints.glob("*.npz"))) < 4 and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate()
    assert process.returncode == -signal.SIGKILL, (
        f"the search finished before it was killed: {stderr[-2000:]}"
    )
    parents, before = experiment_runs(client, "resume")
    assert len(parents) == 1 and parents[0].info.status == "RUNNING" and before, (
        "nothing was logged live"
    )

    previous = os.getcwd()
    os.chdir(folder)
    try:
        search = resumable(uri, checkpoints).fit(*data())
    finally:
        os.chdir(previous)
    parent, children = check_search_logged(client, "resume", search)
    assert parent.info.run_id == parents[0].info.run_id
    assert {c.info.run_id for c in before} <= {c.info.run_id for c in children.values()}


def test_cli_logs_the_run_its_report_and_tensorboard(store, tmp_path, monkeypatch):
    from sklearn_keras_hpo.cli import main

    uri, client, _ = store
    monkeypatch.chdir(tmp_path)
    output, board = tmp_path / "out", tmp_path / "tb"
    args = [
        "tune",
        "--searcher",
        "random",
        "--n-iter",
        "2",
        "--space",
        "hyperband",
        "--set",
        "epochs=1",
        "--max-samples",
        "300",
        "--cv",
        "2",
        "--no-progress",
        "--set",
        "filters=4",
        "--set",
        "dense_units=16",
        "--output",
        str(output),
        "--mlflow",
        uri,
        "--experiment",
        "cli",
        "--tensorboard",
        str(board),
    ]
    assert main(args) == 0
    parents, children = experiment_runs(client, "cli")
    assert len(parents) == 1 and len(children) == 2
    assert parents[0].data.params["searcher"] == "RandomizedSearchCV"
    assert all(steps(client, child.info.run_id, "fold_1/val_loss") == [0] for child in children)
    listed = {a.path for a in client.list_artifacts(parents[0].info.run_id)}
    assert {"report.html", "best_params.json", "model", "cv_results.csv"} <= listed, listed
    assert len(list(board.glob("candidate_*/fold_*/events.out.tfevents.*"))) == 4


def resumable(uri, checkpoint_dir):
    return hyperband(str(checkpoint_dir), log_to={"tracking_uri": uri, "experiment": "resume"})


if __name__ == "__main__":
    resumable(*sys.argv[1:3]).fit(*data())
