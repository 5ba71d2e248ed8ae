"""Hyperband over the epochs resource, as a scikit-learn search (Li et al., JMLR 2018).

The bracket arithmetic is a small pure function (``hyperband_brackets``); the
strategy (``HyperbandSchedule``) hands out one (candidate, epochs) at a time; the
runner shared with ``AsyncHalvingSearchCV`` (``RungSearchCV``) trains each one's folds
on whichever worker is free (``_workers``), so the rungs of different brackets run
side by side and no worker waits while a rung of one candidate finishes. ``cv``,
``scoring``, ``refit``, ``n_jobs``, ``error_score`` and ``cv_results_`` behave as in
``GridSearchCV``. Rungs continue from the previous rung's weights and optimizer state
on the same fold (the estimator's ``checkpoint_dir``), instead of retraining from scratch.
"""

import contextlib
import dataclasses
import math
import tempfile
import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn import get_config
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import _search as sklearn_search
from sklearn.model_selection import ParameterSampler, check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import _fit_and_score, _insert_error_scores
from sklearn.utils import check_random_state, indexable
from sklearn.utils._param_validation import Interval
from sklearn.utils.parallel import _FuncWrapper
from sklearn.utils.validation import _check_method_params

from . import progress
from ._workers import Job, open_pool, run_jobs


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


