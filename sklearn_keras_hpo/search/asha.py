"""Asynchronous successive halving over epochs (ASHA; Li et al., MLSys 2020).

Synchronous halving (sklearn's ``HalvingRandomSearchCV``, each Hyperband bracket) waits
for a whole rung before promoting anyone, so workers idle while a rung's last fits run.
ASHA promotes a candidate as soon as it is among the best ``1/factor`` of the candidates
that have finished its rung so far, and otherwise starts a new candidate: a free worker
never waits. The rule is a small pure function (``asha_promotion``); the schedule
(``AsyncHalvingSchedule``) applies it; the runner shared with ``HyperbandSearchCV``
(``_rung_search.RungSearchCV``) trains the folds of each (candidate, epochs) on whichever
worker is free and keeps scikit-learn's search API. Each rung continues the previous
one's training from the estimator's ``checkpoint_dir``.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._rung_search import RungSearchCV
from ._workers import Job
from .hyperband import hyperband_brackets
from .samplers import SAMPLERS


def halving_rungs(max_epochs, factor=3, min_epochs=1):
    """Epochs of each rung: ``max_epochs / factor**k`` down to ``min_epochs``, as in the most
    exploratory Hyperband bracket.

    >>> halving_rungs(81, 3)
    [1, 3, 9, 27, 81]
    >>> halving_rungs(10, 3, min_epochs=2)
    [3, 10]
    """
    return [epochs for _, epochs in hyperband_brackets(max_epochs, factor, min_epochs)[0][1]]


def asha_promotion(rungs, factor, *, finishing=False):
    """ASHA's next promotion, ``(candidate, rung)``, or None: start a new candidate.

    ``rungs[k]`` maps each candidate started at rung ``k`` to its score there (None while
    its fits run; NaN when they failed). From the highest rung down, a candidate is
    promoted once it ranks among the best ``n // factor`` of the ``n`` candidates that
    finished its rung, unless it is promoted already; failed candidates never are; ties
    go to the candidate started first. With ``finishing`` (no new candidate may start), a
    rung whose candidates have all finished promotes at least its best, so the search
    ends with a candidate trained for the top rung's epochs.

    >>> asha_promotion([{0: 0.6, 1: 0.8, 2: 0.7}, {}], factor=3)
    (1, 1)
    >>> print(asha_promotion([{0: 0.6, 1: 0.8, 2: 0.7}, {1: None}], factor=3))  # promoted already
    None
    >>> print(asha_promotion([{0: 0.6, 1: 0.8}, {}], factor=3))  # top 2 // 3 = 0
    None
    >>> asha_promotion([{0: 0.6, 1: 0.8}, {}], factor=3, finishing=True)
    (1, 1)
    >>> asha_promotion([{0: 0.6, 1: 0.8, 2: 0.7, 3: 0.9}, {1: 0.7, 3: 0.5}, {}], factor=2)
    (1, 2)
    """
    for rung in range(len(rungs) - 2, -1, -1):
        finished = [
            (candidate, score) for candidate, score in rungs[rung].items() if score is not None
        ]
        n_top = len(finished) // factor
        if finishing and finished and len(finished) == len(rungs[rung]):
            n_top = max(n_top, 1)
        ranked = sorted(
            (item for item in finished if not math.isnan(item[1])), key=lambda item: -item[1]
        )
        for candidate, _ in ranked[:n_top]:
            if candidate not in rungs[rung + 1]:
                return candidate, rung + 1
    return None


class AsyncHalvingSchedule:
    """ASHA's jobs: a starting point's next rung, else the promotion ``asha_promotion``
    finds, else the next candidate the sampler gives. Starting points (the sampler's
    first ``n_points`` candidates) go on to every rung, so the search always has them at
    the top rung to compare with.

    >>> from sklearn_keras_hpo.search.samplers import RandomSampler
    >>> sampler = RandomSampler({"a": [0, 1]}, np.random.RandomState(0), n_candidates=2, stream=True)
    >>> schedule = AsyncHalvingSchedule(sampler, epochs=[1, 2], factor=2)
    >>> first, second = schedule.next_job(), schedule.next_job()
    >>> schedule.report(first, 0.9); schedule.report(second, 0.5)
    >>> schedule.next_job().params == {**first.params, "epochs": 2}  # the better of two goes on
    True
    """

    def __init__(self, sampler, epochs, factor, resource="epochs", n_points=0):
        self.sampler, self.n_points = sampler, n_points
        self.epochs, self.factor, self.resource = list(epochs), factor, resource
        self.rungs = [{} for _ in self.epochs]
        self.drawn = []
        self.n_jobs = 0
        self.exhausted = False

    def next_job(self):
        promotion = self._point_promotion() or asha_promotion(
            self.rungs, self.factor, finishing=self.exhausted
        )
        if promotion is None and not self.exhausted:
            params = self.sampler.ask(1)
            if not params:
                self.exhausted = True
                return self.next_job()
            self.drawn.append(params[0])
            promotion = (len(self.drawn) - 1, 0)
        if promotion is None:
            return None
        candidate, rung = promotion
        self.rungs[rung][candidate] = None
        self.n_jobs += 1
        epochs = self.epochs[rung]
        return Job(
            order=(self.n_jobs,),
            params={**self.drawn[candidate], self.resource: epochs},
            columns={"candidate": candidate, "rung": rung, "n_resources": epochs},
        )

    def _point_promotion(self):
        """A starting point's next rung, once it finished the one before (failed: never)."""
        for rung in range(len(self.rungs) - 2, -1, -1):
            for candidate in range(min(self.n_points, len(self.drawn))):
                score = self.rungs[rung].get(candidate)
                if (
                    score is not None
                    and not np.isnan(score)
                    and candidate not in self.rungs[rung + 1]
                ):
                    return candidate, rung + 1
        return None

    def report(self, job, score):
        candidate, rung = job.columns["candidate"], job.columns["rung"]
        self.rungs[rung][candidate] = score
        self.sampler.tell(self.drawn[candidate], self.epochs[rung], score)


