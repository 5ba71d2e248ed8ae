"""The runner behind the searches over epochs (``HyperbandSearchCV``,
``AsyncHalvingSearchCV``): a schedule picks each (candidate, epochs) to cross-validate,
``_workers.run_jobs`` trains its folds whenever a worker is free, and the results become
``cv_results_`` as in ``BaseSearchCV``."""

import contextlib
import tempfile
import time
import warnings

import numpy as np
from sklearn import get_config
from sklearn.base import clone, is_classifier
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import _search as sklearn_search
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import _fit_and_score, _insert_error_scores
from sklearn.utils import check_random_state, indexable
from sklearn.utils.parallel import _FuncWrapper
from sklearn.utils.validation import _check_method_params, _num_samples

from ..tracking import hooks as tracking
from . import progress
from ._workers import open_pool, run_jobs
from .budget import epochs_for_refit
from .recovery import failures_as_scores, lost_fit
from .samplers import import_optuna, make_sampler


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

    def _schedule(self, rng, points):
        """The schedule of jobs, its sampler seeded by ``rng``, starting with ``points``."""
        raise NotImplementedError

    def _sampler(self, rng, points, **kwargs):
        return make_sampler(self.sampler, self.param_distributions, rng, points, **kwargs)

    def _starting_points(self, estimator):
        """The candidates tried first: ``points_to_evaluate``, by default the estimator's own
        values of the searched parameters (its configuration, as the user would fit it)."""
        if self.points_to_evaluate is not None:
            return [dict(point) for point in self.points_to_evaluate]
        grids = (
            self.param_distributions
            if isinstance(self.param_distributions, list)
            else [self.param_distributions]
        )
        own, resource = estimator.get_params(), getattr(self, "resource", "epochs")
        names = dict.fromkeys(
            name for grid in grids for name in grid if name in own and name != resource
        )
        return [{name: own[name] for name in names}]

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
        if self.sampler != "random":
            import_optuna()  # before any fit: a missing extra fails at once
        user_directory = self.estimator.get_params().get("checkpoint_dir")
        with (
            tracking.observed_search(self),
            self._checkpointed_estimator() as estimator,
        ):  # log_to, log_search()
            self._search(estimator, X, y, params)
        if (
            hasattr(self, "best_estimator_")
            and "checkpoint_dir" in self.best_estimator_.get_params()
        ):
            self.best_estimator_.set_params(
                checkpoint_dir=user_directory
            )  # not the scratch directory
        return self

    @contextlib.contextmanager
    def _checkpointed_estimator(self):
        """The estimator every fit clones, its ``checkpoint_dir`` set so that each rung
        continues the previous one (a temporary directory unless one is given), its
        schedule's length the top rung's (``_rung_schedule_length``)."""
        params = self.estimator.get_params()
        length = self._rung_schedule_length(params)
        if not (getattr(self, "warm_start", True) and "checkpoint_dir" in params):
            yield clone(self.estimator).set_params(**length) if length else self.estimator
            return
        with tempfile.TemporaryDirectory(prefix="skhpo-rungs-") as temporary:
            directory = self.checkpoint_dir or params["checkpoint_dir"] or temporary
            yield clone(self.estimator).set_params(checkpoint_dir=str(directory), **length)

    def _rung_schedule_length(self, params):
        """``lr_schedule_epochs=max_epochs`` where the estimator leaves it None: every rung
        then follows the top rung's schedule, a function of the absolute epoch, so a
        cosine or one-cycle candidate continues its previous rung's checkpoint (as a
        constant-rate one does) instead of training again from scratch. Set with or
        without ``warm_start``, which changes the cost of a search, never its scores."""
        if (
            getattr(self, "resource", "epochs") != "epochs"
            or params.get("lr_schedule_epochs", 0) is not None
        ):
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
                f"{type(self).__name__} ranks the candidates of each rung by one metric: with several "
                f"scorers, set refit to the name of the one to rank by (got refit={self.refit!r})."
            )
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        splits = list(
            check_cv(self.cv, y, classifier=is_classifier(estimator)).split(
                X, y, **routed.splitter.split
            )
        )
        self.n_splits_ = len(splits)
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
        time_limit = getattr(self, "time_limit", None)
        deadline = None if time_limit is None else time.monotonic() + time_limit
        task = _FuncWrapper(fit_and_score).with_config_and_warning_filters(
            get_config(), list(warnings.filters)
        )
        with tracking.recording(open_pool(self.n_jobs)) as pool:  # fits bring their records back

            def fold_kwargs(job, fold):
                train, test = splits[fold]
                return {
                    **fit_kwargs,
                    "train": train,
                    "test": test,
                    "parameters": job.params,
                    "split_progress": (fold, len(splits)),
                }

            finished = run_jobs(
                self._schedule(
                    check_random_state(self.random_state), self._starting_points(estimator)
                ),
                pool,
                lambda job, fold: pool.submit(task, clone(estimator), X, y, fold_kwargs(job, fold)),
                len(splits),
                score=lambda outs: float(
                    np.mean([_ranking_score(out["test_scores"], metric) for out in outs])
                ),
                deadline=deadline,
                on_fits=progress.count_fits,
                lost_fold=lambda job, fold: lost_fit(
                    _fit_and_score, (X, y), fold_kwargs(job, fold)
                ),
            )
        results, outs = self._results(finished)
        self._select_and_refit(
            estimator,
            results,
            outs,
            scorers,
            refit_metric,
            X,
            y,
            routed.estimator.fit,
            train_fraction=np.mean([len(train) for train, _ in splits]) / _num_samples(X),
        )

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
        return self._format_results(
            [job.params for job in jobs], self.n_splits_, outs, columns
        ), outs

    def _select_and_refit(
        self, estimator, results, outs, scorers, refit_metric, X, y, fit_params, train_fraction
    ):
        """``best_*``, ``refit_time_``, ``scorer_``, ``cv_results_``, as ``BaseSearchCV.fit`` sets them."""
        first_test_score = outs[0]["test_scores"]
        self.multimetric_ = isinstance(first_test_score, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first_test_score)
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._best_at_largest_budget(
                self.refit, refit_metric, results, estimator
            )
            self.best_n_resources_ = int(results["n_resources"][self.best_index_])
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            resource = getattr(self, "resource", "epochs")
            self.refit_epochs_ = epochs_for_refit(
                self.refit_epochs, self.best_n_resources_, train_fraction
            )
            refit_params = {
                **self._own_schedule_length(estimator),  # the schedule spans the refit's epochs
                **clone(self.best_params_, safe=False),
                resource: self.refit_epochs_,
            }
            self.best_estimator_ = clone(estimator).set_params(**refit_params)
            start = time.time()
            self.best_estimator_.fit(X, **fit_params) if y is None else self.best_estimator_.fit(
                X, y, **fit_params
            )
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        self.cv_results_ = results

    def _own_schedule_length(self, estimator):
        """The user's ``lr_schedule_epochs`` where ``_rung_schedule_length`` replaced it."""
        own = self.estimator.get_params()
        changed = (
            "lr_schedule_epochs" in own
            and estimator.get_params()["lr_schedule_epochs"] != own["lr_schedule_epochs"]
        )
        return {"lr_schedule_epochs": own["lr_schedule_epochs"]} if changed else {}

    def _best_at_largest_budget(self, refit, refit_metric, results, estimator):
        """The best row among those of the largest number of epochs with a finite score: a
        score after 1 epoch does not outrank one after 27 through validation noise; where no
        candidate got past its first rung, the best starting point's."""
        scores = np.asarray(results[f"mean_test_{refit_metric}"], dtype=float)
        if callable(refit) or not np.isfinite(scores).any():
            return self._select_best_index(refit, refit_metric, results)
        resource = getattr(self, "resource", "epochs")
        points = self._starting_points(estimator)
        starting = [
            {k: v for k, v in row.items() if k != resource} in points for row in results["params"]
        ]
        return best_at_largest_budget(
            scores, results["n_resources"], top=self.max_epochs, starting=starting
        )


