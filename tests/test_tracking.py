"""Experiment tracking against real components: MLflow (a SQLite file, and an ``mlflow
server`` on 127.0.0.1), TensorBoard event files read back, a ``tensorboard`` process.

Each search is logged, then read back with ``MlflowClient``: one parent run, one child
per candidate, per-epoch curves whose length is the epochs each fold trained (a
warm-started rung continuing the same step axis), the artifacts. Runnable as a script
for the kill-and-resume test: ``python -m tests.test_tracking URI CHECKPOINT_DIR``.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sklearn_keras_hpo import CNNClassifier, HyperbandSearchCV, load
from sklearn_keras_hpo.tracking import log_search

from .tracking_services import end, free_port, render, wait_for

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(image_shape=(8, 8), filters=4, dense_units=16, batch_size=32, learning_rate=0.01,
            validation_fraction=0.2, random_state=0)  # fmt: skip
DROPOUTS = [0.0, 0.1, 0.2, 0.3]


def data(n=160):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def hyperband(checkpoint_dir=None, **kwargs):
    """Rungs of 1 and 2 epochs (the second continues the first), 2 folds, 4 candidates."""
    return HyperbandSearchCV(CNNClassifier(**TINY, checkpoint_dir=checkpoint_dir), {"dropout": DROPOUTS},
                             max_epochs=2, factor=2, cv=2, random_state=0, points_to_evaluate=[],
                             **kwargs)  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module (created once: MLflow's migrations take seconds)."""
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = os.getcwd()
    os.chdir(folder)  # MLflow keeps the store, and its artifact root ./mlruns, per URI: here, not in the repo
    try:
        client = MlflowClient(uri)
        client.search_experiments()  # creates the tables
    finally:
        os.chdir(previous)
    return uri, client, folder


def experiment_runs(client, name):
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def steps(client, run_id, key):
    return [m.step for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)]


def candidates(search):
    """Candidate (parameters without the resource, as MLflow params) -> its budgets, rows."""
    resource = getattr(search, "resource", None)
    found = {}
    for i, params in enumerate(search.cv_results_["params"]):
        key = json.dumps({k: str(v) for k, v in params.items() if k != resource}, sort_keys=True)
        budget = int(params.get(resource, params.get("epochs", search.estimator.get_params()["epochs"])))
        found.setdefault(key, []).append((budget, i))
    return found


def check_search_logged(client, experiment, search, artifacts=("cv_results.csv",)):
    """The parent, one child per candidate, per-fold curves, scores per budget, artifacts."""
    parents, children = experiment_runs(client, experiment)
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.params["searcher"] == type(search).__name__
    assert parent.data.params["cv"] == "2"
    if hasattr(search, "best_score_"):
        assert parent.data.metrics["best_score"] == pytest.approx(search.best_score_)
    expected = candidates(search)
    assert all(c.data.tags["mlflow.parentRunId"] == parent.info.run_id for c in children)
    by_params = {json.dumps(c.data.params, sort_keys=True): c for c in children}
    assert len(children) == len(by_params) == len(expected)
    assert set(by_params) == set(expected)
    for key, rows in expected.items():
        child = by_params[key]
        trained = max(budget for budget, _ in rows)  # warm-started rungs: each epoch trained once
        for fold in range(search.n_splits_):
            for metric in ("loss", "accuracy", "val_loss"):
                assert steps(client, child.info.run_id, f"fold_{fold}/{metric}") == list(range(trained))
        history = client.get_metric_history(child.info.run_id, "mean_test_score")
        # a candidate drawn again at a budget it had (restored from its checkpoint) has the point once
        assert sorted((m.step, round(m.value, 6)) for m in history) == sorted(
            {(budget, round(float(search.cv_results_["mean_test_score"][i]), 6)) for budget, i in rows})
    listed = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert set(artifacts) <= listed, listed
    return parent, by_params


def test_importing_and_fitting_loads_no_tracker():
    code = ("import sys\n"
            "from sklearn.datasets import load_digits\n"
            "import sklearn_keras_hpo\n"
            "X, y = load_digits(return_X_y=True)\n"
            "sklearn_keras_hpo.CNNClassifier(image_shape=(8, 8), filters=4, dense_units=16, epochs=1)"
            ".fit(X[:100] / 16, y[:100])\n"
            "loaded = [m for m in ('mlflow', 'tensorboard.plugins.hparams') if m in sys.modules]\n"
            "assert not loaded, loaded\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("blocked, extra", [("mlflow.tracking", "tracking"),
                                            ("tensorboard.plugins.hparams", "tensorboard")])
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
    with log_search(tracking_uri=uri, experiment="tree"):
        search.fit(*data())
    (parent,), children = experiment_runs(client, "tree")
    assert parent.data.metrics["best_score"] == pytest.approx(search.best_score_)
    assert parent.data.params["best.max_depth"] == str(search.best_params_["max_depth"])
    assert sorted(c.data.params["max_depth"] for c in children) == ["2", "4", "8"]
    assert {"cv_results.csv", "best_estimator.joblib"} <= {a.path for a in client.list_artifacts(parent.info.run_id)}


