"""One HyperbandSearchCV logged to MLflow (a SQLite file) and TensorBoard at once, read
back from both: its rungs continue one curve per candidate, TensorBoard has each candidate
and fold with its hparams, and a real ``tensorboard`` process shows them in its HParams tab.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sklearn_keras_hpo import load
from sklearn_keras_hpo.tracking import log_search

from .tracking_checks import candidates, check_search_logged, data, hyperband
from .tracking_services import end, free_port, render, wait_for


@pytest.fixture(scope="module")
def logged_hyperband(store, tmp_path_factory):
    """A HyperbandSearchCV logged through ``log_to`` to SQLite and TensorBoard."""
    uri, client, folder = store
    board = tmp_path_factory.mktemp("tensorboard")
    previous = os.getcwd()
    os.chdir(folder)
    try:
        search = hyperband(
            log_to={"tracking_uri": uri, "experiment": "hyperband", "tensorboard_dir": str(board)}
        )
        search.fit(*data())
    finally:
        os.chdir(previous)
    return search, board


def test_hyperband_rungs_continue_one_curve(logged_hyperband, store, tmp_path):
    search, _ = logged_hyperband
    _, client, _ = store
    assert sorted(set(search.cv_results_["n_resources"].tolist())) == [1, 2]
    parent, children = check_search_logged(
        client, "hyperband", search, artifacts=("cv_results.csv", "best_estimator")
    )
    saved = client.download_artifacts(parent.info.run_id, "best_estimator", str(tmp_path))
    model = load(
        saved
    )  # the refitted model, its checkpoint_dir the user's (None), not the search's scratch one
    assert (
        model.get_params()["checkpoint_dir"] is None
        and model.get_params()["dropout"] == search.best_params_["dropout"]
    )
    promoted = [
        key for key, rows in candidates(search).items() if {1, 2} <= {budget for budget, _ in rows}
    ]
    assert promoted, "no candidate went on from 1 to 2 epochs"
    for key in promoted:  # one curve, epoch 0 (rung 1) then 1 (rung 2): no restart at 0
        values = client.get_metric_history(children[key].info.run_id, "fold_0/loss")
        assert sorted(m.step for m in values) == [0, 1]


@pytest.mark.parametrize("opened", [False, True])
def test_hyperband_given_the_logger_as_a_callback_is_logged_once(opened, store, monkeypatch):
    """``set_callbacks(logger)`` on our searcher: the logger joins the runner's hooks (it
    opens itself for the search when no ``with`` block did), one parent run, every curve."""
    uri, client, folder = store
    monkeypatch.chdir(folder)
    experiment = f"hyperband-callback-{opened}"
    logger = log_search(tracking_uri=uri, experiment=experiment)
    search = hyperband().set_callbacks(logger)
    if opened:
        with logger:
            search.fit(*data())
    else:
        search.fit(*data())
    parent, _ = check_search_logged(client, experiment, search)
    assert logger.run_id == parent.info.run_id


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
        assert (
            "val_accuracy" in events.Tags()["tensors"] and "test_score" in events.Tags()["tensors"]
        )
    assert len(seen) == len(expected)
    root = EventAccumulator(str(board)).Reload()
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        root.PluginTagToContent("hparams")["_hparams_/experiment"]
    )
    assert {h.name for h in experiment.experiment.hparam_infos} == {"dropout", "fold"}
    assert {"loss", "val_loss", "test_score"} <= {
        m.name.tag for m in experiment.experiment.metric_infos
    }


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
    board_process = subprocess.Popen(
        [tensorboard, "--logdir", str(board), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/data/plugins_listing", board_process, seconds=120)
        png, text = render(
            chromium, f"http://127.0.0.1:{port}/#hparams", until="fold_", seconds=120
        )
    finally:
        end(board_process)
    (tmp_path / "hparams.png").write_bytes(png)
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    shown = set(text.split())
    runs = {str(p.parent.relative_to(board)) for p in board.glob("*/fold_*/events.out.tfevents.*")}
    assert len(runs) == 2 * len(candidates(search))
    assert runs <= shown, runs - shown
    assert {"dropout", "fold", "val_loss"} <= shown
