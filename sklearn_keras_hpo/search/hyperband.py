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

import dataclasses
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
from .selection import top_k


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
        rungs = [
            (n // factor**i, max(min_epochs, round(max_epochs / factor ** (s - i))))
            for i in range(s + 1)
        ]
        brackets.append((s, rungs))
    return brackets


@dataclasses.dataclass
class _Bracket:
    s: int
    rungs: list  # [(n_candidates, epochs), ...]
    candidates: list  # of the current rung, in the order of their rows (None: not drawn yet)
    iteration: int = 0
    rung: int = 0
    started: int = 0
    scores: dict = dataclasses.field(default_factory=dict)  # position -> mean test score


class HyperbandSchedule:
    """Hyperband's jobs, with every bracket's current rung open at once.

    ``next_job`` gives the next unstarted candidate of the first bracket that has one,
    so one worker runs the brackets one after the other, as Hyperband is written, and
    more workers fill the time a rung waits for its last fits with other brackets'
    rungs. Results are those of the brackets run one after the other: each rung keeps
    the ``top_k`` of its own bracket's previous rung, and the candidates come from the
    sampler bracket by bracket. A random sampler draws an iteration's candidates when it
    starts; a model-guided one (``model_guided``) is asked for a bracket's candidates
    when every bracket before it has ended, so that it has seen the same results
    whatever the number of workers. Starting points (``points``) come first, as a
    bracket (``s = -1``) that keeps them all at every rung of the largest bracket.

    >>> from sklearn_keras_hpo.search.samplers import RandomSampler
    >>> sampler = RandomSampler({"a": [0, 1, 2, 3]}, np.random.RandomState(0))
    >>> schedule = HyperbandSchedule(hyperband_brackets(2, 2), sampler)
    >>> # bracket 1's rung 0, then bracket 0 fills in
    >>> first = [schedule.next_job() for _ in range(3)]
    >>> [(job.columns["bracket"], job.params["epochs"]) for job in first]
    [(1, 1), (1, 1), (0, 2)]
    >>> # rung 0 done: its best goes on, before bracket 0's last candidate
    >>> schedule.report(first[0], 0.5); schedule.report(first[1], 0.9)
    >>> schedule.next_job().params == {**first[1].params, "epochs": 2}
    True
    """

    def __init__(
        self, brackets, sampler, resource="epochs", n_iterations=1, points=(), model_guided=False
    ):
        self.shape, self.sampler, self.resource = brackets, sampler, resource
        self.iterations_left, self.model_guided, self.iteration = n_iterations, model_guided, -1
        self.brackets = []
        if points:  # every starting point at every rung of the most exploratory bracket
            self.brackets.append(
                _Bracket(-1, [(len(points), epochs) for _, epochs in brackets[0][1]], list(points))
            )
        self.waiting = False
        self._next_iteration()

    def _next_iteration(self):
        if self.iterations_left == 0:
            return False
        self.iterations_left -= 1
        self.iteration += 1
        new = [_Bracket(s, rungs, None, self.iteration) for s, rungs in self.shape]
        if not self.model_guided:  # drawn now, bracket by bracket, from the one random state
            for bracket in new:
                bracket.candidates = self.sampler.ask(bracket.rungs[0][0])
        self.brackets += new
        return True

    def next_job(self):
        """The next job, starting the next iteration's brackets once every bracket so far
        has started all it can before more results come in."""
        job = self._open_job()
        while job is None and not self.waiting and self._next_iteration():
            job = self._open_job()
        return job

    def _open_job(self):
        self.waiting = False
        for index, bracket in enumerate(self.brackets):
            if bracket.candidates is None:  # model-guided: asked once the brackets before it ended
                if any(earlier.rung < len(earlier.rungs) for earlier in self.brackets[:index]):
                    self.waiting = True
                    return None
                bracket.candidates = self.sampler.ask(bracket.rungs[0][0])
            if bracket.rung < len(bracket.rungs) and bracket.started < len(bracket.candidates):
                position, epochs = bracket.started, bracket.rungs[bracket.rung][1]
                bracket.started += 1
                return Job(
                    order=(index, bracket.rung, position),
                    params={**bracket.candidates[position], self.resource: epochs},
                    columns={
                        "iteration": bracket.iteration,
                        "bracket": bracket.s,
                        "rung": bracket.rung,
                        "n_resources": epochs,
                    },
                )
        return None

    def report(self, job, score):
        index, rung, position = job.order
        bracket = self.brackets[index]
        self.sampler.tell(bracket.candidates[position], job.params[self.resource], score)
        bracket.scores[position] = score
        if len(bracket.scores) < len(bracket.candidates):
            return
        scores = [bracket.scores[i] for i in range(len(bracket.candidates))]
        bracket.rung, bracket.started, bracket.scores = rung + 1, 0, {}
        if bracket.rung < len(bracket.rungs):
            bracket.candidates = [
                bracket.candidates[i] for i in top_k(scores, bracket.rungs[bracket.rung][0])
            ]


@shared_docs
class HyperbandSearchCV(RungSearchCV):
    """Hyperband search over epochs, with cross-validation and warm-started rungs.

    Every bracket of ``hyperband_brackets`` runs with its own candidates; the rungs of
    different brackets run side by side, so no worker waits while a rung's last fit
    finishes, and the results are those of the brackets run one after the other (the same
    for every ``n_jobs``). A model-guided sampler draws a bracket's candidates once the
    brackets before it have ended. Starting points (``points_to_evaluate``) form bracket -1
    in ``cv_results_``, kept at every rung.

    Parameters
    ----------
    {shared_parameters}
    n_iterations : int, default=1
        Times every bracket runs, each time with new candidates drawn (keras-tuner's
        ``hyperband_iterations``). With ``time_limit``, set it high and the search uses
        the whole time: an iteration starts as soon as workers would otherwise wait for
        the one before it to finish.
    pre_dispatch : str, default="2*n_jobs"
        Not used: the search keeps ``n_jobs`` fits in flight; kept for compatibility.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        As in ``GridSearchCV``, one row per (candidate, rung), plus ``iteration``,
        ``bracket``, ``rung`` and ``n_resources`` (the epochs of that row).
    {shared_attributes}

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
        **RungSearchCV._parameter_constraints,
        "n_iterations": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        estimator: BaseEstimator,
        param_distributions: dict | list[dict],
        *,
        max_epochs: int = 81,
        factor: int = 3,
        min_epochs: int = 1,
        n_iterations: int = 1,
        resource: str = "epochs",
        warm_start: bool = True,
        checkpoint_dir: str | None = None,
        time_limit: float | None = None,
        sampler: SamplerLike = "random",
        points_to_evaluate: list[dict] | None = None,
        refit_epochs: Literal["searched", "scaled"] | int = "searched",
        scoring: ScoringLike = None,
        n_jobs: int | None = None,
        refit: bool | str | Callable = True,
        cv: CVLike = None,
        verbose: int = 0,
        pre_dispatch: str = "2*n_jobs",
        random_state: int | np.random.RandomState | None = None,
        error_score: float | Literal["raise"] = np.nan,
        return_train_score: bool = False,
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
        self.n_iterations = n_iterations
        self.pre_dispatch = pre_dispatch

    def _check_settings(self):
        hyperband_brackets(self.max_epochs, self.factor, self.min_epochs)  # raises on bad settings

    def _schedule(self, rng, points):
        brackets = hyperband_brackets(self.max_epochs, self.factor, self.min_epochs)
        return HyperbandSchedule(
            brackets,
            self._sampler(rng, points=()),
            self.resource,
            self.n_iterations,
            points,
            model_guided=self.sampler != "random",
        )
