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
