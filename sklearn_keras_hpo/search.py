"""Hyperband over the epochs resource, as a scikit-learn search (Li et al., JMLR 2018).

The bracket arithmetic is a small pure function (``hyperband_brackets``); the
search is scikit-learn's ``BaseSearchCV`` with a ``_run_search`` that evaluates
each rung through ``evaluate_candidates``, so ``cv``, ``scoring``, ``refit``,
``n_jobs``, ``error_score`` and ``cv_results_`` behave as in ``GridSearchCV``.
Rungs continue from the previous rung's weights and optimizer state on the same
fold (the estimator's ``checkpoint_dir``), instead of retraining from scratch.
"""

import contextlib
import math
import tempfile
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import _search as sklearn_search
from sklearn.model_selection import ParameterSampler
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state


def hyperband_brackets(max_epochs, factor=3, min_epochs=1):
    """The rungs of every Hyperband bracket: ``[(s, [(n_configs, epochs), ...]), ...]``.

    Bracket ``s`` (from ``s_max`` down to 0) starts ``n = ceil((s_max + 1) / (s + 1)
    * factor**s)`` configurations at ``max_epochs * factor**-s`` epochs and keeps the
    best ``1/factor`` of them at each rung, ``factor`` times the epochs each time.

    >>> for s, rungs in hyperband_brackets(81, 3):
    ...     print(s, rungs)
    4 [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)]
    3 [(34, 3), (11, 9), (3, 27), (1, 81)]
    2 [(15, 9), (5, 27), (1, 81)]
    1 [(8, 27), (2, 81)]
    0 [(5, 81)]
    """
    if factor < 2 or min_epochs < 1 or max_epochs < min_epochs:
        raise ValueError(
            f"Hyperband needs factor >= 2 and 1 <= min_epochs <= max_epochs; got factor={factor}, "
            f"min_epochs={min_epochs}, max_epochs={max_epochs}."
        )
    s_max = 0
    while min_epochs * factor ** (s_max + 1) <= max_epochs:  # integer log, no float error
        s_max += 1
    brackets = []
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) * factor**s / (s + 1))
        rungs = [(n // factor**i, max(min_epochs, round(max_epochs / factor ** (s - i)))) for i in range(s + 1)]
        brackets.append((s, rungs))
    return brackets


@contextlib.contextmanager
def failures_as_scores():
    """Keep a search going when every fit of one batch fails.

    scikit-learn raises ``ValueError`` when all the fits that one call evaluates fail,
    even with a numeric ``error_score``: a Bayes search evaluating one point at a time,
    or a Hyperband rung of one candidate, would lose everything on one diverging
    configuration. Inside this block that case warns (``FitFailedWarning``) and the
    failed fits keep their ``error_score``, like any other failed fit.
    ``HyperbandSearchCV`` and the CLI use it; wrap ``BayesSearchCV.fit`` in it yourself.

    >>> with failures_as_scores():
    ...     pass
    """
    original = sklearn_search._warn_or_raise_about_fit_failures

    def warn_only(results, error_score):
        try:
            original(results, error_score)
        except ValueError as error:
            if error_score == "raise":
                raise
            warnings.warn(str(error), FitFailedWarning, stacklevel=2)

    sklearn_search._warn_or_raise_about_fit_failures = warn_only
    try:
        yield
    finally:
        sklearn_search._warn_or_raise_about_fit_failures = original


def top_k(scores, k):
    """Indices of the ``k`` best scores; failed (NaN) scores rank last."""
    scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
    return list(np.argsort(-scores, kind="stable")[:k])


class HyperbandSearchCV(BaseSearchCV):
    """Hyperband search over epochs, with cross-validation and warm-started rungs.

    Parameters
    ----------
    estimator : estimator object
        Typically a ``CNNClassifier``/``CNNRegressor``; it must take the
        ``resource`` parameter (``epochs``).
    param_distributions : dict or list of dicts
        Lists or scipy/sklearn distributions, as for ``RandomizedSearchCV``.
    max_epochs : int, default=81
        Epochs of the last rung (Hyperband's R).
    factor : int, default=3
        Keep ``1/factor`` of the candidates at each rung (Hyperband's eta).
    min_epochs : int, default=1
        Epochs of the first rung of the most exploratory bracket.
    resource : str, default="epochs"
        The estimator parameter that receives each rung's epochs.
    warm_start : bool, default=True
        Continue each candidate from its previous rung on the same fold, through
        the estimator's ``checkpoint_dir`` (estimators without one retrain).
    checkpoint_dir : str, default=None
        Where rung checkpoints go; None means the estimator's own ``checkpoint_dir``,
        or else a temporary directory removed after ``fit``. A kept directory makes
        the search resumable: run it again after a crash and finished fits are
        not retrained. Give a directory on storage shared by all workers for a
        multi-machine Dask cluster.
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score
        As in ``GridSearchCV``.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of candidates.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        As in ``GridSearchCV``, one row per (candidate, rung), plus ``bracket``,
        ``rung`` and ``n_resources`` (the epochs of that row).
    best_params_, best_score_, best_index_, best_estimator_, n_splits_, refit_time_
        As in ``GridSearchCV``; ``best_params_`` includes the rung's epochs.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_keras_hpo import CNNClassifier, HyperbandSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = HyperbandSearchCV(
    ...     CNNClassifier(image_shape=(8, 8), filters=4, dense_units=16, random_state=0),
    ...     {"learning_rate": loguniform(1e-3, 1e-1)}, max_epochs=3, factor=3, cv=2,
    ...     random_state=0,
    ... ).fit(X[:300] / 16, y[:300])
    >>> sorted(set(search.cv_results_["n_resources"].tolist()))
    [1, 3]
    """

    _parameter_constraints = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [dict, list],
        "max_epochs": [Integral],
        "factor": [Integral],
        "min_epochs": [Integral],
        "resource": [str],
        "warm_start": ["boolean"],
        "checkpoint_dir": [None, str],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        max_epochs=81,
        factor=3,
        min_epochs=1,
        resource="epochs",
        warm_start=True,
        checkpoint_dir=None,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
    ):
        super().__init__(
            estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
            verbose=verbose, pre_dispatch=pre_dispatch, error_score=error_score,
            return_train_score=return_train_score,
        )  # fmt: skip
        self.param_distributions = param_distributions
        self.max_epochs = max_epochs
        self.factor = factor
        self.min_epochs = min_epochs
        self.resource = resource
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state

    def fit(self, X, y=None, **params):
        """Run every bracket, then refit the best (candidate, epochs) on all of ``X``."""
        hyperband_brackets(self.max_epochs, self.factor, self.min_epochs)  # validates
        with failures_as_scores():
            return self._fit_with_checkpoints(X, y, **params)

    def _fit_with_checkpoints(self, X, y, **params):
        if not (self.warm_start and "checkpoint_dir" in self.estimator.get_params()):
            return super().fit(X, y, **params)
        user_estimator = self.estimator
        with tempfile.TemporaryDirectory(prefix="skhpo-hyperband-") as temporary:
            directory = self.checkpoint_dir or user_estimator.get_params()["checkpoint_dir"] or temporary
            self.estimator = clone(user_estimator).set_params(checkpoint_dir=directory)
            try:
                super().fit(X, y, **params)
            finally:
                self.estimator = user_estimator
        if hasattr(self, "best_estimator_"):  # keep the user's setting, not the scratch directory
            self.best_estimator_.set_params(checkpoint_dir=user_estimator.get_params()["checkpoint_dir"])
        return self

    def _run_search(self, evaluate_candidates):
        rng = check_random_state(self.random_state)
        for bracket, rungs in hyperband_brackets(self.max_epochs, self.factor, self.min_epochs):
            candidates = list(ParameterSampler(self.param_distributions, rungs[0][0], random_state=rng))
            for rung, (n_keep, epochs) in enumerate(rungs):
                candidates = candidates[:n_keep] if rung == 0 else candidates
                batch = [{**candidate, self.resource: epochs} for candidate in candidates]
                n = len(batch)
                results = evaluate_candidates(
                    batch,
                    more_results={"bracket": [bracket] * n, "rung": [rung] * n, "n_resources": [epochs] * n},
                )
                if rung + 1 < len(rungs):
                    best = top_k(results["mean_test_score"][-n:], rungs[rung + 1][0])
                    candidates = [candidates[i] for i in best]