def test_a_failing_logger_warns_and_the_search_goes_on():
    from sklearn.tree import DecisionTreeClassifier

    from sklearn_keras_hpo.tracking import hooks

    class Broken:
        def search_started(self, search):
            pass

        def fit_finished(self, record):
            raise ConnectionError("tracking server gone")

        def search_ended(self, search, error):
            raise ConnectionError("tracking server gone")

    logger = Broken()
    hooks.open_logger(logger)
    try:
        with pytest.warns(RuntimeWarning, match="tracking server gone"):
            search = GridSearchCV(DecisionTreeClassifier(), {"max_depth": [2, 4]}, cv=2).fit(*data())
    finally:
        hooks.close_logger(logger)
    assert len(search.cv_results_["params"]) == 2
    import sklearn.model_selection._search as sklearn_search

    assert sklearn_search._fit_and_score.__module__ == "sklearn.model_selection._validation"  # unpatched


def test_grid_search_in_two_workers_logged_to_sqlite(store, tmp_path, monkeypatch):
    """scikit-learn's GridSearchCV, fits in 2 loky worker processes: their curves come
    back with the results and are written here."""
    uri, client, _ = store
    monkeypatch.chdir(tmp_path)  # MLflow's local artifact store
    search = GridSearchCV(CNNClassifier(**TINY, epochs=2), {"dropout": [0.0, 0.2]}, cv=2, n_jobs=2)
    with log_search(tracking_uri=uri, experiment="grid") as logger:
        search.fit(*data())
    parent, _ = check_search_logged(client, "grid", search, artifacts=("cv_results.csv", "best_estimator"))
    assert logger.run_id == parent.info.run_id
    assert "estimator.epochs" in parent.data.params and "space" in parent.data.params


@pytest.fixture(scope="module")
def logged_hyperband(store, tmp_path_factory):
    """A HyperbandSearchCV logged through ``log_to`` to SQLite and TensorBoard."""
    uri, client, folder = store
    board = tmp_path_factory.mktemp("tensorboard")
    previous = os.getcwd()
    os.chdir(folder)
    try:
        search = hyperband(log_to={"tracking_uri": uri, "experiment": "hyperband", "tensorboard_dir": str(board)})
        search.fit(*data())
    finally:
        os.chdir(previous)
    return search, board


def test_hyperband_rungs_continue_one_curve(logged_hyperband, store, tmp_path):
    search, _ = logged_hyperband
    _, client, _ = store
    assert sorted(set(search.cv_results_["n_resources"].tolist())) == [1, 2]
    parent, children = check_search_logged(client, "hyperband", search, artifacts=("cv_results.csv", "best_estimator"))
    saved = client.download_artifacts(parent.info.run_id, "best_estimator", str(tmp_path))
    model = load(saved)  # the refitted model, its checkpoint_dir the user's (None), not the search's scratch one
    assert model.get_params()["checkpoint_dir"] is None and model.get_params()["dropout"] == search.best_params_["dropout"]
    promoted = [key for key, rows in candidates(search).items() if {1, 2} <= {budget for budget, _ in rows}]
    assert promoted, "no candidate went on from 1 to 2 epochs"
    for key in promoted:  # one curve, epoch 0 (rung 1) then 1 (rung 2): no restart at 0
        values = client.get_metric_history(children[key].info.run_id, "fold_0/loss")
        assert sorted(m.step for m in values) == [0, 1]


