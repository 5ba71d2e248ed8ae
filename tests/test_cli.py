"""skhpo tune / predict: outputs, every searcher, stop and resume, the report in a real browser."""

import csv
import json
import os
import re
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
TINY = [
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


@pytest.fixture(scope="module")
def space_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("space") / "space.yaml"
    path.write_text("learning_rate: {log: [0.003, 0.03]}\nrotation: [10.0, 20.0]\n")
    return path


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, space_file):
    """One grid search on digits, run the way a user runs it."""
    output = tmp_path_factory.mktemp("run") / "out"
    command = [
        sys.executable,
        "-m",
        "sklearn_keras_hpo",
        "tune",
        "--searcher",
        "grid",
        "--space",
        str(space_file),
        "--set",
        "epochs=3",
        "--output",
        str(output),
        *TINY,
    ]
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
    for section in (
        "Data",
        "Top configurations",
        "training curves",
        "Held-out split",
        "Augmentation preview",
        "Optimisation history",
        "Parameter importance",
        "Score against each hyperparameter",
        "Held-out accuracy",
    ):
        assert section in page
    # samples, curves, confusion, preview, optimisation history, scores; 6 configurations
    # are too few for the importance estimate, which says so
    assert page.count("data:image/png;base64,") == 6
    assert "No estimate: 6 scored configurations" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_predict_writes_one_row_per_image(tuned, tmp_path):
    from sklearn_keras_hpo.data.datasets import load_digits_images

    X, y = load_digits_images()
    np.savez(tmp_path / "new.npz", X=X[:50], y=y[:50])
    out = tmp_path / "predictions.csv"
    assert (
        main(["predict", str(tuned[0] / "model"), str(tmp_path / "new.npz"), "-o", str(out)]) == 0
    )
    with open(out) as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 50 and rows[0].keys() >= {
        "index",
        "prediction",
        "label",
        "proba_0",
        "proba_9",
    }
    expected = load(tuned[0] / "model").predict(X[:50])
    assert [int(r["prediction"]) for r in rows] == expected.tolist()


def _unlabelled(kind, directory, X):
    """``X`` written as a file without labels; the predict options it needs."""
    from PIL import Image

    if kind == "npz":
        np.savez(directory / "new.npz", pixels=X)
        return directory / "new.npz", ["--x-key", "pixels"]
    if kind == "csv":
        np.savetxt(directory / "new.csv", X.reshape(len(X), -1), delimiter=",", fmt="%.6f")
        return directory / "new.csv", []
    (directory / "images").mkdir()
    for i, image in enumerate(X):
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(
            directory / "images" / f"{i:03d}.png"
        )
    return directory / "images", ["--image-size", "8", "8"]


@pytest.mark.parametrize("kind", ["npz", "csv", "folder"])
def test_predict_needs_no_labels(tuned, tmp_path, kind, capsys):
    from sklearn_keras_hpo.data.datasets import load_digits_images

    X = load_digits_images()[0][:20]
    data, options = _unlabelled(kind, tmp_path, X)
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(tuned[0] / "model"), str(data), "-o", str(out), *options]) == 0
    with open(out) as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 20 and "label" not in rows[0] and "proba_9" in rows[0]
    model = load(tuned[0] / "model")
    expected = model.predict(np.round(X * 255) / 255 if kind == "folder" else X)
    assert [int(r["prediction"]) for r in rows] == expected.tolist()
    assert "Wrote 20 predictions" in capsys.readouterr().out


def test_tune_reads_named_npz_keys(tmp_path, capsys):
    from sklearn_keras_hpo.data.datasets import load_digits_images

    X, y = load_digits_images()
    np.savez(tmp_path / "d.npz", pixels=X, target=y)
    args = [
        "tune",
        "--data",
        str(tmp_path / "d.npz"),
        "--searcher",
        "random",
        "--n-iter",
        "1",
        "--space",
        "hyperband",
        "--set",
        "epochs=1",
        "--output",
        str(tmp_path / "out"),
        *TINY,
    ]
    assert main(args) == 2 and "pass x_key= and y_key=" in capsys.readouterr().err
    assert main([*args, "--x-key", "pixels", "--y-key", "target"]) == 0


