"""The examples run end to end (small budgets)."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["random_search_augmentation", "bayes_search_augmentation"])
def test_search_example_runs(name, capsys):
    _load(name).main(n_iter=2)
    out = capsys.readouterr().out
    assert "best parameters" in out and "held-out accuracy" in out
    accuracy = float(out.strip().rsplit(" ", 1)[-1])
    assert 0.5 < accuracy <= 1.0


SMALL_BUDGETS = {
    "hyperband_search": dict(max_epochs=3, n_jobs=1),
    "halving_random_epochs": dict(n_candidates=3, max_epochs=3, n_jobs=1),
    "halving_grid_samples": dict(grid={"optimizer": ["adam", "sgd"]}, n_jobs=1),
}


@pytest.mark.parametrize("name", sorted(SMALL_BUDGETS))
def test_searcher_example_runs(name, capsys):
    _load(name).main(**SMALL_BUDGETS[name])
    out = capsys.readouterr().out
    assert "best parameters" in out
    accuracy = float(out.strip().rsplit(" ", 1)[-1])
    assert 0.3 < accuracy <= 1.0


# 80 s in the suite; the folder-as-X path it takes is covered by test_image_sources
@pytest.mark.slow
def test_galaxy_study_on_an_image_folder_runs(tmp_path, capsys):
    """The real-size galaxy study's code path (paths as X, online and precomputed) on 600
    small files."""
    _load("galaxy_study_folder").main(small=True, folder=tmp_path / "folder")
    out = capsys.readouterr().out
    assert "600 RGB images at 48x48" in out
    for mode in ("online", "precomputed"):
        line = next(line for line in out.splitlines() if line.startswith(f"{mode}:"))
        assert 0.0 <= float(line.rsplit(" ", 1)[-1]) <= 1.0
