"""``tune``: the model to keep from a time limit, as ``skhpo tune --time-limit`` makes it.

The run measures an epoch of the starting configuration, plans with
:func:`~sklearn_keras_hpo.time_limit.planner.plan_time_limit`, and then either trains the
starting configuration for the whole limit, or runs an :class:`AsyncHalvingSearchCV` in
its share (its own ``time_limit``) and trains the winner on from its checkpoint to the
planned length: the winner's training in the search is kept, not repeated. The final
training that has no checkpoint to continue stops at the deadline (``deadline_stop``).
"""

import tempfile
import time
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone

from .planner import TimePlan, plan_time_limit, validation_for
from .probe import measure_training

FINISH_SECONDS = 5.0  # kept at the end: saving the model and what the caller writes after


@dataclass
class TimedRun:
    """What :func:`tune` did: the fitted ``model``, the ``search`` (None without one), the
    :class:`~sklearn_keras_hpo.time_limit.planner.TimePlan`, the validation it used, and one
    line per step for the console and the report (``notes``)."""

    model: object
    search: object
    plan: TimePlan
    validation: str
    notes: list


def tune(
    X,
    y,
    *,
    time_limit,
    estimator=None,
    param_distributions=None,
    cv=None,
    scoring=None,
    n_jobs=None,
    sampler="random",
    random_state=0,
    checkpoint_dir=None,
):
    """Spend ``time_limit`` seconds on the model to keep, for images ``X`` and labels ``y``.

    Parameters
    ----------
    X, y : array-like
        The training images (as ``CNNClassifier.fit`` takes them) and labels.
    time_limit : float
        Seconds for the whole run: the probe, the search if any, the final training.
    estimator : CNNClassifier, default=None
        The starting configuration (``CNNClassifier(random_state=random_state)``).
    param_distributions : dict, default=None
        The search space; the default space for the images' shape and number (``auto_space``).
    cv : int, default=None
        Folds for the search; by default one stratified holdout of 10 % for 10,000 images
        or more, else 3 folds.
    scoring, n_jobs, sampler, random_state
        As for :class:`~sklearn_keras_hpo.AsyncHalvingSearchCV`.
    checkpoint_dir : str, default=None
        Where the search's fits keep their state (a temporary folder by default).

    Returns
    -------
    TimedRun

    Examples
    --------
    >>> from sklearn_keras_hpo.data.datasets import load_digits_images
    >>> from sklearn_keras_hpo import CNNClassifier
    >>> X, y = load_digits_images()
    >>> run = tune(X[:300], y[:300], time_limit=20, estimator=CNNClassifier(filters=4))
    >>> run.model.predict(X[300:303]).shape
    (3,)
    """
    started = time.monotonic()
    deadline = started + time_limit - FINISH_SECONDS
    estimator = clone(estimator) if estimator is not None else _default_estimator(random_state)
    y = np.asarray(y)
    splitter, n_splits, fraction, validation = validation_for(y, cv, random_state)
    cost = measure_training(estimator.set_params(validation_fraction=None), X, y)
    plan = plan_time_limit(
        epoch_seconds=cost.epoch,
        seconds_left=deadline - time.monotonic() - cost.fixed,
        train_fraction=fraction,
        n_splits=n_splits,
        fixed_seconds=cost.fixed,
    )
    notes = [plan.describe(estimator.get_params()["epochs"])]
    if not plan.search:
        model = _train_until(clone(estimator).set_params(epochs=plan.final_epochs), X, y, deadline)
        return TimedRun(model, None, plan, "none (no search)", notes)
    with tempfile.TemporaryDirectory(prefix="skhpo-tune-") as scratch:
        directory = checkpoint_dir or scratch
        search = _search(estimator, param_distributions, X, y, plan, directory).set_params(
            cv=splitter, scoring=scoring, n_jobs=n_jobs, sampler=sampler, random_state=random_state
        )
        try:
            search.fit(X, y)
        except ValueError as error:  # nothing finished: the starting configuration it is
            if "No candidate finished" not in str(error):
                raise  # a bad space or estimator is the user's to hear about
            notes.append(f"the search ended with nothing to give ({error})")
            model = _train_until(clone(estimator), X, y, deadline)
            return TimedRun(model, None, plan, validation, notes)
        # the continuation builds the model and loads the checkpoint first: the fixed cost
        model, note = _continue_best(search, X, y, splitter, plan, deadline - cost.fixed)
    model.set_params(checkpoint_dir=checkpoint_dir)  # not the scratch folder, now gone
    notes.append(note)
    return TimedRun(model, search, plan, validation, notes)


def _default_estimator(random_state):
    from ..estimators import CNNClassifier

    return CNNClassifier(random_state=random_state)


def _search(estimator, space, X, y, plan, directory):
    """The search of ``plan``: every candidate on the final model's schedule length."""
    from ..search.asha import AsyncHalvingSearchCV
    from ..search.spaces import auto_space, search_space

    if space is None:
        specs = auto_space(_image_shape(X, estimator), len(y))
        specs.pop("epochs", None)  # the resource
        space = search_space(specs, "random")
    searched = estimator.set_params(
        lr_schedule_epochs=plan.final_epochs, checkpoint_dir=str(directory)
    )
    return AsyncHalvingSearchCV(
        searched,
        space,
        time_limit=plan.search_seconds,
        max_epochs=plan.max_epochs,
        factor=3,
        error_score=np.nan,
        refit=False,
    )


def _continue_best(search, X, y, splitter, plan, deadline):
    """The search's best, trained on from its checkpoint on the rows it trained on (its
    first fold) to ``plan.final_epochs``, or to as many as the time left affords: half the
    way planned from the probe, the rest from the pace of that half (each part continues
    the last one's checkpoint exactly, so the split changes nothing but the timing)."""
    rows, _ = next(splitter.split(X, y))
    best = clone(search.estimator).set_params(**search.best_params_)
    done = start = search.best_n_resources_
    pace = plan.epoch_seconds * len(rows) / len(y)  # seconds an epoch of the fold, probed
    for part in (2, 1):
        affordable = done + int(max(0.0, deadline - time.monotonic()) // pace)
        epochs = done + (min(plan.final_epochs, affordable) - done) // part
        if epochs > done:
            started = time.monotonic()
            best.set_params(epochs=epochs).fit(X[rows], y[rows])
            pace = (time.monotonic() - started) / (epochs - done)  # its fixed cost included
            done = epochs
    if done == start:  # no time to train on: the checkpoint as it is
        best.set_params(epochs=done).fit(X[rows], y[rows])
    return best, (
        f"the best of {len(search.cv_results_['params'])} configurations, chosen at "
        f"{start} epochs, trained on from its checkpoint to {done} epochs"
    )


def _train_until(estimator, X, y, deadline):
    """``estimator`` fitted on all of ``X``, stopped at ``deadline`` if it runs that long
    (the stopping callback is the fit's only: the model keeps the user's own)."""
    from ..training.deadline import deadline_stop

    callbacks = estimator.get_params().get("callbacks")
    checkpoint_dir = estimator.get_params().get("checkpoint_dir")
    stopped = [*(callbacks or []), deadline_stop(deadline)]
    estimator.set_params(callbacks=stopped, checkpoint_dir=None).fit(X, y)
    return estimator.set_params(callbacks=callbacks, checkpoint_dir=checkpoint_dir)


def _image_shape(X, estimator):
    shape = getattr(X, "shape", ())
    if len(shape) > 1:
        return tuple(shape[1:])
    return tuple(estimator.get_params().get("image_size") or (32, 32)) + (3,)
