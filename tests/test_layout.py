"""The folders are the layers: every module's imports, read with ast, run only downward
and in no cycle; the public names import from the top; a model saved by the code from
before the folders still loads."""

import ast
import pathlib
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
    "estimators": {
        "training",
        "model",
        "data",
        "_backend",
        "parallel",
        "_sklearn_compat",
        "_stacklevel",
    },
    "time_limit": {"estimators", "search", "training", "data", "_backend"},
    "search": {"data", "_backend", "parallel", "tracking", "_sklearn_compat", "_stacklevel"},
    "reporting": {"model", "_backend"},
    "training": {"model", "data", "_backend", "parallel"},
    # below search (which hands it records and search events), beside training: it knows a
    # search only by scikit-learn's BaseSearchCV and its public attributes
    "tracking": {"_backend"},
    "model": {"_backend"},
    "data": set(),
    "_backend": {"parallel"},
    "parallel": set(),
    "_sklearn_compat": set(),  # scikit-learn's private names, imported in one place
    "_stacklevel": set(),  # where our warnings point
}


def _layer(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path, import_time_only=False):
    """Absolute names of the package's modules that ``path`` imports, lazy imports included
    (``import_time_only``: only those run when the module is imported)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    for node in _import_time_nodes(tree.body) if import_time_only else ast.walk(tree):
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


def _import_time_nodes(statements):
    """The nodes run on import: not function bodies, nor ``if TYPE_CHECKING:`` blocks."""
    for statement in statements:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test):
            yield from _import_time_nodes(statement.orelse)
            continue
        yield statement
        for field in ("body", "orelse", "finalbody", "handlers"):
            yield from _import_time_nodes(getattr(statement, field, []))


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


def _import_cycle():
    """One cycle of import-time imports between the package's modules, or None."""
    names = {_module_name(path): path for path in MODULES}
    graph = {
        name: {
            target if target in names else target.rpartition(".")[0]
            for target in _imported_modules(path, import_time_only=True)
        }
        - {name}
        for name, path in names.items()
    }
    done, path = set(), []

    def visit(name):
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done or name not in graph:
            return None
        path.append(name)
        found = next(filter(None, map(visit, sorted(graph[name]))), None)
        path.pop()
        done.add(name)
        return found

    return next(filter(None, map(visit, sorted(graph))), None)


def test_no_module_imports_itself_through_others():
    """Import-time imports form no cycle (``model.architectures`` and ``model.backbones``
    both register in ``model.registry`` and neither imports the other back)."""
    assert _import_cycle() is None, " -> ".join(_import_cycle())


def test_the_check_sees_an_import_cycle(monkeypatch):
    """Two modules importing each other at import time are a cycle; a function's import or
    an ``if TYPE_CHECKING:`` one is not."""
    probes = [PACKAGE / "model" / f"_cycle_probe_{name}.py" for name in "ab"]
    probes[0].write_text("from . import _cycle_probe_b\n")
    probes[1].write_text("def f():\n    from . import _cycle_probe_a\n")
    monkeypatch.setattr(sys.modules[__name__], "MODULES", [*MODULES, *probes])
    try:
        assert _import_cycle() is None
        probes[1].write_text("if TYPE_CHECKING:\n    from . import _cycle_probe_a\n")
        assert _import_cycle() is None
        probes[1].write_text("from ._cycle_probe_a import f\n")
        assert _import_cycle() == [
            "sklearn_keras_hpo.model._cycle_probe_a",
            "sklearn_keras_hpo.model._cycle_probe_b",
            "sklearn_keras_hpo.model._cycle_probe_a",
        ]
    finally:
        for probe in probes:
            probe.unlink()


PUBLIC = [
    "CNNClassifier",
    "CNNRegressor",
    "HyperbandSearchCV",
    "AsyncHalvingSearchCV",
    "ImageRows",
    "search_space",
    "progress_bar",
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
