"""The package extends other libraries through their public seams only.

No module of ours assigns to (or deletes, or ``setattr``s) an attribute of anything it
imported from scikit-learn, scikit-optimize, joblib, Keras or TensorFlow: no process-wide
patching. Private scikit-learn names are imported in one module, ``_sklearn_compat``.
"""

import ast
from pathlib import Path

import pytest
import sklearn

import sklearn_keras_hpo
from sklearn_keras_hpo import _sklearn_compat

PACKAGE = Path(sklearn_keras_hpo.__file__).parent
FOREIGN = ("sklearn", "skopt", "joblib", "keras", "tensorflow", "tf_keras")


def foreign_names(tree):
    """The names a module binds to other libraries' modules, classes and functions."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FOREIGN:
                    names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in FOREIGN:
                names.update(alias.asname or alias.name for alias in node.names)
    return names


def root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def foreign_assignments(source):
    """``(line, text)`` of each assignment to an attribute of a foreign import."""
    tree = ast.parse(source)
    names = foreign_names(tree)
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "delattr")
            and node.args
            and root_name(node.args[0]) in names
        ):
            found.append((node.lineno, ast.unparse(node)))
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(element, ast.Attribute) and root_name(element) in names:
                    found.append((node.lineno, ast.unparse(element)))
    return found


def modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_the_checker_finds_each_kind_of_patch():
    planted = """
import joblib
from sklearn.model_selection import _search as sklearn_search
from sklearn.model_selection._search import BaseSearchCV
import keras.layers
sklearn_search._fit_and_score = print
BaseSearchCV.fit, joblib.Parallel.__call__ = None, None
keras.layers.Dense.call += 1
setattr(joblib.Parallel, "print_progress", None)
del sklearn_search.Parallel
model = object()
model.stop_training = True
"""
    found = sorted(text for _, text in foreign_assignments(planted))
    assert found == sorted(
        [
            "sklearn_search._fit_and_score",
            "BaseSearchCV.fit",
            "joblib.Parallel.__call__",
            "keras.layers.Dense.call",
            "setattr(joblib.Parallel, 'print_progress', None)",
            "sklearn_search.Parallel",
        ]
    )


# Known and open: Keras 3 draws its default seeds from the module-level ``python_random`` of
# ``keras.src.random.seed_generator`` and has no public seam for a per-thread generator;
# ``training.session.seeded`` swaps in a thread-local one so fits in threads stay
# deterministic. Until Keras offers a seam (or the thread backend goes), this one stays.
KNOWN = {"training/session.py": "Keras has no public seam for per-thread default seeds"}


def module_params():
    for path in modules():
        name = str(path.relative_to(PACKAGE))
        marks = [pytest.mark.xfail(reason=KNOWN[name], strict=True)] if name in KNOWN else []
        yield pytest.param(path, id=name, marks=marks)


@pytest.mark.parametrize("path", module_params())
def test_no_module_assigns_to_another_librarys_attributes(path):
    assert foreign_assignments(path.read_text()) == []


def private_sklearn_imports(source):
    """Private scikit-learn names a module imports: ``(module, name)``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "sklearn":
                continue
            private_module = any(part.startswith("_") for part in node.module.split("."))
            for alias in node.names:
                if private_module or alias.name.startswith("_"):
                    found.append((node.module, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "sklearn" and any(part.startswith("_") for part in parts):
                    found.append((alias.name, None))
    return found


def test_private_scikit_learn_names_come_from_one_module():
    users = {
        str(path.relative_to(PACKAGE)): private_sklearn_imports(path.read_text())
        for path in modules()
        if path.name != "_sklearn_compat.py"
    }
    assert {path: names for path, names in users.items() if names} == {}


def test_the_compatibility_module_lists_what_it_imports_and_each_name_resolves():
    imported = private_sklearn_imports(Path(_sklearn_compat.__file__).read_text())
    assert sorted(name for _, name in imported) == sorted(_sklearn_compat.__all__)
    assert all(getattr(_sklearn_compat, name) is not None for name in _sklearn_compat.__all__)
    assert sorted(_sklearn_compat.__all__) == [
        "BaseSearchCV",
        "HasMethods",
        "Hidden",
        "Interval",
        "Options",
        "StrOptions",
        "_FuncWrapper",
        "_MultimetricScorer",
        "_check_method_params",
        "_check_sample_weight",
        "_fit_and_score",
        "_fit_context",
        "_insert_error_scores",
        "_num_samples",
        "_warn_or_raise_about_fit_failures",
    ]


def test_the_installed_scikit_learn_is_inside_the_pinned_range():
    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    assert (major, minor) == (1, 9), (
        f"scikit-learn {sklearn.__version__}: pyproject pins >=1.9,<1.10; check "
        "_sklearn_compat's names against the new release, then widen the pin"
    )