class AsyncHalvingSearchCV(RungSearchCV):
    """Asynchronous successive halving (ASHA) over epochs, cross-validated and warm-started.

    Each candidate starts at ``min_epochs``; all its CV folds train, and as soon as its
    mean score ranks among the best ``1/factor`` of the candidates finished at that rung,
    it continues to ``factor`` times the epochs, up to ``max_epochs``. A free worker
    takes the highest such promotion, or else starts a new candidate, so no worker
    waits for a rung to fill. Rungs continue from the previous rung's weights and
    optimizer state (the estimator's ``checkpoint_dir``).

    Parameters
    ----------
    estimator : estimator object
        Typically a ``CNNClassifier``/``CNNRegressor``; it must take ``epochs``.
    param_distributions : dict or list of dicts
        Lists or scipy/sklearn distributions, as for ``RandomizedSearchCV``.
    n_candidates : int, default=None
        Candidates to start; None means no limit but ``time_limit`` (or the whole
        grid, when every value is a list). Once all have started, a rung whose
        candidates have all finished promotes at least its best, so the search
        ends with a candidate trained for ``max_epochs``.
    time_limit : float, default=None
        Seconds; then no fit starts, the fits still running are dropped (a fit
        running in this process, with ``n_jobs=1``, finishes), and the search ends
        with every (candidate, epochs) whose folds all finished. Give this,
        ``n_candidates`` or both.
    min_epochs : int, default=1
        Epochs of the first rung.
    max_epochs : int, default=81
        Epochs of the top rung; the rungs are ``max_epochs / factor**k``.
    factor : int, default=3
        Promote the best ``1/factor`` of each rung (ASHA's eta).
    checkpoint_dir : str, default=None
        Where rung checkpoints go; None means the estimator's own ``checkpoint_dir``,
        or else a temporary directory removed after ``fit``. A kept directory makes
        the search resumable: run it again and finished fits are restored, not
        retrained (with ``n_jobs=1`` the rerun makes the same choices, so it trains
        nothing that finished). On a multi-machine Dask cluster, give a directory
        every worker sees.
    sampler : {"random", "tpe"} or Optuna sampler, default="random"
        What to start next: random draws from ``param_distributions``, or a model
        of the results so far (``"tpe"``: Optuna's ``TPESampler``, or any Optuna
        sampler instance, through its ask/tell interface; needs the ``optuna``
        extra), fit on the results of the largest epochs with at least d + 1 of
        them (BOHB's rule).
    points_to_evaluate : list of dict, default=None
        Candidates started first and promoted to every rung up to ``max_epochs``,
        so the best is never chosen over them by a noisier, shorter fit. None means
        the estimator's own values of the searched parameters (the configuration
        you would get without searching); ``[]`` means none. They come on top of
        the ``n_candidates`` drawn.
    refit_epochs : {"searched", "scaled"} or int, default="searched"
        Epochs of the refit on all of ``X``: the best row's own
        (``best_n_resources_``); ``"scaled"``, those times the whole training set's
        size over a training fold's (the usual practice of training a little
        longer once the validation images join the training set: 9 epochs chosen
        with cv=3 become 14); or a number of your own (for example ``max_epochs``
        when the time limit stopped the search at small budgets).
    cv, scoring, refit, verbose, error_score, return_train_score
        As in ``GridSearchCV``; a failed fit is scored ``error_score`` and ranks
        last, and the search goes on.
    n_jobs : int, default=None
        Fits run at once (one fold of one candidate each). ``joblib.parallel_config``
        picks the backend (loky processes, or a Dask cluster with ``backend="dask"``).
        With ``n_jobs=1`` the search is deterministic; with more workers, which
        candidates are promoted depends on the order in which fits finish.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of candidates.
    log_to : str, dict or SearchLogger, default=None
        Log the search to MLflow (and TensorBoard): a tracking URI such as
        ``"sqlite:///mlflow.db"``, a dict of ``tracking.log_search`` keywords
        (``{"experiment": "cifar", "tensorboard_dir": "tb"}``) or a ``log_search()``
        object; one parent run, a child run per candidate, per-epoch curves per fold.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        As in ``GridSearchCV``, one row per (candidate, rung) in the order they
        started, plus ``candidate`` (the index of the candidate drawn), ``rung`` and
        ``n_resources`` (the epochs of that row).
    best_params_, best_score_, best_index_, best_estimator_, n_splits_, refit_time_
        As in ``GridSearchCV``, the best chosen among the rows of the largest epochs
        that finished (where a time limit stopped the search before any promotion,
        among the starting points' rows: a first-rung score promotes a candidate, it
        does not replace the configuration the search started from);
        ``best_params_`` includes the rung's epochs.
    best_n_resources_ : int
        Epochs of the best row: below ``max_epochs`` when the time limit stopped
        the search before any candidate reached it.
    refit_epochs_ : int
        Epochs the refit trained (see ``refit_epochs``).

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_keras_hpo import AsyncHalvingSearchCV, CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> search = AsyncHalvingSearchCV(
    ...     CNNClassifier(image_shape=(8, 8), filters=4, dense_units=16, random_state=0),
    ...     {"learning_rate": loguniform(1e-3, 1e-1)}, n_candidates=4, max_epochs=2,
    ...     factor=2, cv=2, random_state=0,
    ... ).fit(X[:300] / 16, y[:300])
    >>> sorted(set(search.cv_results_["n_resources"].tolist()))
    [1, 2]
    """

    _parameter_constraints = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [dict, list],
        "n_candidates": [None, Interval(Integral, 1, None, closed="left")],
        "time_limit": [None, Interval(Real, 0, None, closed="neither")],
        "min_epochs": [Integral],
        "max_epochs": [Integral],
        "factor": [Integral],
        "checkpoint_dir": [None, str],
        "sampler": [StrOptions(set(SAMPLERS)), HasMethods(["sample_relative"])],
        "points_to_evaluate": [None, list],
        "refit_epochs": [
            StrOptions({"searched", "scaled"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state"],
        "log_to": [None, str, dict, HasMethods(["search_started", "fit_finished", "search_ended"])],
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_candidates=None,
        time_limit=None,
        min_epochs=1,
        max_epochs=81,
        factor=3,
        checkpoint_dir=None,
        sampler="random",
        points_to_evaluate=None,
        refit_epochs="searched",
        cv=None,
        scoring=None,
        refit=True,
        n_jobs=None,
        verbose=0,
        error_score=np.nan,
        return_train_score=False,
        random_state=None,
        log_to=None,
    ):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_candidates = n_candidates
        self.time_limit = time_limit
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.factor = factor
        self.checkpoint_dir = checkpoint_dir
        self.sampler = sampler
        self.points_to_evaluate = points_to_evaluate
        self.refit_epochs = refit_epochs
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.random_state = random_state
        self.log_to = log_to

    def _check_settings(self):
        halving_rungs(self.max_epochs, self.factor, self.min_epochs)  # raises on bad settings
        if self.n_candidates is None and self.time_limit is None:
            raise ValueError(
                "AsyncHalvingSearchCV needs a budget: set n_candidates (candidates to start), "
                "time_limit (seconds) or both."
            )

    def _schedule(self, rng, points):
        sampler = self._sampler(rng, points, n_candidates=self.n_candidates, stream=True)
        rungs = halving_rungs(self.max_epochs, self.factor, self.min_epochs)
        return AsyncHalvingSchedule(sampler, rungs, self.factor, n_points=len(points))
