"""The CLI is a front end: its modules, read with ast, import only public names of the
library, write the searcher tuples once, and read the command line once into settings."""

import ast
import pathlib

import pytest

import sklearn_keras_hpo
from sklearn_keras_hpo.cli.parser import build_parser
from sklearn_keras_hpo.cli.settings import RUNG_SEARCHERS, SEARCHERS, TuneSettings

PACKAGE = pathlib.Path(sklearn_keras_hpo.__file__).parent
CLI_MODULES = sorted((PACKAGE / "cli").glob("*.py"))


def private_imports(source, package):
    """``(line, dotted name)`` of each private name of ``sklearn_keras_hpo`` that the
    module ``source`` (in ``package``, e.g. ``sklearn_keras_hpo.cli``) imports: any module
    path component or imported name that starts with ``_``; ``__future__`` is allowed."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "sklearn_keras_hpo":
                continue
            names = [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.split(".")[0] == "sklearn_keras_hpo"]
        else:
            continue
        found += [
            (node.lineno, name)
            for name in names
            if any(part.startswith("_") for part in name.split("."))
        ]
    return found


def test_the_check_finds_private_imports():
    planted = """
from __future__ import annotations
import sklearn_keras_hpo._backend
from ..search._rung_search import best_at_largest_budget
from ..search.stopping import _handler
from .._moved import something
from . import _helpers
from ..search import starting, best_at_largest_budget
from numpy import _core
"""
    assert [name for _, name in private_imports(planted, "sklearn_keras_hpo.cli")] == [
        "sklearn_keras_hpo._backend",
        "sklearn_keras_hpo.search._rung_search.best_at_largest_budget",
        "sklearn_keras_hpo.search.stopping._handler",
        "sklearn_keras_hpo._moved.something",
        "sklearn_keras_hpo.cli._helpers",
    ]


@pytest.mark.parametrize("path", CLI_MODULES, ids=lambda p: p.name)
def test_cli_imports_only_public_names(path):
    found = private_imports(path.read_text(), "sklearn_keras_hpo.cli")
    assert not found, f"cli/{path.name} imports private names: {found}"


def test_the_rung_searchers_are_written_once():
    """One tuple literal in the CLI names the rung searchers: ``RUNG_SEARCHERS``."""
    literals = []
    for path in CLI_MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if {"halving", "hyperband"} <= values:
                    literals.append(f"{path.name}:{node.lineno}")
    assert literals == [f"settings.py:{_line_of('RUNG_SEARCHERS')}"], literals
    assert set(RUNG_SEARCHERS) < set(SEARCHERS)
    for name in SEARCHERS:  # the parser offers them all
        assert build_parser().parse_args(["tune", "--searcher", name]).searcher == name


def _line_of(name):
    tree = ast.parse((PACKAGE / "cli" / "settings.py").read_text())
    return next(
        node.lineno
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == name
    )


def test_settings_are_read_once_and_leave_the_arguments_alone():
    args = build_parser().parse_args(
        ["tune", "--searcher", "hyperband", "--set", "epochs=3", "--set", "activation=swish"]
    )
    before = dict(vars(args))
    settings = TuneSettings.from_args(args)
    assert vars(args) == before
    assert dict(settings.fixed) == {"epochs": 3, "activation": "swish"}
    assert settings.rung_search and settings.refit_rule == "searched"
    with pytest.raises(AttributeError):
        settings.searcher = "grid"
    with pytest.raises(TypeError):
        settings.fixed["epochs"] = 4
    limited = TuneSettings.from_args(build_parser().parse_args(["tune", "--time-limit", "60"]))
    assert (limited.cv, limited.cv_asked) == (3, None)  # the time limit sizes the validation
    folds = TuneSettings.from_args(build_parser().parse_args(["tune", "--cv", "5"]))
    assert (folds.cv, folds.cv_asked) == (5, 5)


def test_a_set_without_a_value_is_a_clear_error():
    args = build_parser().parse_args(["tune", "--set", "epochs"])
    with pytest.raises(ValueError, match="write PARAM=VALUE"):
        TuneSettings.from_args(args)