class RungSearchCV(BaseSearchCV):
    """Base of the searches over epochs: a schedule picks each (candidate, epochs) to
    cross-validate, the runner trains its folds whenever a worker is free.

    Subclasses give ``_schedule(rng)``, an object with ``next_job()`` (a ``Job``, or None
    when nothing can start before a running job reports) and ``report(job, score)`` (the
    mean test score of its folds, NaN when they failed). ``fit`` then does what
    ``BaseSearchCV.fit`` does (scorers, routing, ``cv_results_``, ``best_*``, refit), with
    the fits run by ``_workers.run_jobs`` instead of one ``Parallel`` call per batch.
    """

    def _schedule(self, rng):
        raise NotImplementedError

    def _check_settings(self):
        """Subclasses reject bad settings here, before any fit."""

    def fit(self, X, y=None, **params):
        """Run the schedule, then refit the best (candidate, epochs) on all of ``X``.

        Parameters
        ----------
        X : array-like of images
            Training images.
        y : array-like of shape (n_samples,), default=None
            Targets.
        **params : dict
            Routed to the estimator's ``fit``, the scorer and the CV splitter, as in
            ``GridSearchCV.fit``.

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._check_settings()
        user_directory = self.estimator.get_params().get("checkpoint_dir")
        with self._checkpointed_estimator() as estimator:
            self._search(estimator, X, y, params)
        if hasattr(self, "best_estimator_") and "checkpoint_dir" in self.best_estimator_.get_params():
            self.best_estimator_.set_params(checkpoint_dir=user_directory)  # not the scratch directory
        return self

    @contextlib.contextmanager
    def _checkpointed_estimator(self):
        """The estimator every fit clones, its ``checkpoint_dir`` set so that each rung
        continues the previous one (a temporary directory unless one is given)."""
        params = self.estimator.get_params()
        if not (getattr(self, "warm_start", True) and "checkpoint_dir" in params):
            yield self.estimator
            return
        with tempfile.TemporaryDirectory(prefix="skhpo-rungs-") as temporary:
            directory = self.checkpoint_dir or params["checkpoint_dir"] or temporary
            yield clone(self.estimator).set_params(checkpoint_dir=str(directory))

    def _search(self, estimator, X, y, params):
        scorers, refit_metric = self._get_scorers()
        if not callable(self.scoring) and isinstance(scorers, _MultimetricScorer) and not isinstance(self.refit, str):
            raise ValueError(
                f"{type(self).__name__} ranks the candidates of each rung by one metric: with several "
                f"scorers, set refit to the name of the one to rank by (got refit={self.refit!r})."
            )
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        splits = list(check_cv(self.cv, y, classifier=is_classifier(estimator)).split(X, y, **routed.splitter.split))
        self.n_splits_ = len(splits)
        fit_kwargs = dict(
            scorer=scorers, fit_params=routed.estimator.fit, score_params=routed.scorer.score,
            return_train_score=self.return_train_score, return_n_test_samples=True, return_times=True,
            return_parameters=False, error_score=self.error_score, verbose=self.verbose,
        )  # fmt: skip
        metric = self.refit if isinstance(self.refit, str) else refit_metric
        time_limit = getattr(self, "time_limit", None)
        deadline = None if time_limit is None else time.monotonic() + time_limit
        task = _FuncWrapper(fit_and_score).with_config_and_warning_filters(get_config(), list(warnings.filters))
        with open_pool(self.n_jobs) as pool:
            data = (pool.put(X), pool.put(y))

            def submit_fold(job, fold):
                train, test = splits[fold]
                kwargs = {**fit_kwargs, "train": train, "test": test, "parameters": job.params,
                          "split_progress": (fold, len(splits))}  # fmt: skip
                return pool.submit(task, clone(estimator), *data, kwargs)

            finished = run_jobs(
                self._schedule(check_random_state(self.random_state)), pool, submit_fold, len(splits),
                score=lambda outs: float(np.mean([_ranking_score(out["test_scores"], metric) for out in outs])),
                deadline=deadline, on_fits=progress.count_fits,
            )  # fmt: skip
        results, outs = self._results(finished)
        self._select_and_refit(estimator, results, outs, scorers, refit_metric, X, y, routed.estimator.fit)

    def _results(self, finished):
        """``cv_results_`` of the jobs whose every fold finished, rows in the schedule's order."""
        if not finished:
            raise ValueError(
                f"No candidate finished its {self.n_splits_} folds within time_limit="
                f"{getattr(self, 'time_limit', None)} s; give the search more time."
            )
        finished = sorted(finished, key=lambda item: item[0].order)
        jobs = [job for job, _ in finished]
        outs = [out for _, job_outs in finished for out in job_outs]
        with failures_as_scores():  # warn, never raise: the finished fits are kept
            sklearn_search._warn_or_raise_about_fit_failures(outs, self.error_score)
        if callable(self.scoring):
            _insert_error_scores(outs, self.error_score)
        columns = {name: [job.columns[name] for job in jobs] for name in jobs[0].columns}
        return self._format_results([job.params for job in jobs], self.n_splits_, outs, columns), outs

    def _select_and_refit(self, estimator, results, outs, scorers, refit_metric, X, y, fit_params):
        """``best_*``, ``refit_time_``, ``scorer_``, ``cv_results_``, as ``BaseSearchCV.fit`` sets them."""
        first_test_score = outs[0]["test_scores"]
        self.multimetric_ = isinstance(first_test_score, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first_test_score)
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(estimator).set_params(**clone(self.best_params_, safe=False))
            start = time.time()
            self.best_estimator_.fit(X, **fit_params) if y is None else self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        self.cv_results_ = results


def fit_and_score(estimator, X, y, kwargs):
    """One fold of one candidate, in a worker: scikit-learn's own ``_fit_and_score`` (run
    with the parent's scikit-learn configuration and warning filters, as
    ``sklearn.utils.parallel.Parallel`` runs its tasks)."""
    return _fit_and_score(estimator, X, y, **kwargs)


def _ranking_score(test_scores, metric):
    return test_scores.get(metric, np.nan) if isinstance(test_scores, dict) else test_scores


@dataclasses.dataclass
class _Bracket:
    s: int
    rungs: list  # [(n_candidates, epochs), ...]
    candidates: list  # of the current rung, in the order of their rows
    rung: int = 0
    started: int = 0
    scores: dict = dataclasses.field(default_factory=dict)  # position -> mean test score


