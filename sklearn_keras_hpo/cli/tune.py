"""``skhpo tune``: load, split, search within the time limit, choose, refit, write.

The search runs in its share of ``--time-limit`` (``search.budget.Budget``); Ctrl-C or the
limit stops it and keeps every finished fit, whose records (``search.records``) then give
the results and the choice: the best fully cross-validated configuration at the largest
epochs that finished, as the searcher itself would choose. The best is refitted on the
whole training set in what the limit leaves, and reported.
"""

import functools
import time

import numpy as np

from ..data.rows import ImageRows
from ..search import best_at_largest_budget
from ..search.budget import Budget, refit_within, solo_speedup
from ..search.records import RecordingScorer, epoch_seconds, partial_results
from ..search.stopping import (
    Grace,
    StopSearch,
    in_fresh_thread,
    stop_on_signals,
    stop_worker_processes,
)
from .data import load_tune_data, split
from .outputs import budget_note, prepare_output, write_outputs
from .searches import OUR_SEARCHERS, base_estimator, make_search
from .settings import TuneSettings

STOPPED = 130  # the exit status of a run stopped before any configuration finished
TRACKED_OUTPUTS = ("report.html", "best_params.json", "model")  # logged on the parent run


def run_tune(args):
    """``tune`` for parsed arguments, logged to MLflow/TensorBoard when ``--mlflow``,
    ``--experiment`` or ``--tensorboard`` ask; the exit status."""
    settings = TuneSettings.from_args(args)
    if not settings.tracked:
        return tune(settings)
    from ..tracking import log_search

    with log_search(
        settings.mlflow,
        settings.experiment,
        settings.tensorboard,
        run_name=f"skhpo tune {settings.searcher}",
    ) as log:
        code = tune(settings, log)
        for name in TRACKED_OUTPUTS:
            path = settings.output / name
            if not code and log.run_id and path.exists():
                log.log_artifact(path, name if path.is_dir() else None)
    return code


def tune(settings, logger=None):
    """The whole run, logged by ``logger`` (a ``log_search`` logger, or None); the exit
    status (0, or ``STOPPED``)."""
    budget = Budget(settings.time_limit)  # the whole run: search, refit and report
    data = load_tune_data(settings)
    X = ImageRows(data.X) if data.X.ndim > 1 else data.X  # the split and folds copy no images
    X_train, X_test, y_train, y_test = split(X, data.y, settings.test_size, settings.random_state)
    summary = {**data.summary, "training images": len(X_train), "held-out images": len(y_test)}
    fits, records = prepare_output(settings)
    estimator = base_estimator(settings, fits, data.stream_params)
    search, searched, longest = make_search(
        settings, estimator, RecordingScorer(records), summary["image shape"], len(X_train)
    )
    summary.update(
        {"searcher": type(search).__name__, "search space": settings.space, "cv folds": settings.cv}
    )
    started = time.monotonic()
    stopped = run_search(search, X_train, y_train, settings, budget, records, logger)
    summary["search time (s)"] = round(time.monotonic() - started, 1)
    chosen = _results_and_best(search, stopped, settings, estimator, searched, records)
    if chosen is None:
        print(
            f"Stopped ({stopped}) before any configuration finished all {settings.cv} folds; "
            f"the finished fits are kept in {fits} for --resume."
        )
        return STOPPED
    results, best_params = chosen
    if settings.rung_search:
        summary["best chosen at"] = budget_note(best_params.get("epochs"), settings.max_epochs)
    plan = _refit_plan(settings, budget, estimator, best_params, records, longest)
    finish = functools.partial(
        _refit_and_write,
        settings,
        plan,
        results,
        best_params,
        (X_train, y_train),
        (X_test, y_test),
        summary,
        searched,
        data.label_names,
    )
    # a stop can land inside TensorFlow and leave this thread's state half-changed: refit elsewhere
    return in_fresh_thread(finish) if stopped else finish()


