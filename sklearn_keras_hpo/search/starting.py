"""scikit-learn's and scikit-optimize's searchers, starting from the estimator's own configuration.

Our rung searches fit the estimator as the user configured it before any drawn candidate,
so that a search cut short (a time limit, Ctrl-C) still has that configuration to fall back
on and every result can be read against it. The classes here give scikit-learn's
``GridSearchCV``, ``RandomizedSearchCV``, ``HalvingRandomSearchCV`` and scikit-optimize's
``BayesSearchCV`` the same start; otherwise they are their parents, with the same
parameters, and keep their parents' names (the report and the tracking logs show
``type(search).__name__``). ``skhpo tune`` uses them.
"""

import warnings
from numbers import Real

import numpy as np
import skopt
from sklearn import model_selection
from sklearn.exceptions import FitFailedWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import ParameterGrid, ParameterSampler
from skopt.utils import create_result, dimensions_aslist, point_asdict, point_aslist

from .selection import own_configuration

__all__ = [
    "BayesSearchCV",
    "GridSearchCV",
    "HalvingRandomSearchCV",
    "RandomizedSearchCV",
    "own_configuration",
]


def _names(space):
    """The parameter names of a space: a dict, or a list of dicts (their union, in order)."""
    grids = space if isinstance(space, list) else [space]
    return list(dict.fromkeys(name for grid in grids for name in grid))


def _evaluate_as_one_task(search, evaluate_candidates, candidates, callback_ctx):
    """``evaluate_candidates`` under a "search" task whose subtasks are the fits, as
    scikit-learn's own ``GridSearchCV`` calls it (so callbacks see every fit)."""
    candidates = list(candidates)
    if callback_ctx is None:
        evaluate_candidates(candidates)
        return
    task = callback_ctx.subcontext(
        task_name="search",
        max_subtasks=len(candidates) * search.n_splits_,
        sequential_subtasks=False,
    ).call_on_fit_task_begin(estimator=search)
    evaluate_candidates(candidates, callback_ctx=task)
    task.call_on_fit_task_end(estimator=search)


class GridSearchCV(model_selection.GridSearchCV):
    """scikit-learn's ``GridSearchCV``, fitting the estimator's own configuration first.

    The same grid and the same results; only the order changes: when the grid holds the
    estimator's own values of the searched parameters, that candidate is the first row of
    ``cv_results_``, the others follow in scikit-learn's order. The parameters are
    ``GridSearchCV``'s.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(DecisionTreeClassifier(max_depth=3), {"max_depth": [1, 2, 3]}, cv=2)
    >>> search.fit(X, y).cv_results_["params"]
    [{'max_depth': 3}, {'max_depth': 1}, {'max_depth': 2}]
    """

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        grid = list(ParameterGrid(self.param_grid))
        own = [
            candidate
            for candidate in grid
            if candidate == own_configuration(self.estimator, candidate)
        ]
        ordered = own[:1] + [candidate for candidate in grid if candidate not in own[:1]]
        _evaluate_as_one_task(self, evaluate_candidates, ordered, callback_ctx)


class RandomizedSearchCV(model_selection.RandomizedSearchCV):
    """scikit-learn's ``RandomizedSearchCV`` whose first of ``n_iter`` candidates is the
    estimator's own configuration, followed by ``n_iter - 1`` random draws.

    The own values need not lie in the distributions (a default learning rate outside the
    searched range is still the configuration to compare with). The parameters are
    ``RandomizedSearchCV``'s.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> search = RandomizedSearchCV(
    ...     DecisionTreeClassifier(max_depth=3), {"max_depth": [1, 2, 4, 5]}, n_iter=3, cv=2,
    ...     random_state=0,
    ... )
    >>> search.fit(X, y).cv_results_["params"][0]
    {'max_depth': 3}
    """

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        start = own_configuration(self.estimator, _names(self.param_distributions))
        drawn = ParameterSampler(
            self.param_distributions, self.n_iter - 1, random_state=self.random_state
        )
        _evaluate_as_one_task(self, evaluate_candidates, [start, *drawn], callback_ctx)


class HalvingRandomSearchCV(model_selection.HalvingRandomSearchCV):
    """scikit-learn's ``HalvingRandomSearchCV`` whose first candidate is the estimator's
    own configuration, in place of the last of its random draws (as many candidates as
    scikit-learn's).

    The parameters are ``HalvingRandomSearchCV``'s; the resource (``resource="epochs"``,
    say) is set per iteration, as in the parent.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HalvingRandomSearchCV(
    ...     DecisionTreeClassifier(max_depth=3), {"max_depth": [1, 2, 4, 5]}, n_candidates=3, cv=2,
    ...     random_state=0,
    ... )
    >>> search.fit(X, y).cv_results_["params"][0]
    {'max_depth': 3}
    """

    def _generate_candidate_params(self):
        drawn = list(super()._generate_candidate_params())
        start = own_configuration(self.estimator, _names(self.param_distributions))
        return [start, *drawn[:-1]]