def test_tensorboard_has_each_candidate_and_fold_with_hparams(logged_hyperband):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    search, board = logged_hyperband
    expected = candidates(search)
    runs = sorted(p.parent.relative_to(board) for p in board.glob("*/fold_*/events.out.tfevents.*"))
    assert len(runs) == len(expected) * 2
    seen = set()
    for run in runs:
        events = EventAccumulator(str(board / run), size_guidance={"tensors": 0}).Reload()
        content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
        fold = int(hparams["fold"].number_value)
        assert run.name == f"fold_{fold}"
        dropout = hparams["dropout"].number_value
        seen.add(str(dropout))
        trained = max(b for b, _ in expected[json.dumps({"dropout": str(dropout)})])
        loss = events.Tensors("loss")
        assert [e.step for e in loss] == list(range(trained))
        assert "val_accuracy" in events.Tags()["tensors"] and "test_score" in events.Tags()["tensors"]
    assert len(seen) == len(expected)
    root = EventAccumulator(str(board)).Reload()
    experiment = plugin_data_pb2.HParamsPluginData.FromString(root.PluginTagToContent("hparams")["_hparams_/experiment"])
    assert {h.name for h in experiment.experiment.hparam_infos} == {"dropout", "fold"}
    assert {"loss", "val_loss", "test_score"} <= {m.name.tag for m in experiment.experiment.metric_infos}


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

    first = CNNClassifier(**params, epochs=1, callbacks=[keras.callbacks.CSVLogger(str(log), append=True)]).fit(X, y)
    seen = Seen()
    second = CNNClassifier(**params, epochs=3, callbacks=[keras.callbacks.CSVLogger(str(log), append=True), seen])
    second.fit(X, y)
    assert (first.initial_epoch_, second.initial_epoch_, second.n_epochs_) == (0, 1, 3)  # continued rung 1
    assert seen.epochs == [1, 2]
    assert [row.split(",")[0] for row in log.read_text().splitlines() if row[0].isdigit()] == ["0", "1", "2"]
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
        [mlflow, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
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

    search = skopt.BayesSearchCV(CNNClassifier(**TINY, epochs=2), {"dropout": skopt.space.Real(0.0, 0.5)},
                                 n_iter=2, cv=2, random_state=0, optimizer_kwargs={"n_initial_points": 2})
    with log_search(tracking_uri=mlflow_server, experiment="bayes"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # skopt: "The objective has been evaluated at point..."
        search.fit(*data())
    check_search_logged(MlflowClient(mlflow_server), "bayes", search, artifacts=("cv_results.csv", "best_estimator"))


def test_killed_search_resumes_into_the_same_parent_run(store, tmp_path):
    uri, client, folder = store
    checkpoints = tmp_path / "fits"
    command = [sys.executable, "-m", "tests.test_tracking", uri, str(checkpoints)]
    process = subprocess.Popen(command, cwd=folder, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 300
    while len(list(checkpoints.glob("*.npz"))) < 4 and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate()
    assert process.returncode == -signal.SIGKILL, f"the search finished before it was killed: {stderr[-2000:]}"
    parents, before = experiment_runs(client, "resume")
    assert len(parents) == 1 and parents[0].info.status == "RUNNING" and before, "nothing was logged live"

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
    args = ["tune", "--searcher", "random", "--n-iter", "2", "--space", "hyperband", "--set", "epochs=1",
            "--max-samples", "300", "--cv", "2", "--no-progress", "--set", "filters=4", "--set", "dense_units=16",
            "--output", str(output), "--mlflow", uri, "--experiment", "cli", "--tensorboard", str(board)]  # fmt: skip
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


@pytest.mark.slow
def test_tensorboard_hparams_tab_shows_the_candidates(logged_hyperband, tmp_path):
    """A real ``tensorboard`` serves the logs; headless Chromium renders its HParams tab
    (screenshot kept as hparams.png) and the table's text, shadow DOM included, names
    every candidate and fold."""
    pytest.importorskip("aiohttp")  # the DevTools websocket (installed with mlflow)
    search, board = logged_hyperband
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    tensorboard = shutil.which("tensorboard", path=str(Path(sys.executable).parent))
    if chromium is None or tensorboard is None:
        pytest.skip("needs chromium (apt-get install chromium) and the tensorboard command")
    port = free_port()
    board_process = subprocess.Popen([tensorboard, "--logdir", str(board), "--host", "127.0.0.1", "--port", str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/data/plugins_listing", board_process, seconds=120)
        png, text = render(chromium, f"http://127.0.0.1:{port}/#hparams", until="fold_", seconds=120)
    finally:
        end(board_process)
    (tmp_path / "hparams.png").write_bytes(png)
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    shown = set(text.split())
    runs = {str(p.parent.relative_to(board)) for p in board.glob("*/fold_*/events.out.tfevents.*")}
    assert len(runs) == 2 * len(candidates(search))
    assert runs <= shown, runs - shown
    assert {"dropout", "fold", "val_loss"} <= shown


if __name__ == "__main__":
    resumable(*sys.argv[1:3]).fit(*data())
