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
from collections.abc import Callable
from numbers import Integral
from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator

from .._sklearn_compat import Interval
from ._rung_docs import shared_docs
from ._rung_search import CVLike, LogTo, RungSearchCV, SamplerLike, ScoringLike
from ._workers import Job
from .hyperband import hyperband_brackets


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
    >>> rng = np.random.RandomState(0)
    >>> sampler = RandomSampler({"a": [0, 1]}, rng, n_candidates=2, stream=True)
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


@shared_docs
class AsyncHalvingSearchCV(RungSearchCV):
    """Asynchronous successive halving (ASHA) over epochs, cross-validated and warm-started.

    Each candidate starts at ``min_epochs``; all its CV folds train, and as soon as its
    mean score ranks among the best ``1/factor`` of the candidates finished at that rung,
    it continues to ``factor`` times the epochs, up to ``max_epochs``. A free worker
    takes the highest such promotion, or else starts a new candidate, so no worker
    waits for a rung to fill. With ``n_jobs=1`` the search is deterministic; with more
    workers, which candidates are promoted depends on the order in which fits finish.
    Starting points (``points_to_evaluate``) come on top of the ``n_candidates`` drawn.

    Parameters
    ----------
    {shared_parameters}
    n_candidates : int, default=None
        Candidates to start; None means no limit but ``time_limit`` (or the whole
        grid, when every value is a list). Give this, ``time_limit`` or both. Once all
        have started, a rung whose candidates have all finished promotes at least its
        best, so the search ends with a candidate trained for ``max_epochs``.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        As in ``GridSearchCV``, one row per (candidate, rung) in the order they
        started, plus ``candidate`` (the index of the candidate drawn), ``rung`` and
        ``n_resources`` (the epochs of that row).
    {shared_attributes}

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
        **RungSearchCV._parameter_constraints,
        "n_candidates": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        estimator: BaseEstimator,
        param_distributions: dict | list[dict],
        *,
        n_candidates: int | None = None,
        time_limit: float | None = None,
        min_epochs: int = 1,
        max_epochs: int = 81,
        factor: int = 3,
        resource: str = "epochs",
        warm_start: bool = True,
        checkpoint_dir: str | None = None,
        sampler: SamplerLike = "random",
        points_to_evaluate: list[dict] | None = None,
        refit_epochs: Literal["searched", "scaled"] | int = "searched",
        cv: CVLike = None,
        scoring: ScoringLike = None,
        refit: bool | str | Callable = True,
        n_jobs: int | None = None,
        verbose: int = 0,
        error_score: float | Literal["raise"] = np.nan,
        return_train_score: bool = False,
        random_state: int | np.random.RandomState | None = None,
        log_to: LogTo = None,
    ) -> None:
        super().__init__(
            estimator,
            param_distributions,
            time_limit=time_limit,
            min_epochs=min_epochs,
            max_epochs=max_epochs,
            factor=factor,
            resource=resource,
            warm_start=warm_start,
            checkpoint_dir=checkpoint_dir,
            sampler=sampler,
            points_to_evaluate=points_to_evaluate,
            refit_epochs=refit_epochs,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            error_score=error_score,
            return_train_score=return_train_score,
            random_state=random_state,
            log_to=log_to,
        )
        self.n_candidates = n_candidates

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
        return AsyncHalvingSchedule(
            sampler, rungs, self.factor, resource=self.resource, n_points=len(points)
        )