@pytest.mark.parametrize(
    "searcher, sampler",
    [
        ("random", "random"),
        ("bayes", "random"),
        ("halving", "random"),
        ("hyperband", "random"),
        ("asha", "random"),
        ("asha", "tpe"),
    ],
)
def test_every_searcher_from_the_cli(searcher, sampler, tmp_path, capsys):
    args = [
        "tune",
        "--searcher",
        searcher,
        "--sampler",
        sampler,
        "--space",
        "hyperband",
        "--n-iter",
        "2",
        "--max-epochs",
        "3",
        "--set",
        "epochs=1",
        "--output",
        str(tmp_path),
        *TINY,
    ]
    assert main(args) == 0
    with open(tmp_path / "cv_results.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) >= 2
    first = json.loads(rows[0]["params"])  # every searcher starts from the default configuration
    assert (first["learning_rate"], first["batch_size"], first["activation"]) == (
        0.001,
        32,
        "relu",
    ), first
    if searcher in ("hyperband", "asha"):  # the best at the top rung
        assert "3 of 3 epochs (the largest that finished)" in (tmp_path / "report.html").read_text()
    assert (tmp_path / "report.html").exists() and "Held-out accuracy" in capsys.readouterr().out


def test_grid_fits_the_default_configuration_first_when_it_holds_it(tmp_path):
    space = tmp_path / "grid.yaml"
    space.write_text("learning_rate: [0.01, 0.001, 0.1]\n")
    assert (
        main(
            [
                "tune",
                "--searcher",
                "grid",
                "--space",
                str(space),
                "--set",
                "epochs=1",
                "--output",
                str(tmp_path / "out"),
                *TINY,
            ]
        )
        == 0
    )
    with open(tmp_path / "out" / "cv_results.csv") as file:
        order = [json.loads(row["params"])["learning_rate"] for row in csv.DictReader(file)]
    assert order == [0.001, 0.01, 0.1]


def test_tpe_sampler_needs_a_rung_searcher(tmp_path, capsys):
    assert (
        main(["tune", "--searcher", "random", "--sampler", "tpe", "--output", str(tmp_path), *TINY])
        == 2
    )
    assert "--sampler tpe works with --searcher hyperband or asha" in capsys.readouterr().err


def test_parallel_tune_ends_without_loky_warnings(tmp_path):
    """loky restarts a worker it takes for leaking (RSS +300 MB since its first task) and
    warns "A worker stopped while some jobs were given to the executor"; the freed heap
    of finished fits must not count (see ``parallel.trim_heap_after_full_gc``)."""
    command = [
        sys.executable,
        "-m",
        "sklearn_keras_hpo",
        "tune",
        "--searcher",
        "random",
        "--space",
        "hyperband",
        "--n-iter",
        "2",
        "--n-jobs",
        "2",
        "--set",
        "epochs=1",
        "--output",
        str(tmp_path),
        *TINY,
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for message in ("A worker stopped", "memory leak", "terminated", "UserWarning"):
        assert message not in done.stderr, done.stderr


def _run_cli(args):
    """``skhpo ARGS`` in its own process (a time limit's stop can leave TensorFlow's state
    in the process it lands in half-changed, and this one runs other tests); its stdout."""
    command = [sys.executable, "-m", "sklearn_keras_hpo", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_a_small_time_limit_trains_the_default_for_all_of_it(tmp_path):
    """Too short a limit for a search to pay: the default trains for the epochs it affords,
    and the console, the report and the model say so."""
    out = _run_cli(["tune", "--time-limit", "12", "--output", str(tmp_path), *TINY])
    plan = re.search(r"affords (\d+) epochs .*: too few for a search to pay", out)
    assert plan and "no search" in out, out
    model = load(tmp_path / "model")
    assert model.get_params()["epochs"] == int(plan.group(1))
    assert "too few for a search to pay" in (tmp_path / "report.html").read_text()


def test_a_larger_time_limit_searches_and_trains_its_best_on(tmp_path, capsys, monkeypatch):
    """Room for a search (the probe stubbed to cheap fits, so that 30 s hold one): asha in a
    share of the limit, then its best trains on from its checkpoint to the planned epochs
    (no refit); the best parameters name those epochs."""
    from sklearn_keras_hpo.time_limit import run
    from sklearn_keras_hpo.time_limit.probe import TrainingCost

    monkeypatch.setattr(run, "measure_training", lambda *args: TrainingCost(0.05, 0.02))
    assert main(["tune", "--time-limit", "30", "--output", str(tmp_path), *TINY]) == 0
    out = capsys.readouterr().out
    assert re.search(r"a search of \d+ s with rungs up to \d+ epochs", out), out
    continued = re.search(r"chosen at (\d+) epochs, trained on from its checkpoint to (\d+)", out)
    assert continued, out
    model = load(tmp_path / "model")
    assert model.get_params()["epochs"] == int(continued.group(2)) > int(continued.group(1))
    best = json.loads((tmp_path / "best_params.json").read_text())
    assert best["epochs"] == int(continued.group(2))
    with open(tmp_path / "cv_results.csv") as file:
        assert len(list(csv.DictReader(file))) >= 1


def test_a_time_limit_plans_its_own_search(tmp_path, capsys):
    args = ["tune", "--searcher", "grid", "--time-limit", "30", "--output", str(tmp_path)]
    assert main(args) == 2
    assert "--time-limit plans its own search" in capsys.readouterr().err


def test_ctrl_c_stops_cleanly_and_resume_skips_finished_fits(tmp_path, space_file):
    output = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "sklearn_keras_hpo",
        "tune",
        "--searcher",
        "grid",
        "--space",
        str(space_file),
        "--set",
        "epochs=2",
        "--output",
        str(output),
        *TINY,
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    records = output / "finished_fits.jsonl"
    deadline = time.monotonic() + 300
    while (
        not records.exists() or len(records.read_text().splitlines()) < 4
    ) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "Stopped (interrupted)" in stdout and (output / "report.html").exists()
    finished = {p.name: p.stat().st_mtime_ns for p in (output / "fits").glob("*.npz")}
    assert finished

    resumed = subprocess.run(
        [*command, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
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
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            env=env,
            capture_output=True,
            timeout=900,
        )
        found = shutil.which("chromium")
    if found is None:
        pytest.skip(
            "chromium is not installed and cannot be installed here (needs root and apt-get)"
        )
    return found


def render(chromium, page, screenshot):
    """Screenshot ``page``; returns the console messages chromium logged."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1100,5200",
        f"--screenshot={screenshot}",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert Path(screenshot).exists(), done.stderr
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.fixture(scope="module")
def named_run(tmp_path_factory):
    """A random search over epochs 1 and 2 on a folder of digit images, one subfolder per
    class name: the report has rungs to colour, enough rows for importance, names to show."""
    from PIL import Image

    from sklearn_keras_hpo.data.datasets import load_digits_images

    root = tmp_path_factory.mktemp("named")
    X, y = load_digits_images()
    for i, (image, label) in enumerate(zip(X[:400], y[:400], strict=False)):
        (root / "data" / DIGIT_NAMES[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(
            root / "data" / DIGIT_NAMES[label] / f"{i}.png"
        )
    space = root / "space.yaml"
    space.write_text(
        "epochs: [1, 2]\nlearning_rate: {log: [0.003, 0.03]}\nactivation: [relu, tanh]\n"
    )
    args = [
        "tune",
        "--data",
        str(root / "data"),
        "--image-size",
        "8",
        "8",
        "--searcher",
        "random",
        "--space",
        str(space),
        "--n-iter",
        "8",
        "--output",
        str(root / "out"),
        *TINY,
    ]
    assert main(args) == 0
    return root / "out"


def test_report_shows_class_names_rungs_history_and_importance(named_run):
    page = (named_run / "report.html").read_text()
    assert all(f"<td>{name}</td>" in page for name in DIGIT_NAMES)  # the per-class table
    for section in ("Optimisation history", "Parameter importance", "Coloured by the epochs"):
        assert section in page
    assert "No estimate" not in page  # 8 configurations: importance is estimated
    # samples, curves, confusion, history, importance, scores (the best has no augmentation)
    assert page.count("data:image/png;base64,") == 6


def test_report_renders_in_headless_chromium(chromium, tuned, named_run, tmp_path):
    from PIL import Image

    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><p>x</p><script>notDefined();</script></body></html>")
    assert render(chromium, broken, tmp_path / "broken.png"), "console errors must be detectable"

    for name, page in (("grid", tuned[0] / "report.html"), ("named", named_run / "report.html")):
        screenshot = Path(os.environ.get("SKHPO_SCREENSHOTS", tmp_path)) / f"report-{name}.png"
        assert render(chromium, page, screenshot) == []
        pixels = np.asarray(Image.open(screenshot).convert("L"), dtype=float)
        assert pixels.std() > 20 and (pixels < 200).mean() > 0.02, "the screenshot is blank"


@pytest.mark.parametrize("stream", ["always", "auto"])
def test_tune_streams_a_folder_of_rgb_files(stream, tmp_path, capsys):
    """--stream always trains on the file paths (decoded per batch, RGB kept); auto decodes
    a folder this small up front, in its own colour mode."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(90):
        label = i % 3
        image = np.zeros((12, 12, 3), np.uint8)
        image[..., label] = 200
        image += rng.integers(0, 40, image.shape, dtype=np.uint8)
        (tmp_path / "data" / f"c{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(tmp_path / "data" / f"c{label}" / f"{i}.png")
    args = [
        "tune",
        "--data",
        str(tmp_path / "data"),
        "--image-size",
        "12",
        "12",
        "--stream",
        stream,
        "--searcher",
        "random",
        "--n-iter",
        "1",
        "--space",
        "hyperband",
        "--set",
        "epochs=2",
        "--output",
        str(tmp_path / "out"),
        *TINY,
    ]
    assert main(args) == 0
    assert "Held-out accuracy" in capsys.readouterr().out
    saved = load(tmp_path / "out" / "model")
    assert tuple(saved.image_shape_) == (12, 12, 3)
    assert (saved.channels == 3) is (stream == "always")


def _startup_seconds():
    """What a fresh ``python -m sklearn_keras_hpo`` pays before ``main`` runs, measured."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import sklearn_keras_hpo.cli"], cwd=ROOT, check=True)
    return time.monotonic() - started


def test_time_limit_bounds_the_whole_run_refit_and_report_included(tmp_path):
    """--time-limit 20 ends within 1.1 x 20 s plus the measured start-up, with a report and
    a model, and says how it spent the limit."""
    startup = _startup_seconds()
    command = [
        sys.executable,
        "-m",
        "sklearn_keras_hpo",
        "tune",
        "--time-limit",
        "20",
        "--output",
        str(tmp_path),
        *TINY,
    ]
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert elapsed <= 1.1 * 20 + startup, (elapsed, startup, done.stdout)
    assert "Time limit: " in done.stdout and (tmp_path / "report.html").exists()
    assert load(tmp_path / "model").predict(np.zeros((1, 8, 8))).shape == (1,)


def test_predict_reads_rgb_files_at_the_models_shape(tmp_path, capsys):
    """A model trained on 12x12 RGB images predicts a folder of larger RGB files: they are read
    at the model's own size and channels, not as 28x28 grayscale."""
    from PIL import Image

    from sklearn_keras_hpo import CNNClassifier

    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (40, 12, 12, 3), dtype=np.uint8)
    model = CNNClassifier(filters=4, dense_units=8, epochs=1, random_state=0).fit(
        X, np.arange(40) % 2
    )
    model.save(tmp_path / "model")
    (tmp_path / "new").mkdir()
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (30, 30, 3), dtype=np.uint8)).save(
            tmp_path / "new" / f"{i}.png"
        )
    out = tmp_path / "p.csv"
    assert main(["predict", str(tmp_path / "model"), str(tmp_path / "new"), "-o", str(out)]) == 0
    assert "Wrote 5 predictions" in capsys.readouterr().out


def test_progress_total_is_known_from_the_start(tmp_path):
    """A random search's bar shows n_iter x cv as its total from the first fit on (it grew
    from 0/3 to 120/120 while it ran when each candidate's folds were added as it started)."""
    from sklearn.model_selection import RandomizedSearchCV

    from sklearn_keras_hpo import CNNClassifier, lost_workers_retried, progress_bar
    from sklearn_keras_hpo.data import load_digits_images

    X, y = load_digits_images()
    seen = []

    class Watching(CNNClassifier):
        def fit(self, X, y, **kwargs):
            seen.append(progress_total())
            return super().fit(X, y, **kwargs)

    search = RandomizedSearchCV(
        Watching(filters=4, dense_units=8, epochs=1),
        {"dropout": [0.0, 0.1, 0.2]},
        n_iter=3,
        cv=2,
        refit=False,
        random_state=0,
    )
    with progress_bar(disable=True) as bar, lost_workers_retried():
        progress_total = lambda: bar.total  # noqa: E731
        search.set_callbacks(bar.callback).fit(X[:200], y[:200])
    assert seen == [6] * 6 and bar.n == 6
