"""Every private scikit-learn name the package uses, imported in this one place.

scikit-learn gives no public seam for these: a searcher that runs its own fits
(``RungSearchCV``) needs ``BaseSearchCV`` and the helpers ``BaseSearchCV.fit`` uses, and
estimators declare their parameter constraints the way scikit-learn's own do. Importing
them here keeps the exposure in one file, which ``tests/test_sklearn_compat.py`` checks
against the scikit-learn installed, and which the version bound in ``pyproject.toml``
(``scikit-learn>=1.9,<1.10``) is about. Nothing else in the package imports a private
name of scikit-learn.
"""

from sklearn.base import _fit_context
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import (
    _fit_and_score,
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils._param_validation import HasMethods, Hidden, Interval, Options, StrOptions
from sklearn.utils.parallel import _FuncWrapper
from sklearn.utils.validation import _check_method_params, _check_sample_weight, _num_samples

__all__ = [
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