class BayesSearchCV(skopt.BayesSearchCV):
    """scikit-optimize's ``BayesSearchCV`` whose first point is the estimator's own
    configuration, and which goes on when every fit of a step fails.

    Two differences from the parent, whose parameters these are:

    - The first point of each search space is the estimator's own configuration when the
      space holds it (every value inside its dimension), told to the optimizer like any
      point it asked for; otherwise the optimizer's own first point.
    - scikit-learn raises ``ValueError`` ("All the N fits failed") when every fit of one
      call fails, and a Bayes search evaluates one point per call by default: one
      diverging point would end the search. Here, unless ``error_score="raise"``, that
      error is a ``FitFailedWarning`` with scikit-learn's message and the search goes on.
      Such points are **not** rows of ``cv_results_`` (scikit-learn keeps no results of
      the call); the optimizer is told them with the worst objective known (the worst
      score so far, or ``error_score`` when that is a worse number), so its model steers
      away from them. A point whose mean score is not finite (``error_score=np.nan``) is
      told the same way: skopt's model cannot learn from NaN. Until a finite value is
      known, such points wait and are told with the first. When every call of the search
      fails, the last error is raised.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skopt.space import Integer
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BayesSearchCV(
    ...     DecisionTreeClassifier(max_depth=3), {"max_depth": Integer(1, 5)}, n_iter=3, cv=2,
    ...     random_state=0,
    ... )
    >>> dict(search.fit(X, y).cv_results_["params"][0])
    {'max_depth': 3}
    """

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        self._unscored = {}  # id(optimizer) -> failed points not told yet (no worst known)
        failures, evaluated = [], []
        task = None  # skopt's own BayesSearchCV passes no callback contexts on: this one does
        if callback_ctx is not None:
            task = callback_ctx.subcontext(task_name="search", max_subtasks=None)
            task.call_on_fit_task_begin(estimator=self)

        def evaluate(candidates, *args, **kwargs):
            """``evaluate_candidates``, None where every fit of the call failed."""
            candidates = list(candidates)
            if task is not None:  # one "iteration" task per call, its fits as subtasks
                kwargs["callback_ctx"] = task.subcontext(
                    task_name="iteration",
                    max_subtasks=len(candidates) * self.n_splits_,
                    sequential_subtasks=False,
                ).call_on_fit_task_begin(estimator=self)
            try:
                results = evaluate_candidates(candidates, *args, **kwargs)
            except ValueError as error:
                if self.error_score == "raise" or not _every_fit_failed(error):
                    raise
                warnings.warn(str(error), FitFailedWarning, stacklevel=2)
                failures.append(error)
                return None
            finally:
                if task is not None:
                    kwargs["callback_ctx"].call_on_fit_task_end(estimator=self)
            evaluated.append(candidates)
            return results

        super()._run_search(evaluate)
        if task is not None:
            task.call_on_fit_task_end(estimator=self)
        if failures and not evaluated:
            raise failures[-1]

    def _step(self, search_space, optimizer, score_name, evaluate_candidates, n_points=1):
        """Ask ``n_points`` points (the own configuration first), evaluate them, tell the
        optimizer their objectives; ``(optimizer result, score name)``, as skopt's."""
        points = [
            [np.array(v).item() for v in point]
            for point in self._ask(search_space, optimizer, n_points)
        ]
        results = evaluate_candidates([point_asdict(search_space, point) for point in points])
        if results is None:  # every fit failed: no scores
            return self._tell(optimizer, points, [np.nan] * len(points)), score_name
        score_name = score_name or self._score_key(results)
        scores = results[score_name][-len(points) :]
        return self._tell(optimizer, points, [-score for score in scores]), score_name

    def _ask(self, search_space, optimizer, n_points):
        """The optimizer's points, the own configuration first when nothing was asked yet."""
        started = optimizer.Xi or self._unscored.get(id(optimizer))
        names = list(search_space)
        own = own_configuration(self.estimator, names)
        if started or len(own) < len(names):
            return optimizer.ask(n_points=n_points)
        start = point_aslist(search_space, own)
        dimensions = dimensions_aslist(search_space)
        if not all(value in dimension for value, dimension in zip(start, dimensions, strict=True)):
            return optimizer.ask(n_points=n_points)
        return [start, *(optimizer.ask(n_points=n_points - 1) if n_points > 1 else [])]

    def _tell(self, optimizer, points, objectives):
        """Tell ``optimizer`` the points; those without a finite objective with the worst
        known, or later, once one is known. The optimizer's result so far."""
        waiting = self._unscored.setdefault(id(optimizer), [])
        scored = [(p, y) for p, y in zip(points, objectives, strict=True) if np.isfinite(y)]
        waiting.extend(p for p, y in zip(points, objectives, strict=True) if not np.isfinite(y))
        worst = self._worst_objective(optimizer, [y for _, y in scored])
        if worst is not None:
            scored += [(point, worst) for point in waiting]
            waiting.clear()
        if scored:
            return optimizer.tell([p for p, _ in scored], [y for _, y in scored])
        if optimizer.yi:
            return create_result(optimizer.Xi, optimizer.yi, optimizer.space, optimizer.rng)
        return None  # nothing told yet: every point so far failed, with no score to compare

    def _worst_objective(self, optimizer, new):
        """The largest finite objective (negated score) told or about to be, and
        ``-error_score`` when that is a finite number; None when there is none."""
        known = [y for y in [*optimizer.yi, *new] if np.isfinite(y)]
        if isinstance(self.error_score, Real) and np.isfinite(self.error_score):
            known.append(-self.error_score)
        return max(known, default=None)

    def _score_key(self, results):
        """The ``cv_results_`` key of the score to optimise, for a callable ``scoring``
        (known only once results exist), as skopt's own step finds it."""
        names = {key[len("mean_test_") :] for key in results if key.startswith("mean_test_")}
        if len(names) > 1:
            self._check_refit_for_multimetric(names)
            return f"mean_test_{self.refit}"
        if not names:
            raise ValueError(
                "No score was detected after fitting. This is probably due to a callable "
                "'scoring' returning an empty dict."
            )
        return f"mean_test_{names.pop()}"


def _every_fit_failed(error):
    """Whether ``error`` is scikit-learn's "All the N fits failed" of one call."""
    text = str(error).lstrip()
    return text.startswith("All the ") and "fits failed" in text.split("\n", 1)[0]
