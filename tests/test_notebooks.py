"""Every example notebook runs top to bottom in a real Jupyter kernel (small budgets)."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def execute(path, monkeypatch):
    monkeypatch.setenv("SKHPO_SMALL", "1")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(EXAMPLES), os.environ.get("PYTHONPATH")]))
    )
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    ).execute()
    return notebook


def test_there_is_a_notebook_per_tutorial():
    assert len(NOTEBOOKS) == 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    notebook = execute(path, monkeypatch)  # a failing cell raises CellExecutionError
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type == "stream" and "accuracy" in o.text for o in outputs)
    if path.stem.startswith("01_"):  # the estimator's HTML repr shows in the notebook
        rich = [o for o in outputs if o.output_type == "execute_result"]
        assert any("CNNClassifier" in o.data.get("text/html", "") for o in rich)