class HyperbandSchedule:
    """Hyperband's jobs, with every bracket's current rung open at once.

    ``next_job`` gives the next unstarted candidate of the first bracket that has one,
    so one worker runs the brackets one after the other, as Hyperband is written, and
    more workers fill the time a rung waits for its last fits with other brackets'
    rungs. Results are those of the brackets run one after the other: the candidates
    are drawn bracket by bracket from one random state, and each rung keeps the
    ``top_k`` of its own bracket's previous rung.

    >>> schedule = HyperbandSchedule(hyperband_brackets(2, 2), [[{"a": 0}, {"a": 1}], [{"a": 2}, {"a": 3}]])
    >>> first = [schedule.next_job() for _ in range(3)]  # bracket 1's rung 0, then bracket 0 fills in
    >>> [(job.columns["bracket"], job.params) for job in first]
    [(1, {'a': 0, 'epochs': 1}), (1, {'a': 1, 'epochs': 1}), (0, {'a': 2, 'epochs': 2})]
    >>> schedule.report(first[0], 0.5); schedule.report(first[1], 0.9)  # rung 0 done: its best goes on
    >>> schedule.next_job().params  # before bracket 0's last candidate
    {'a': 1, 'epochs': 2}
    """

    def __init__(self, brackets, candidates, resource="epochs"):
        self.resource = resource
        self.brackets = [_Bracket(s, rungs, list(drawn)) for (s, rungs), drawn in zip(brackets, candidates)]

    def next_job(self):
        for index, bracket in enumerate(self.brackets):
            if bracket.rung < len(bracket.rungs) and bracket.started < len(bracket.candidates):
                position, epochs = bracket.started, bracket.rungs[bracket.rung][1]
                bracket.started += 1
                return Job(
                    order=(index, bracket.rung, position),
                    params={**bracket.candidates[position], self.resource: epochs},
                    columns={"bracket": bracket.s, "rung": bracket.rung, "n_resources": epochs},
                )  # fmt: skip
        return None

    def report(self, job, score):
        index, rung, position = job.order
        bracket = self.brackets[index]
        bracket.scores[position] = score
        if len(bracket.scores) < len(bracket.candidates):
            return
        scores = [bracket.scores[i] for i in range(len(bracket.candidates))]
        bracket.rung, bracket.started, bracket.scores = rung + 1, 0, {}
        if bracket.rung < len(bracket.rungs):
            bracket.candidates = [bracket.candidates[i] for i in top_k(scores, bracket.rungs[bracket.rung][0])]


class HyperbandSearchCV(RungSearchCV):
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
    time_limit : float, default=None
        Seconds; then no fit starts, the fits still running are dropped (a fit
        running in this process, with ``n_jobs=1``, finishes), and the search ends
        with every candidate whose folds all finished.
    n_jobs : int, default=None
        Fits run at once (one fold of one candidate each); a new fit starts as soon
        as a worker is free, taken from the first bracket that has one ready, so
        workers do not wait for a rung's last fit. ``joblib.parallel_config`` picks
        the backend (loky processes, or a Dask cluster with ``backend="dask"``).
        With ``n_jobs=1`` the brackets run one after the other; the results are the
        same for every ``n_jobs``.
    scoring, refit, cv, verbose, error_score, return_train_score
        As in ``GridSearchCV``.
    pre_dispatch : str, default="2*n_jobs"
        Not used: the search keeps ``n_jobs`` fits in flight; kept for compatibility.
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
        "time_limit": [None, Interval(Real, 0, None, closed="neither")],
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
        time_limit=None,
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
        self.time_limit = time_limit
        self.random_state = random_state

    def _check_settings(self):
        hyperband_brackets(self.max_epochs, self.factor, self.min_epochs)  # raises on bad settings

    def _schedule(self, rng):
        brackets = hyperband_brackets(self.max_epochs, self.factor, self.min_epochs)
        candidates = [list(ParameterSampler(self.param_distributions, rungs[0][0], random_state=rng))
                      for _, rungs in brackets]  # fmt: skip
        return HyperbandSchedule(brackets, candidates, self.resource)
