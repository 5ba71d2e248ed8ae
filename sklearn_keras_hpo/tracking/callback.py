"""A ``SearchLogger`` as a scikit-learn callback: how scikit-learn's searchers are logged.

``search.set_callbacks(logger)`` gives any searcher built on ``BaseSearchCV``
(``GridSearchCV``, ``RandomizedSearchCV``, ``Halving*SearchCV``, skopt's ``BayesSearchCV``)
a logger through scikit-learn 1.9's callback API (``sklearn.callback``); the logger
follows its ``FitCallback`` and ``AutoPropagatedCallback`` protocols. Where each hook runs
and what it does:

- ``setup``, on the search's root task, in the process that runs the search: the logger
  hears ``search_started``, and opens a channel (``transport``) for the fits' records.
  When our runner fits the search (``HyperbandSearchCV``, ``AsyncHalvingSearchCV``), the
  logger joins its hooks instead (``hooks.attach``), which report every fit themselves.
- ``on_fit_task_end`` of each fold's estimator, where the fold was fitted (a worker holds
  a pickled copy of the logger, which scikit-learn's ``_fit_and_score`` propagates into
  the estimator): the estimator's record (``records.fit_record``: its Keras history, the
  searched parameters' values) goes through the channel with the number of its
  "candidate-split-evaluation" task. Here that number modulo ``n_splits_`` is the fold:
  scikit-learn numbers each batch's tasks candidate-major, fold-minor.
- ``on_fit_task_end`` of the root task: the search finished. ``teardown`` then adds each
  fold's test score from ``cv_results_`` (a fit reports before it is scored) and the
  logger hears ``search_ended``; when the root task did not finish, with the exception in
  flight (or a ``RuntimeError``), so the run is marked failed or killed.

Only fold estimators that report their fits to callbacks give curves: ours, and a
``Pipeline`` ending in one. A searcher whose ``_run_search`` passes no callback context
on to ``evaluate_candidates`` (skopt's ``BayesSearchCV``) is logged without them: its
parent run, its candidates' scores, no curves.
"""

import functools
import sys
import warnings
from typing import Any, NamedTuple

from . import hooks, transport
from .records import fit_record, searched_names

EVALUATION = "candidate-split-evaluation"  # scikit-learn's name of one fold's fit task


class _Run(NamedTuple):
    """What the copies of the logger in workers need to report a search's fits."""

    names: tuple[str, ...]  # the searched parameters
    channel: transport.Channel


class _Root:
    """A search this logger hears through scikit-learn's callbacks (this process only)."""

    def __init__(self, search: Any) -> None:
        self.search = search
        self.started = False
        self.finished = False


class SklearnCallback:
    """The scikit-learn callback half of ``SearchLogger``, which provides what it calls:
    ``search_started``, ``fit_finished``, ``search_ended`` (``hooks.SearchListener``) and
    ``_fold_scores_from``."""

    def __init__(self) -> None:
        self._runs: dict[Any, _Run] = {}  # root task's uuid -> _Run, pickled with the logger
        self._roots: dict[Any, _Root] = {}
        self._propagates = True

    def _callback_state(self) -> dict[str, Any]:
        return {"_runs": dict(self._runs), "_propagates": self._propagates}

    @property
    def max_propagation_depth(self) -> int | None:
        """Every level (a fold's estimator, inside a ``Pipeline`` too) when the searched
        estimator takes callbacks; none otherwise, sparing scikit-learn's warning that it
        does not."""
        return None if self._propagates else 0

    def setup(self, estimator: Any, context: Any) -> None:
        names = searched_names(estimator)
        if context.parent is not None or names is None:  # not a search's own fit
            return
        root = self._roots[context.root_uuid] = _Root(estimator)
        self._propagates = hasattr(getattr(estimator, "estimator", None), "set_callbacks")
        if hooks.attach(estimator, self):  # our runner reports this search's fits
            return
        channel = transport.open_channel(functools.partial(self._received, root))
        self._runs[context.root_uuid] = _Run(tuple(names), channel)
        self.search_started(estimator)
        root.started = True

    def on_fit_task_begin(self, estimator: Any, context: Any) -> None:
        """Nothing: a fit is logged when it ends."""

    def on_fit_task_end(self, estimator: Any, context: Any) -> None:
        run = self._runs.get(context.root_uuid)
        if run is None:
            return
        if context.parent is None:  # the search's own fit finished (this process)
            root = self._roots.get(context.root_uuid)
            if root is not None:
                root.finished = True
            return
        task = evaluation_task(context)
        if task is not None:
            self._report(run, task, estimator)

    def _report(self, run: _Run, task: int, estimator: Any) -> None:
        """Send the record of the fold's fitted ``estimator``; a failure only warns, the
        fit stands."""
        try:
            own = estimator.get_params()
            record = fit_record(estimator, {name: own[name] for name in run.names if name in own})
            if record["history"]:  # a Keras fit: something to draw
                transport.send(run.channel, (task, record))
        except Exception as error:
            warnings.warn(
                f"Experiment tracking could not report a fit, which stands: "
                f"{type(error).__name__}: {error}",
                RuntimeWarning,
                stacklevel=2,
            )

    def _received(self, root: _Root, message: tuple[int, dict]) -> None:
        task, record = message
        record["fold"] = task % (getattr(root.search, "n_splits_", None) or 1)
        hooks.safely(self.fit_finished, record)

    def teardown(self, estimator: Any, context: Any) -> None:
        root = self._roots.pop(context.root_uuid, None)
        run = self._runs.pop(context.root_uuid, None)
        if run is not None:
            transport.close_channel(run.channel)
        if root is None or not root.started:
            return
        if root.finished:
            self._fold_scores_from(estimator)
            error = None
        else:  # teardown runs in a ``finally``: the exception in flight stopped the search
            error = sys.exc_info()[1] or RuntimeError(
                f"{type(estimator).__name__}.fit did not finish."
            )
        hooks.safely(self.search_ended, estimator, error)


def evaluation_task(context: Any) -> int | None:
    """The number of the fold's fit task when ``context`` is the root task of the
    estimator fitted for one fold of the search (not of a search nested in it), else None."""
    if context.source_task_name != EVALUATION:
        return None
    parent = context.parent
    while parent is not None:
        if EVALUATION in (parent.task_name, parent.source_task_name):  # a search in a search
            return None
        parent = parent.parent
    return context.task_id