def run_search(search, X, y, settings, budget, records, logger=None):
    """Fit the search in its share of the time limit (longer, into the refit's reserve,
    while no configuration has finished), with a progress bar and ``logger`` listening,
    the fits of a lost worker process run again; the reason it stopped early, or None
    when it finished."""
    from ..search.progress import progress_bar
    from ..search.recovery import lost_workers_retried

    bar = progress_bar(desc=f"{settings.searcher} search", disable=not settings.progress)
    listeners = [bar.callback] if settings.progress else []
    listeners += [logger] if logger is not None else []
    if listeners and settings.searcher not in OUR_SEARCHERS:  # ours report to them unasked
        search.set_callbacks(*listeners)  # scikit-learn's callbacks, for its and skopt's
    limit = budget.search_seconds()
    reason = None
    if limit:
        reason = f"time limit of {settings.time_limit:g} s, {limit:.0f} s of it for the search"

    def finished():  # any configuration through every fold: the search has something to give
        return bool(partial_results(records, settings.cv)["params"])

    grace = Grace(budget.grace_seconds(), finished)
    try:
        with stop_on_signals(limit, reason, grace), bar, lost_workers_retried():
            search.fit(X, y)  # a dead worker's fits run again
    except StopSearch as stop:
        stop_worker_processes()
        return stop.reason
    except KeyboardInterrupt:  # raised in a worker process, before our handler was in place
        stop_worker_processes()
        return "interrupted"
    return None


def _results_and_best(search, stopped, settings, estimator, searched, records):
    """``(results, best parameters)``: the search's own, or, for a stopped search, those
    of its finished fits' records; None when no configuration finished every fold."""
    if not stopped:
        return search.cv_results_, search.best_params_
    results = partial_results(records, settings.cv)
    if not results["params"]:
        return None
    from ..search.starting import own_configuration

    best = results["params"][
        best_of_stopped(results, settings, own_configuration(estimator, searched))
    ]
    # a record holds every parameter of its fit, some set by the search for its rungs
    # (lr_schedule_epochs); the refit takes the searched ones and the epochs
    best = {name: value for name, value in best.items() if name in searched or name == "epochs"}
    print(f"Stopped ({stopped}); the best of {len(results['params'])} finished configurations:")
    return results, best


def best_of_stopped(results, settings, own):
    """The row of a stopped search's ``results`` its searcher would choose
    (``best_at_largest_budget``: at the largest epochs that finished). A rung searcher
    stopped before any promotion keeps its starting point, the rows with the estimator's
    ``own`` configuration, and says so."""
    budgets = [params.get("epochs", 0) for params in results["params"]]
    scores = results["mean_test_score"]
    best = best_at_largest_budget(scores, budgets)
    if not settings.rung_search:
        return best
    starting = [
        all(params.get(name) == value for name, value in own.items())
        for params in results["params"]
    ]
    chosen = best_at_largest_budget(scores, budgets, top=settings.max_epochs, starting=starting)
    if chosen != best:
        print(
            f"Note: no candidate got past {budgets[chosen]} epochs in the time given, so the "
            "starting point (the default configuration) is kept: a first-rung score decides "
            "which candidate trains longer, not which replaces the default."
        )
    return chosen


def _refit_plan(settings, budget, estimator, best_params, records, longest):
    """``refit_within`` for the best, ready to call: its epochs by ``settings.refit_rule``,
    timed from the epoch seconds the search measured (shared cores scaled to one fit)."""
    seconds = epoch_seconds(records, best_params)  # measured while --n-jobs fits shared cores
    seconds = seconds and seconds / solo_speedup(settings.n_jobs)
    return functools.partial(
        refit_within,
        budget,
        estimator,
        best_params,
        cv=settings.cv,
        epoch_seconds=seconds,
        rule=settings.refit_rule,
        longest=longest,
        measure=bool(settings.time_limit),
    )


def _refit_and_write(
    settings, plan, results, best_params, train, test, summary, searched, label_names
):
    """Refit the best on ``train`` and write every output; the exit status."""
    best, summary["refit"] = plan(train, n_held_out=len(test[1]))
    print(f"Refit: {summary['refit']}.")
    if label_names:  # a .csv's label names name the columns (classes_) of the model
        best.classes_ = np.asarray(label_names)
    return write_outputs(
        settings.output, results, best_params, best, summary, train, test, searched
    )
