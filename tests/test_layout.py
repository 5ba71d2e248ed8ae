"""The folders are the layers: every module's imports, read with ast, run only downward;
the public names and the paths from before the folders still import; a model saved and
estimators pickled by the code from before the move still load."""

import ast
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import sklearn_keras_hpo

PACKAGE = pathlib.Path(sklearn_keras_hpo.__file__).parent
FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "before_layout_move"

# layer -> the layers of ours it may import (besides itself)
ALLOWED = {
    "__init__": {"*"},
    "__main__": {"cli"},
    "cli": {"*"},
    "_cli_search": {"estimators", "search"},  # the searcher of cli's tune command
    "_moved": set(),
    "estimators": {"training", "model", "data", "_backend", "parallel"},
    "search": {"data", "_backend", "parallel", "tracking"},
    "reporting": {"model", "_backend"},
    "training": {"model", "data", "_backend", "parallel"},
    # below search (which hands it records and search events), beside training: it knows a
    # search only by scikit-learn's BaseSearchCV and its public attributes
    "tracking": {"_backend"},
    "model": {"_backend"},
    "data": set(),
    "_backend": {"parallel"},
    "parallel": set(),
}


def _layer(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path):
    """Absolute names of the package's modules that ``path`` imports, lazy imports included."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "sklearn_keras_hpo":
                continue
            if target == "sklearn_keras_hpo" or not node.module:
                yield from (f"{target}.{alias.name}" for alias in node.names)
            else:
                yield target
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "sklearn_keras_hpo")


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_known_layer():
    layers = {_layer(_module_name(path)) for path in MODULES}
    assert layers == set(ALLOWED), layers ^ set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_only_downward(path):
    layer = _layer(_module_name(path))
    allowed = ALLOWED[layer]
    upward = [
        t
        for t in _imported_modules(path)
        if "*" not in allowed and _layer(t) not in allowed | {layer}
    ]
    assert not upward, (
        f"{path.relative_to(PACKAGE)} ({layer}) imports {upward}; allowed: {sorted(allowed)}"
    )


def test_the_check_sees_an_upward_import(tmp_path):
    """The reader resolves relative and lazy imports: an upward one is found."""
    fake = PACKAGE / "training" / "_layout_probe.py"
    fake.write_text(
        "def f():\n    from ..estimators import CNNClassifier\n    from .. import search\n"
    )
    try:
        assert set(_imported_modules(fake)) == {
            "sklearn_keras_hpo.estimators",
            "sklearn_keras_hpo.search",
        }
    finally:
        fake.unlink()


PUBLIC = [
    "CNNClassifier",
    "CNNRegressor",
    "HyperbandSearchCV",
    "AsyncHalvingSearchCV",
    "ImageRows",
    "search_space",
    "progress_bar",
    "failures_as_scores",
    "lost_workers_retried",
    "load",
    "LostWorkerWarning",
    "WorkerLostError",
    "InsufficientMemoryError",
    "TrainingDivergedError",
    "plot_augmentations",
    "plot_history",
    "plot_lr_schedule",
]


def test_public_names_import_from_the_top():
    for name in PUBLIC:
        assert getattr(sklearn_keras_hpo, name) is not None
    assert set(PUBLIC) <= set(sklearn_keras_hpo.__all__)


OLD_PATHS = {  # old module -> (a name it exported, the module that holds it now)
    "datasets": ("load_image_folder", "data.datasets"),
    "spaces": ("search_space", "search.spaces"),
    "architectures": ("ARCHITECTURES", "model.architectures"),
    "schedules": ("learning_rates", "model.schedules"),
    "augmentation": ("TRANSFORMS", "model.augmentation"),
    "rows": ("ImageRows", "data.rows"),
    "persistence": ("save", "estimators.persistence"),
    "asha": ("asha_promotion", "search.asha"),
    "recovery": ("lost_workers_retried", "search.recovery"),
    "progress": ("progress_bar", "search.progress"),
    "report": ("build_report", "reporting.report"),
    "plotting": ("plot_history", "reporting.plotting"),
    "estimators": ("CNNClassifier", "estimators"),  # a package now: no warning
    "search": ("hyperband_brackets", "search"),
}


@pytest.mark.parametrize("old", OLD_PATHS)
def test_paths_from_before_the_folders_still_import(old):
    """In a fresh process (nothing cached in sys.modules): the very object the new path holds,
    with a FutureWarning naming the new path where the module moved."""
    name, new = OLD_PATHS[old]
    code = (
        f"import importlib\n"
        f"from sklearn_keras_hpo.{old} import {name} as old\n"
        f"assert old is getattr(importlib.import_module('sklearn_keras_hpo.{new}'), {name!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    moved = f"FutureWarning: sklearn_keras_hpo.{old} moved to sklearn_keras_hpo.{new}"
    assert (moved in done.stderr) == (old not in ("estimators", "search")), done.stderr[-2000:]


def test_model_saved_before_the_move_loads_and_predicts_the_same():
    loaded = sklearn_keras_hpo.load(FIXTURES / "saved_classifier")
    X = np.load(FIXTURES / "X.npy")
    np.testing.assert_allclose(loaded.predict_proba(X), np.load(FIXTURES / "proba.npy"), atol=1e-6)


def test_saved_models_name_the_public_path(tmp_path):
    loaded = sklearn_keras_hpo.load(FIXTURES / "saved_classifier")
    loaded.save(tmp_path / "again")
    text = (tmp_path / "again" / "estimator.json").read_text()
    assert '"class": "sklearn_keras_hpo:CNNClassifier"' in text
    assert type(sklearn_keras_hpo.load(tmp_path / "again")) is sklearn_keras_hpo.CNNClassifier


def test_estimators_pickled_before_the_move_unpickle():
    with (
        (FIXTURES / "classifier.pkl").open("rb") as file,
        pytest.warns(FutureWarning, match="rows"),
    ):
        old = pickle.load(file)
    assert type(old["classifier"]) is sklearn_keras_hpo.CNNClassifier
    assert type(old["regressor"]) is sklearn_keras_hpo.CNNRegressor
    assert type(old["rows"]) is sklearn_keras_hpo.ImageRows
    assert old["regressor"].get_params()["epochs"] == 2
    X = np.load(FIXTURES / "X.npy")
    np.testing.assert_allclose(
        old["classifier"].predict_proba(X), np.load(FIXTURES / "proba.npy"), atol=1e-6
    )
    np.testing.assert_array_equal(np.asarray(old["rows"][np.arange(5)]), X[:5])