def best_at_largest_budget(scores, budgets, top=None, starting=None):
    """Index of the best finite score among those of the largest budget that has one.

    Where that budget is the smallest one too and below ``top`` (the search stopped before
    any candidate was promoted), the best of the ``starting`` rows (a mask: the points the
    search began from) when one has a finite score: a first-rung score decides which
    candidate trains longer, not which replaces the configuration the search started
    from (on CIFAR-10, the best of 3 candidates after 1 epoch, trained for 10, scored 7
    points below the starting point trained for 10).

    >>> best_at_largest_budget([0.9, 0.7, 0.8, float("nan")], [1, 3, 3, 9])
    2
    >>> best_at_largest_budget([0.5, 0.6, 0.4], [1, 1, 1], top=9, starting=[True, False, False])
    0
    >>> best_at_largest_budget([0.5, 0.6, 0.4], [9, 9, 9], top=9, starting=[True, False, False])
    1
    """
    scores, budgets = np.asarray(scores, dtype=float), np.asarray(budgets)
    finite = np.isfinite(scores)
    largest = budgets[finite].max()
    rows = finite & (budgets == largest)
    if (
        top is not None
        and starting is not None
        and largest < top
        and budgets[finite].min() == largest
    ):
        kept = rows & np.asarray(starting, dtype=bool)
        rows = kept if kept.any() else rows
    return int(np.flatnonzero(rows)[np.argmax(scores[rows])])


def fit_and_score(estimator, X, y, kwargs):
    """One fold of one candidate, in a worker: scikit-learn's own ``_fit_and_score`` (run
    with the parent's scikit-learn configuration and warning filters, as
    ``sklearn.utils.parallel.Parallel`` runs its tasks)."""
    return _fit_and_score(estimator, X, y, **kwargs)


def _ranking_score(test_scores, metric):
    return test_scores.get(metric, np.nan) if isinstance(test_scores, dict) else test_scores
