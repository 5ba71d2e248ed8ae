"""The module paths from before the package had folders, kept importable.

``sklearn_keras_hpo.datasets`` is now ``sklearn_keras_hpo.data.datasets``, and so on:
code, pickles and saved models written against the old paths keep working, with a
``FutureWarning`` that names the new path. ``sklearn_keras_hpo.estimators`` and
``sklearn_keras_hpo.search`` are packages now and export what those modules did.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    "architectures": "model.architectures",
    "augmentation": "model.augmentation",
    "schedules": "model.schedules",
    "datasets": "data.datasets",
    "rows": "data.rows",
    "persistence": "estimators.persistence",
    "asha": "search.asha",
    "recovery": "search.recovery",
    "spaces": "search.spaces",
    "progress": "search.progress",
    "report": "reporting.report",
    "plotting": "reporting.plotting",
}
_PACKAGE = __name__.rpartition(".")[0]


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``sklearn_keras_hpo.<old name>`` and answers with the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == _PACKAGE and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = f"{_PACKAGE}.{MOVED[spec.name.rpartition('.')[2]]}"
        warnings.warn(
            f"{spec.name} moved to {new}; import it from there (the old path will go "
            "in a later release).",
            FutureWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module):
        """The module is the new one, already executed."""


def install():
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.append(_OldPaths())
