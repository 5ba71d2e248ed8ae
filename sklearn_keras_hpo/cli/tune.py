"""``skhpo tune``: load, split, search (or spend the time limit), write.

Without ``--time-limit`` the search runs to its end and the best is refitted on the whole
training set for ``--refit-epochs``. With ``--time-limit`` the run is ``time_limit``'s:
the limit is spent on the model kept (the starting configuration trained for the whole
limit, or a search in a share of it whose best trains on from its checkpoint), no refit.
Ctrl-C stops either and keeps every finished fit, whose records (``search.records``) then
give the results and the choice: the best fully cross-validated configuration at the
largest epochs that finished, as the searcher itself would choose, refitted.
"""

import time

import numpy as np

from ..data.rows import ImageRows
from ..search import best_at_largest_budget
from ..search.records import RecordingScorer, partial_results
from ..search.refit_rules import epochs_for_refit
from ..search.stopping import StopSearch, in_fresh_thread, stop_on_signals, stop_worker_processes
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
    started = time.monotonic()
    data = load_tune_data(settings)
    X = ImageRows(data.X) if data.X.ndim > 1 else data.X  # the split and folds copy no images
    X_train, X_test, y_train, y_test = split(X, data.y, settings.test_size, settings.random_state)
    train = (X_train, y_train)
    summary = {**data.summary, "training images": len(X_train), "held-out images": len(y_test)}
    fits, records = prepare_output(settings)
    estimator = base_estimator(settings, fits, data.stream_params)
    search, searched = make_search(
        settings, estimator, RecordingScorer(records), summary["image shape"], len(X_train)
    )
    summary.update({"searcher": type(search).__name__, "search space": settings.space})
    if settings.time_limit:
        seconds = settings.time_limit - (time.monotonic() - started)
        stopped, timed = run_timed(search, train, seconds, settings, logger)
    else:
        summary["cv folds"] = settings.cv
        stopped, timed = run_search(search, train, settings, logger), None
    summary["search time (s)"] = round(time.monotonic() - started, 1)
    if timed is not None:
        chosen = _timed_choice(timed, summary)
    elif not stopped:
        chosen = search.cv_results_, search.best_params_, None
    else:
        folds = settings.cv
        if settings.time_limit:
            from ..time_limit import validation_for

            folds = validation_for(y_train, settings.cv_asked)[1]
        chosen = _stopped_choice(stopped, settings, estimator, searched, records, folds)
        if chosen is None:
            print(
                f"Stopped ({stopped}) before any configuration finished all {folds} "
                f"folds; the finished fits are kept in {fits} for --resume."
            )
            return STOPPED
    results, best_params, model = chosen
    if settings.rung_search and timed is None:
        summary["best chosen at"] = budget_note(best_params.get("epochs"), settings.max_epochs)

    def finish():
        best = model or _refit(settings, estimator, best_params, train, summary)
        if data.label_names:  # a .csv's label names name the columns (classes_) of the model
            best.classes_ = np.asarray(data.label_names)
        test = (X_test, y_test)
        return write_outputs(
            settings.output, results, best_params, best, summary, train, test, searched
        )

    # a stop can land inside TensorFlow and leave this thread's state half-changed
    return in_fresh_thread(finish) if stopped else finish()


def run_timed(search, train, seconds, settings, logger=None):
    """``(stopped, TimedRun)``: ``time_limit.tune`` in ``seconds``, starting from the
    search's estimator over its space; ``("interrupted", None)`` on Ctrl-C."""
    from ..time_limit import tune as timed_tune

    try:
        with _listening(search, settings, logger):
            return None, timed_tune(
                *train,
                time_limit=seconds,
                estimator=search.estimator,
                param_distributions=search.param_distributions,
                cv=settings.cv_asked,
                scoring=search.scoring,
                n_jobs=settings.n_jobs,
                sampler=settings.sampler,
                random_state=settings.random_state,
                checkpoint_dir=search.estimator.get_params()["checkpoint_dir"],
            )
    except (StopSearch, KeyboardInterrupt):
        stop_worker_processes()
        return "interrupted", None


def run_search(search, train, settings, logger=None):
    """Fit the search, with a progress bar and ``logger`` listening, the fits of a lost
    worker process run again; "interrupted" when Ctrl-C stopped it, else None."""
    try:
        with _listening(search, settings, logger):
            search.fit(*train)  # a dead worker's fits run again
    except (StopSearch, KeyboardInterrupt):  # KeyboardInterrupt: raised in a worker process
        stop_worker_processes()
        return "interrupted"
    return None


def _listening(search, settings, logger):
    """Ctrl-C handled, a progress bar and ``logger`` listening, lost workers retried."""
    import contextlib

    from ..search.progress import progress_bar
    from ..search.recovery import lost_workers_retried

    bar = progress_bar(desc=f"{settings.searcher} search", disable=not settings.progress)
    listeners = [bar.callback] if settings.progress else []
    listeners += [logger] if logger is not None else []
    if listeners and settings.searcher not in OUR_SEARCHERS:  # ours report to them unasked
        search.set_callbacks(*listeners)  # scikit-learn's callbacks, for its and skopt's
    stack = contextlib.ExitStack()
    for context in (stop_on_signals(), bar, lost_workers_retried()):
        stack.enter_context(context)
    return stack


def _timed_choice(timed, summary):
    """``(results, best parameters, model)`` of a time-limited run, its plan in the summary."""
    for note in timed.notes:
        print(f"Time limit: {note}.")
    summary["time-limit plan"] = "; ".join(timed.notes)
    summary["validation"] = timed.validation
    summary["final model"] = f"{timed.model.get_params()['epochs']} epochs, no refit"
    if timed.search is None:
        return {"params": []}, {}, timed.model
    search = timed.search
    best = {**search.best_params_, "epochs": timed.model.get_params()["epochs"]}
    return search.cv_results_, best, timed.model


def _stopped_choice(stopped, settings, estimator, searched, records, folds):
    """``(results, best parameters, None)`` of a stopped search, from its finished fits'
    records; None when no configuration finished all its ``folds``."""
    results = partial_results(records, folds)
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
    return results, best, None


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


def _refit(settings, estimator, best_params, train, summary):
    """The best refitted on all of ``train`` for ``--refit-epochs``; said in the summary."""
    from sklearn.base import clone

    searched = best_params.get("epochs", estimator.get_params()["epochs"])
    epochs = epochs_for_refit(settings.refit_rule, searched, (settings.cv - 1) / settings.cv)
    best_params = {name: value for name, value in best_params.items() if name != "epochs"}
    best = clone(estimator).set_params(**best_params, epochs=epochs).fit(*train)
    summary["refit"] = f"on the whole training set for {epochs} epochs"
    print(f"Refit: {summary['refit']}.")
    return best
