"""A stand-in ``scikeras`` package for running scikeras's own test suite against
sklearn_keras_hpo (see ``tests/test_scikeras_suite.py``).

Only ``scikeras.wrappers`` is ours (``wrappers.py`` here); every other submodule
(``scikeras.utils``, ``scikeras.utils.transformers``, ...) is the installed
scikeras's, found by appending its directory to this package's search path. The
real package's ``__init__`` is never run, so its patches to Keras' pickling are
not in play: our estimators are tested without them.
"""

import importlib.machinery
import os
import sys

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_REAL = importlib.machinery.PathFinder.find_spec(
    "scikeras", [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
)
if _REAL is not None and _REAL.submodule_search_locations:
    __path__.extend(_REAL.submodule_search_locations)  # noqa: F821 (a package's __path__)

__version__ = "0.13.0+sklearn_keras_hpo"
