"""The base of the searches over epochs (``HyperbandSearchCV``, ``AsyncHalvingSearchCV``).

A schedule picks each (candidate, epochs) to cross-validate, ``_workers.run_jobs`` trains
its folds whenever a worker is free, and the results become ``cv_results_`` as in
``BaseSearchCV``. ``BaseSearchCV.fit`` hands its fits to joblib one batch at a time
(``evaluate_candidates``), which an asynchronous schedule cannot use, so ``fit`` here is
its own; it calls the same scikit-learn callback contexts (``_init_callback_context``, a
"search" task, one "candidate-split-evaluation" task per fit, the refit's task) and the
same helpers, all imported through ``_sklearn_compat``. Parameters, constraints and their
documentation shared by the two searchers live here once.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn import get_config
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state, indexable

from .._sklearn_compat import (
    BaseSearchCV,
    HasMethods,
    Interval,
    StrOptions,
    _check_method_params,
    _fit_and_score,
    _fit_context,
    _FuncWrapper,
    _insert_error_scores,
    _MultimetricScorer,
    _num_samples,
    _warn_or_raise_about_fit_failures,
)
from ..tracking import hooks as tracking
from ..tracking.logger import logger_for
from . import progress
from ._workers import open_pool, run_jobs
from .recovery import lost_fit
from .refit_rules import epochs_for_refit
from .samplers import SAMPLERS, import_optuna, make_sampler
from .selection import best_at_largest_budget, own_configuration

SamplerLike = str | object  # "random", "tpe" or an Optuna sampler instance
ScoringLike = str | Callable | list | tuple | dict | None  # as GridSearchCV's scoring
CVLike = int | object | Iterable | None  # as GridSearchCV's cv
LogTo = str | dict | object | None  # a tracking URI, log_search keywords, or a SearchLogger


class RungSearchCV(BaseSearchCV):
    """Base of the searches over epochs: a schedule picks each (candidate, epochs) to
    cross-validate, the runner trains its folds whenever a worker is free.

    Subclasses give ``_schedule(rng, points)``, an object with ``next_job()`` (a ``Job``,
    or None when nothing can start before a running job reports) and
    ``report(job, score)`` (the mean test score of its folds, NaN when they failed), and
    ``_check_settings()``. ``fit`` then does what ``BaseSearchCV.fit`` does (scorers,
    routing, callbacks, ``cv_results_``, ``best_*``, refit), with the fits run by
    ``_workers.run_jobs`` instead of one ``Parallel`` call per batch.
    """

    _parameter_constraints = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [dict, list],
        "time_limit": [None, Interval(Real, 0, None, closed="neither")],
        "min_epochs": [Integral],
        "max_epochs": [Integral],
        "factor": [Integral],
        "resource": [str],
        "warm_start": ["boolean"],
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
        time_limit=None,
        min_epochs=1,
        max_epochs=81,
        factor=3,
        resource="epochs",
        warm_start=True,
        checkpoint_dir=None,
        sampler="random",
        points_to_evaluate=None,
        refit_epochs="searched",
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        error_score=np.nan,
        return_train_score=False,
        random_state=None,
        log_to=None,
    ):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.time_limit = time_limit
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.factor = factor
        self.resource = resource
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.sampler = sampler
        self.points_to_evaluate = points_to_evaluate
        self.refit_epochs = refit_epochs
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.verbose = verbose
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.random_state = random_state
        self.log_to = log_to

    def _schedule(self, rng, points):
        """The schedule of jobs, its sampler seeded by ``rng``, starting with ``points``."""
        raise NotImplementedError

    def _check_settings(self):
        """Reject bad settings (a ``ValueError`` naming them) before any fit."""
        raise NotImplementedError

    def _sampler(self, rng, points, **kwargs):
        return make_sampler(self.sampler, self.param_distributions, rng, points, **kwargs)

    def _starting_points(self, estimator):
        """The candidates tried first: ``points_to_evaluate``, by default the estimator's own
        values of the searched parameters (its configuration, as the user would fit it)."""
        if self.points_to_evaluate is not None:
            return [dict(point) for point in self.points_to_evaluate]
        grids = self.param_distributions
        grids = grids if isinstance(grids, list) else [grids]
        names = dict.fromkeys(name for grid in grids for name in grid if name != self.resource)
        return [own_configuration(estimator, names)]

    @_fit_context(prefer_skip_nested_validation=False)  # validates, tears callbacks down
    def fit(self, X: ArrayLike, y: ArrayLike | None = None, **params) -> RungSearchCV:
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
        self._check_settings()
        if self.sampler != "random":
            import_optuna()  # before any fit: a missing extra fails at once
        user_directory = self.estimator.get_params().get("checkpoint_dir")
        logger = None if self.log_to is None else logger_for(self.log_to)
        with (
            tracking.observed_search(self, logger),
            self._checkpointed_estimator() as estimator,
        ):
            self._search(estimator, X, y, params)
        if (
            hasattr(self, "best_estimator_")
            and "checkpoint_dir" in self.best_estimator_.get_params()
        ):
            self.best_estimator_.set_params(checkpoint_dir=user_directory)  # not the scratch one
        return self

    @contextlib.contextmanager
    def _checkpointed_estimator(self):
        """The estimator every fit clones, its ``checkpoint_dir`` set so that each rung
        continues the previous one (a temporary directory unless one is given), its
        schedule's length the top rung's (``_rung_schedule_length``)."""
        params = self.estimator.get_params()
        length = self._rung_schedule_length(params)
        if not (self.warm_start and "checkpoint_dir" in params):
            yield clone(self.estimator).set_params(**length) if length else self.estimator
            return
        with tempfile.TemporaryDirectory(prefix="skhpo-rungs-") as temporary:
            directory = self.checkpoint_dir or params["checkpoint_dir"] or temporary
            yield clone(self.estimator).set_params(checkpoint_dir=str(directory), **length)

    def _rung_schedule_length(self, params):
        """``lr_schedule_epochs=max_epochs`` where the estimator leaves it None: every rung
        then follows the top rung's schedule, a function of the absolute epoch, so a cosine
        or one-cycle candidate continues its previous rung's checkpoint instead of training
        again from scratch. Set with or without ``warm_start``, which changes the cost of a
        search, never its scores."""
        if self.resource != "epochs" or params.get("lr_schedule_epochs", 0) is not None:
            return {}
        return {"lr_schedule_epochs": self.max_epochs}

    def _search(self, estimator, X, y, params):
        scorers, refit_metric = self._get_scorers()
        if (
            not callable(self.scoring)
            and isinstance(scorers, _MultimetricScorer)
            and not isinstance(self.refit, str)
        ):
            raise ValueError(
                f"{type(self).__name__} ranks the candidates of each rung by one metric: with "
                "several scorers, set refit to the name of the one to rank by (got "
                f"refit={self.refit!r})."
            )
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        metadata = {"sample_weight": params["sample_weight"]} if "sample_weight" in params else None
        root = self._init_callback_context(max_subtasks=1 + (self.refit is not False))
        root.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
        cv = check_cv(self.cv, y, classifier=is_classifier(estimator))
        splits = list(cv.split(X, y, **routed.splitter.split))
        self.n_splits_ = len(splits)
        search_task = root.subcontext(
            task_name="search", max_subtasks=None, sequential_subtasks=False
        )
        search_task.call_on_fit_task_begin(estimator=self)
        finished = self._run_fits(
            estimator, X, y, splits, scorers, refit_metric, routed, search_task
        )
        search_task.call_on_fit_task_end(estimator=self)
        results, outs = self._results(finished)
        train_fraction = np.mean([len(train) for train, _ in splits]) / _num_samples(X)
        self._select_best(estimator, results, outs, scorers, refit_metric)
        if self.refit:
            self._refit_best(estimator, X, y, routed.estimator.fit, train_fraction, root, metadata)
        root.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)

    def _run_fits(self, estimator, X, y, splits, scorers, refit_metric, routed, search_task):
        """Every fit the schedule asks for, each fold on a free worker; the finished jobs."""
        fit_kwargs = dict(
            scorer=scorers,
            fit_params=routed.estimator.fit,
            score_params=routed.scorer.score,
            return_train_score=self.return_train_score,
            return_n_test_samples=True,
            return_times=True,
            return_parameters=False,
            error_score=self.error_score,
            verbose=self.verbose,
        )
        metric = self.refit if isinstance(self.refit, str) else refit_metric
        deadline = None if self.time_limit is None else time.monotonic() + self.time_limit
        task = _FuncWrapper(fit_and_score).with_config_and_warning_filters(
            get_config(), list(warnings.filters)
        )
        numbers = {}  # job -> its number: the fit tasks are numbered candidate-major, as sklearn's
        tasks = {}  # (job, fold) -> its callback task
        with_callbacks = bool(getattr(self, "_skl_callbacks", None))

        def fold_kwargs(job, fold):
            train, test = splits[fold]
            kwargs = {
                **fit_kwargs,
                "train": train,
                "test": test,
                "parameters": job.params,
                "split_progress": (fold, len(splits)),
            }
            if with_callbacks:  # the search goes to the worker only when a callback needs it
                kwargs["caller"] = self
                kwargs["callback_ctx"] = fit_task(job, fold)
            return kwargs

        def fit_task(job, fold):
            """The fit's callback task, made once: a fit run again (its worker died) keeps it."""
            if (job, fold) not in tasks:
                task_id = numbers.setdefault(job, len(numbers)) * len(splits) + fold
                tasks[job, fold] = search_task.subcontext(
                    task_name="candidate-split-evaluation", task_id=task_id
                )
            return tasks[job, fold]

        def score(outs):
            return float(np.mean([_ranking_score(out["test_scores"], metric) for out in outs]))

        schedule = _Reported(
            self._schedule(check_random_state(self.random_state), self._starting_points(estimator))
        )
        with tracking.recording(open_pool(self.n_jobs)) as pool:  # fits bring records back
            return run_jobs(
                schedule,
                pool,
                lambda job, fold: pool.submit(task, clone(estimator), X, y, fold_kwargs(job, fold)),
                len(splits),
                score=score,
                deadline=deadline,
                on_fits=progress.count_fits,
                lost_fold=lambda job, fold: lost_fit(
                    _fit_and_score, (X, y), fold_kwargs(job, fold)
                ),
            )

    def _results(self, finished):
        """``cv_results_`` of the jobs whose every fold finished, rows in the schedule's order."""
        if not finished:
            raise ValueError(
                f"No candidate finished its {self.n_splits_} folds within time_limit="
                f"{self.time_limit} s; give the search more time."
            )
        finished = sorted(finished, key=lambda item: item[0].order)
        jobs = [job for job, _ in finished]
        outs = [out for _, job_outs in finished for out in job_outs]
        try:  # scikit-learn's warning for failed fits; when all failed, a warning too
            _warn_or_raise_about_fit_failures(outs, self.error_score)
        except ValueError as error:  # the finished fits are kept; their scores are error_score
            warnings.warn(str(error), FitFailedWarning, stacklevel=2)
        if callable(self.scoring):
            _insert_error_scores(outs, self.error_score)
        columns = {name: [job.columns[name] for job in jobs] for name in jobs[0].columns}
        return self._format_results(
            [job.params for job in jobs], self.n_splits_, outs, columns
        ), outs

    def _select_best(self, estimator, results, outs, scorers, refit_metric):
        """``best_*``, ``scorer_``, ``cv_results_``, as ``BaseSearchCV.fit`` sets them."""
        first_test_score = outs[0]["test_scores"]
        self.multimetric_ = isinstance(first_test_score, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first_test_score)
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._best_at_largest_budget(refit_metric, results, estimator)
            self.best_n_resources_ = int(results["n_resources"][self.best_index_])
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        self.cv_results_ = results

    def _refit_best(self, estimator, X, y, fit_params, train_fraction, root, metadata):
        """Train the best (candidate, epochs) on all of ``X`` for ``refit_epochs_``."""
        self.refit_epochs_ = epochs_for_refit(
            self.refit_epochs, self.best_n_resources_, train_fraction
        )
        refit_params = {
            **self._own_schedule_length(estimator),  # the schedule spans the refit's epochs
            **clone(self.best_params_, safe=False),
            self.resource: self.refit_epochs_,
        }
        self.best_estimator_ = clone(estimator).set_params(**refit_params)
        refit_task = root.subcontext(task_name="refit-with-best-params")
        with refit_task.propagate_callback_context(self.best_estimator_):
            refit_task.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
            start = time.time()
            if y is None:
                self.best_estimator_.fit(X, **fit_params)
            else:
                self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.time() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_
        refit_task.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)

    def _own_schedule_length(self, estimator):
        """The user's ``lr_schedule_epochs`` where ``_rung_schedule_length`` replaced it."""
        own = self.estimator.get_params()
        changed = (
            "lr_schedule_epochs" in own
            and estimator.get_params()["lr_schedule_epochs"] != own["lr_schedule_epochs"]
        )
        return {"lr_schedule_epochs": own["lr_schedule_epochs"]} if changed else {}

    def _best_at_largest_budget(self, refit_metric, results, estimator):
        """The best row among those of the largest number of epochs with a finite score: a
        score after 1 epoch does not outrank one after 27 through validation noise; where no
        candidate got past its first rung, the best starting point's."""
        scores = np.asarray(results[f"mean_test_{refit_metric}"], dtype=float)
        if callable(self.refit) or not np.isfinite(scores).any():
            return self._select_best_index(self.refit, refit_metric, results)
        points = self._starting_points(estimator)
        starting = [
            {k: v for k, v in row.items() if k != self.resource} in points
            for row in results["params"]
        ]
        return best_at_largest_budget(
            scores, results["n_resources"], top=self.max_epochs, starting=starting
        )


class _Reported:
    """A schedule whose reports also reach the open loggers (``candidate_finished``)."""

    def __init__(self, schedule):
        self.schedule = schedule

    def next_job(self):
        return self.schedule.next_job()

    def report(self, job, score):
        self.schedule.report(job, score)
        tracking.candidate_finished(job.params, score)


def fit_and_score(estimator, X, y, kwargs):
    """One fold of one candidate, in a worker: scikit-learn's own ``_fit_and_score`` (run
    with the parent's scikit-learn configuration and warning filters, as
    ``sklearn.utils.parallel.Parallel`` runs its tasks)."""
    return _fit_and_score(estimator, X, y, **kwargs)


def _ranking_score(test_scores, metric):
    return test_scores.get(metric, np.nan) if isinstance(test_scores, dict) else test_scores
