"""skhpo tune / predict: outputs, every searcher, stop and resume, the report in a real browser."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sklearn_keras_hpo import load
from sklearn_keras_hpo.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--max-samples", "400", "--cv", "2", "--no-progress", "--set", "filters=4", "--set", "dense_units=16"]


@pytest.fixture(scope="module")
def space_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("space") / "space.yaml"
    path.write_text("learning_rate: {log: [0.003, 0.03]}\nrotation: [10.0, 20.0]\n")
    return path


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, space_file):
    """One grid search on digits, run the way a user runs it."""
    output = tmp_path_factory.mktemp("run") / "out"
    command = [sys.executable, "-m", "sklearn_keras_hpo", "tune", "--searcher", "grid", "--space",
               str(space_file), "--set", "epochs=3", "--output", str(output), *TINY]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return output, done.stdout


def test_tune_writes_every_output(tuned, space_file):
    output, stdout = tuned
    best = json.loads((output / "best_params.json").read_text())
    assert set(best) == {"learning_rate", "rotation"}
    with open(output / "cv_results.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 6  # 3 learning rates x 2 rotations
    assert {"mean_test_score", "std_test_score", "mean_fit_time", "rank_test_score"} <= set(rows[0])
    model = load(output / "model")
    assert model.get_params()["learning_rate"] == best["learning_rate"]
    assert "Held-out accuracy: " in stdout and "Report: " in stdout
    accuracy = float(stdout.split("Held-out accuracy: ")[1].split()[0])
    assert 0.2 < accuracy <= 1.0  # chance is 0.1; 320 8x8 images, 3 epochs, 4 filters


def test_report_is_self_contained_with_every_section(tuned):
    page = (tuned[0] / "report.html").read_text()
    for section in ("Data", "Top configurations", "training curves", "Held-out split", "Augmentation preview",
                    "Score against each hyperparameter", "Held-out accuracy"):  # fmt: skip
        assert section in page
    assert page.count("data:image/png;base64,") == 5  # samples, curves, confusion, preview, scores
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_predict_writes_one_row_per_image(tuned, tmp_path):
    from sklearn_keras_hpo.datasets import load_digits_images

    X, y = load_digits_images()
    np.savez(tmp_path / "new.npz", X=X[:50], y=y[:50])
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(tuned[0] / "model"), str(tmp_path / "new.npz"), "-o", str(out)]) == 0
    with open(out) as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 50 and rows[0].keys() >= {"index", "prediction", "label", "proba_0", "proba_9"}
    expected = load(tuned[0] / "model").predict(X[:50])
    assert [int(r["prediction"]) for r in rows] == expected.tolist()


@pytest.mark.parametrize("searcher", ["random", "bayes", "halving", "hyperband"])
def test_every_searcher_from_the_cli(searcher, tmp_path, capsys):
    args = ["tune", "--searcher", searcher, "--space", "hyperband", "--n-iter", "2", "--max-epochs", "3",
            "--set", "epochs=1", "--output", str(tmp_path), *TINY]  # fmt: skip
    assert main(args) == 0
    with open(tmp_path / "cv_results.csv") as file:
        assert len(list(csv.DictReader(file))) >= 2
    assert (tmp_path / "report.html").exists() and "Held-out accuracy" in capsys.readouterr().out


def test_time_limit_keeps_what_finished(tmp_path, capsys):
    args = ["tune", "--searcher", "random", "--space", "cnn", "--n-iter", "50", "--set", "epochs=1",
            "--time-limit", "12", "--output", str(tmp_path), *TINY]  # fmt: skip
    started = time.monotonic()
    assert main(args) == 0
    assert time.monotonic() - started < 60
    out = capsys.readouterr().out
    assert "Stopped (time limit of 12 s)" in out
    with open(tmp_path / "cv_results.csv") as file:
        finished = len(list(csv.DictReader(file)))
    assert 1 <= finished < 50
    assert load(tmp_path / "model").get_params()["epochs"] >= 1


def test_ctrl_c_stops_cleanly_and_resume_skips_finished_fits(tmp_path, space_file):
    output = tmp_path / "out"
    command = [sys.executable, "-m", "sklearn_keras_hpo", "tune", "--searcher", "grid", "--space", str(space_file),
               "--set", "epochs=2", "--output", str(output), *TINY]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records = output / "finished_fits.jsonl"
    deadline = time.monotonic() + 300
    while (not records.exists() or len(records.read_text().splitlines()) < 4) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "Stopped (interrupted)" in stdout and (output / "report.html").exists()
    finished = {p.name: p.stat().st_mtime_ns for p in (output / "fits").glob("*.npz")}
    assert finished

    resumed = subprocess.run([*command, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (output / "fits").glob("*.npz")}
    assert all(after[name] == mtime for name, mtime in finished.items())
    with open(output / "cv_results.csv") as file:
        assert len(list(csv.DictReader(file))) == 6  # the whole grid


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "nonsense=1"], "unknown parameter(s) ['nonsense']"),
        (["--set", "epochs"], "write PARAM=VALUE"),
        (["--data", "/no/such/file.npz"], "does not exist"),
        (["--space", "{space_file}"], "is not a search range"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(args, message, tmp_path, capsys):
    bad_space = tmp_path / "bad.yaml"
    bad_space.write_text("dropout: {real: [0.5, 0.1]}\n")
    args = [a.replace("{space_file}", str(bad_space)) for a in args]
    assert main(["tune", "--output", str(tmp_path / "out"), *args]) == 2
    assert message in capsys.readouterr().err


# -- the report in a real headless browser ------------------------------------------
@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium, installed here if missing (needs root and apt-get)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True, timeout=900)
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get)")
    return found


def render(chromium, page, screenshot):
    """Screenshot ``page``; returns the console messages chromium logged."""
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--enable-logging=stderr", "--v=0", "--window-size=1100,2400",
               f"--screenshot={screenshot}", page.as_uri()]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert Path(screenshot).exists(), done.stderr
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def test_report_renders_in_headless_chromium(chromium, tuned, tmp_path):
    from PIL import Image

    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><p>x</p><script>notDefined();</script></body></html>")
    assert render(chromium, broken, tmp_path / "broken.png"), "console errors must be detectable"

    console = render(chromium, tuned[0] / "report.html", tmp_path / "report.png")
    assert console == []
    pixels = np.asarray(Image.open(tmp_path / "report.png").convert("L"), dtype=float)
    assert pixels.std() > 20 and (pixels < 200).mean() > 0.02, "the screenshot is blank"
