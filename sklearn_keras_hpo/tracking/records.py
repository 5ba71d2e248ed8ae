"""What one finished fit tells the trackers, built where the fit ran: the worker half of
tracking. Nothing here writes anywhere.

A fit record is a plain JSON-able dict: the candidate's parameters, the fold, the epochs
the model has (``epochs``) and the epoch this fit started training at
(``initial_epoch``: 0, or the epochs restored from a checkpoint), the Keras history of
every epoch from 0 (a warm-started rung's history starts with its checkpoint's), the
fold's test score and seconds per epoch. It reaches the search's process in one of two
ways. Our runner's fit function is wrapped in ``RecordedFit``: its result, a dict as
before, also carries the record as an attribute (``fit_record``), which joblib, loky and
Dask pass back unchanged. scikit-learn's searches report through a ``SearchLogger``
callback, which builds the record in the worker once the fold's estimator is fitted
(before it is scored: ``score_record`` adds the scores at the end) and sends it back
(``callback``, ``transport``).

>>> from sklearn.tree import DecisionTreeClassifier
>>> def fit_and_score(estimator, X, y, **kwargs):
...     return {"test_scores": 0.5, "fit_error": None}
>>> out = RecordedFit(fit_and_score)(DecisionTreeClassifier(), None, None,
...                                  parameters={"max_depth": 2}, split_progress=(1, 3))
>>> out["test_scores"], out.fit_record["fold"], out.fit_record["params"]
(0.5, 1, {'max_depth': 2})
"""

import math
import numbers
import uuid

import numpy as np

SPACE_ATTRIBUTES = ("param_grid", "param_distributions", "search_spaces")


def plain(value):
    """``value`` as JSON-able data: numbers and strings as they are, the rest as repr."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "dist") and hasattr(
        value, "args"
    ):  # a frozen scipy distribution: loguniform(0.001, 0.1)
        arguments = [repr(plain(a)) for a in value.args] + [
            f"{k}={plain(v)!r}" for k, v in value.kwds.items()
        ]
        return f"{value.dist.name}({', '.join(arguments)})"
    return repr(value)


def fit_record(estimator, parameters=None, fold=None, n_folds=None, score=None, failed=False):
    """The record of one fit of ``estimator`` (fitted, or not when the fit failed; a
    pipeline's history is its last step's)."""
    if not hasattr(estimator, "history_") and hasattr(estimator, "_final_estimator"):
        estimator = estimator._final_estimator
    history = getattr(estimator, "history_", None) or {}
    epochs = getattr(estimator, "n_epochs_", None)
    epochs = len(next(iter(history.values()), [])) if epochs is None else int(epochs)
    return {
        # a record handed on twice (a Dask result fetched twice) is logged once
        "id": uuid.uuid4().hex,
        "params": plain(parameters if parameters is not None else {}),
        "fold": fold,
        "n_folds": n_folds,
        "epochs": epochs,
        "initial_epoch": int(getattr(estimator, "initial_epoch_", 0) or 0),
        "history": {name: [_number(v) for v in values] for name, values in history.items()},
        "score": plain(score),
        "failed": bool(failed),
        "epoch_seconds": getattr(estimator, "epoch_seconds_", None),
    }


def score_record(fold, score):
    """A record of ``fold``'s test ``score`` alone (no curve): what a search's
    ``cv_results_`` adds to the records of scikit-learn's searches, sent before scoring."""
    return {
        "id": uuid.uuid4().hex,
        "params": {},
        "fold": fold,
        "n_folds": None,
        "epochs": 0,
        "initial_epoch": 0,
        "history": {},
        "score": score,
        "failed": False,
        "epoch_seconds": None,
    }


def searched_names(search):
    """The parameters ``search`` varies: the names in its space (``param_grid``,
    ``param_distributions`` or skopt's ``search_spaces``: a dict, or a list of dicts or of
    ``(dict, n_iter)`` pairs), and its ``resource`` when that is a parameter (not
    ``"n_samples"``); None when ``search`` has no space (it is not a search).

    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> searched_names(GridSearchCV(DecisionTreeClassifier(), [{"max_depth": [2]},
    ...                                                        {"criterion": ["gini"]}]))
    ['max_depth', 'criterion']
    """
    space = next(
        (getattr(search, name) for name in SPACE_ATTRIBUTES if hasattr(search, name)), None
    )
    if space is None:
        return None
    names = []
    for part in space if isinstance(space, list) else [space]:
        part = part[0] if isinstance(part, tuple) else part
        names += [name for name in part if name not in names]
    resource = getattr(search, "resource", None)
    if isinstance(resource, str) and resource != "n_samples" and resource not in names:
        names.append(resource)
    return names


def _number(value):
    value = float(np.asarray(value).ravel()[0]) if np.ndim(value) else float(value)
    return value if math.isfinite(value) else None


class RecordedOut(dict):
    """A fit's result dict, unchanged, with the fit's record as ``fit_record``."""

    fit_record = None


class RecordedFit:
    """``function(estimator, X, y, **kwargs)`` (our runner's fit and score of one fold,
    scikit-learn's ``_fit_and_score``) whose result carries the fit's record. Picklable: it
    travels to workers with the task."""

    def __init__(self, function):
        # not ``function``: scikit-learn's _FuncWrapper copies this object's attributes onto itself
        self.recorded_function = function

    def __call__(self, estimator, *args, **kwargs):
        out = self.recorded_function(estimator, *args, **kwargs)
        if not isinstance(out, dict):
            return out
        # _fit_and_score's keywords, or our runner's, as one dict
        given = kwargs or (args[-1] if args and isinstance(args[-1], dict) else {})
        fold, n_folds = given.get("split_progress") or (None, None)
        recorded = RecordedOut(out)
        recorded.fit_record = fit_record(
            estimator,
            given.get("parameters"),
            fold,
            n_folds,
            score=out.get("test_scores"),
            failed=out.get("fit_error") is not None,
        )
        return recorded


def take_record(out):
    """The record ``out`` carries (once: it is taken off), or None."""
    record = getattr(out, "fit_record", None)
    if record is not None:
        out.fit_record = None
    return record
