"""MLflow: one parent run per search, one child run per candidate, per-epoch curves per fold.

Written with ``MlflowClient`` (no global active run is touched), one ``log_batch`` per
fit. A search with a ``checkpoint_dir`` is tagged with it: run again after a kill, it
logs into the same parent run, reusing the children there and skipping the points they
already have.
"""

import copy
import csv
import hashlib
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from .logger import missing_extra
from .records import SPACE_ATTRIBUTES, plain

MAX_PARAM_LENGTH = 6000
BATCH = {"params": 100, "metrics": 1000}  # MLflow's log_batch limits
RESUME_TAG, CANDIDATE_TAG, PARENT_TAG = "skhpo.resume", "skhpo.candidate", "mlflow.parentRunId"
SCORE_PREFIXES = ("mean_test_", "std_test_", "mean_train_", "std_train_", "mean_fit_time")


class _Child:
    def __init__(self, run_id, logged=None):
        self.run_id, self.logged = (
            run_id,
            logged,
        )  # logged: {key: steps}, None until read (resumed runs)


class MlflowWriter:
    """Writes one search at a time to ``experiment`` at ``tracking_uri``."""

    def __init__(self, tracking_uri, experiment, run_name):
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as error:
            raise missing_extra("mlflow", "tracking", "MLflow logging") from error
        self.client = MlflowClient(tracking_uri)
        self.experiment_id = _experiment_id(self.client, experiment)
        self.run_name, self.run_id, self.children, self.resumed = run_name, None, {}, False

    # -- the parent run ----------------------------------------------------------------
    def start(self, search, state):
        self.children, self.resumed = {}, False
        resume = _resume_tag(search)
        found = self._earlier_parent(resume) if resume else None
        if found is not None:
            self.run_id, self.resumed = found, True
            self.client.update_run(found, status="RUNNING")
            self.children = self._earlier_children(found)
            return
        tags = {RESUME_TAG: resume} if resume else {}
        run = self.client.create_run(
            self.experiment_id, run_name=self.run_name or type(search).__name__, tags=tags
        )
        self.run_id = run.info.run_id
        self._log_params(self.run_id, describe_search(search))

    def end(self, search, state, error):
        if self.run_id is None:
            return
        if getattr(search, "cv_results_", None) is not None and state is not None:
            self._log_cv_results(search.cv_results_, state)
        best = {}
        if getattr(search, "best_params_", None) is not None:
            best = {f"best.{k}": v for k, v in plain(search.best_params_).items()}
            self.client.set_tag(self.run_id, "best_params", _text(plain(search.best_params_)))
        score = getattr(search, "best_score_", None)
        metrics = (
            [("best_score", score)]
            if isinstance(score, (int, float)) and math.isfinite(score)
            else []
        )
        self._log(
            self.run_id, metrics=[(k, v, 0) for k, v in metrics], params=best, new_params_only=True
        )
        with tempfile.TemporaryDirectory(prefix="skhpo-mlflow-") as folder:
            self._log_artifacts(search, Path(folder))
        status = "FINISHED" if error is None else ("KILLED" if _is_interrupt(error) else "FAILED")
        self.client.set_terminated(self.run_id, status)

    def _log_artifacts(self, search, folder):
        if getattr(search, "cv_results_", None) is not None:
            write_cv_results(folder / "cv_results.csv", search.cv_results_)
            self.client.log_artifact(self.run_id, str(folder / "cv_results.csv"))
        best = _as_the_user_set_it(search, getattr(search, "best_estimator_", None))
        if best is None:
            return
        if hasattr(best, "save"):
            best.save(folder / "best_estimator")
            self.client.log_artifacts(self.run_id, str(folder / "best_estimator"), "best_estimator")
        else:
            import joblib

            joblib.dump(best, folder / "best_estimator.joblib")
            self.client.log_artifact(self.run_id, str(folder / "best_estimator.joblib"))

    def log_artifact(self, path, artifact_path=None):
        if self.run_id is None:
            raise ValueError(
                "No search has been logged in this block yet: there is no run to attach to."
            )
        log = self.client.log_artifacts if Path(path).is_dir() else self.client.log_artifact
        log(self.run_id, str(path), artifact_path)

    def close(self):
        pass

    # -- children ----------------------------------------------------------------------
    def log_fit(self, candidate, record, budget):
        child = self._child(candidate)
        fold, initial, n_epochs = record["fold"], record["initial_epoch"], record["epochs"]
        metrics = []
        for name, values in record["history"].items():
            offset = n_epochs - len(values)  # a history shorter than the epochs ends at the last
            key = f"fold_{fold}/{name}"
            metrics += [
                (key, value, offset + i)
                for i, value in enumerate(values)
                if value is not None
                and self._new_point(child, key, offset + i, offset + i >= initial)
            ]
        score = record["score"]
        if isinstance(score, (int, float)) and self._new_point(
            child, f"fold_{fold}/test_score", budget, False
        ):
            metrics.append((f"fold_{fold}/test_score", score, budget))
        self._log(child.run_id, metrics=metrics)

    def _new_point(self, child, key, step, trained_now):
        """Whether to log ``key`` at ``step``: epochs this fit trained always; others (a fit
        restored whole from its checkpoint) only when the run does not have them yet."""
        if child.logged is None:
            child.logged = self._logged_points(child.run_id)
        steps = child.logged.setdefault(key, set())
        new = trained_now or step not in steps
        steps.add(step)
        return new

    def _child(self, candidate):
        child = self.children.get(candidate.name)
        if child is None:
            tags = {PARENT_TAG: self.run_id, CANDIDATE_TAG: candidate.name}
            run = self.client.create_run(self.experiment_id, run_name=candidate.name, tags=tags)
            child = self.children[candidate.name] = _Child(run.info.run_id, logged={})
            self._log_params(child.run_id, candidate.params)
        return child

    def _log_cv_results(self, results, state):
        for i, params in enumerate(results["params"]):
            child = self._child(state.candidate(plain(params)))
            budget = state.budget(plain(params), _row_value(results, "n_resources", i))
            columns = [name for name in results if name.startswith(SCORE_PREFIXES)]
            points = [(name, float(results[name][i]), budget) for name in columns]
            self._log(
                child.run_id,
                metrics=[
                    (k, v, s)
                    for k, v, s in points
                    if math.isfinite(v) and self._new_point(child, k, s, False)
                ],
            )

    # -- resume --------------------------------------------------------------------------
    def _earlier_parent(self, resume):
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{RESUME_TAG}` = '{resume}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def _earlier_children(self, parent):
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{PARENT_TAG}` = '{parent}'",
            max_results=10000,
        )
        return {
            run.data.tags[CANDIDATE_TAG]: _Child(run.info.run_id)
            for run in runs
            if CANDIDATE_TAG in run.data.tags
        }

    def _logged_points(self, run_id):
        metrics = self.client.get_run(run_id).data.metrics
        return {
            key: {m.step for m in self.client.get_metric_history(run_id, key)} for key in metrics
        }

    # -- writing -------------------------------------------------------------------------
    def _log_params(self, run_id, params):
        self._log(
            run_id, params={name: value for name, value in params.items()}, new_params_only=True
        )

    def _log(self, run_id, metrics=(), params=None, new_params_only=False):
        from mlflow.entities import Metric, Param

        if params and new_params_only:
            have = self.client.get_run(run_id).data.params if self.resumed else {}
            params = {k: v for k, v in params.items() if k not in have}
        now = int(time.time() * 1000)
        metrics = [Metric(key, float(value), now, int(step)) for key, value, step in metrics]
        params = [Param(str(k), _text(v)) for k, v in (params or {}).items()]
        for start in range(0, len(metrics), BATCH["metrics"]):
            self.client.log_batch(run_id, metrics=metrics[start : start + BATCH["metrics"]])
        for start in range(0, len(params), BATCH["params"]):
            self.client.log_batch(run_id, params=params[start : start + BATCH["params"]])


def describe_search(search):
    """The parent run's parameters: searcher, space, cv, budget and seeds (every parameter
    of the search), and the estimator's parameters as ``estimator.<name>``."""
    params = search.get_params(deep=False)
    out = {"searcher": type(search).__name__, "estimator": type(params.get("estimator")).__name__}
    for name, value in params.items():
        if name in ("estimator", "log_to"):
            continue
        out["space" if name in SPACE_ATTRIBUTES else name] = plain(value)
    estimator = params.get("estimator")
    if hasattr(estimator, "get_params"):
        out.update(
            {f"estimator.{k}": plain(v) for k, v in estimator.get_params(deep=False).items()}
        )
    return out


def _as_the_user_set_it(search, best):
    """``best`` with the ``checkpoint_dir`` of the search's estimator (a rung search fits
    with a scratch directory of its own, removed after ``fit``)."""
    if not hasattr(best, "get_params") or "checkpoint_dir" not in best.get_params(deep=False):
        return best
    wanted = search.estimator.get_params(deep=False).get("checkpoint_dir")
    if best.get_params(deep=False)["checkpoint_dir"] == wanted:
        return best
    return copy.copy(best).set_params(
        checkpoint_dir=wanted
    )  # a shallow copy: the fitted model is shared


def write_cv_results(path, results):
    """``cv_results_`` as CSV: one row per candidate (and budget), one column per key."""
    names = list(results)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(names)
        for i in range(len(results["params"])):
            writer.writerow([_text(plain(_row_value(results, name, i))) for name in names])


def _row_value(results, name, i):
    column = results.get(name)
    if column is None:
        return None
    value = column[i]
    return None if value is np.ma.masked else value


def _text(value):
    text = value if isinstance(value, str) else json.dumps(value, default=repr)
    return text[:MAX_PARAM_LENGTH]


def _is_interrupt(error):
    return isinstance(error, KeyboardInterrupt) or type(error).__name__ in (
        "StopSearch",
        "SystemExit",
    )


def _resume_tag(search):
    """What names a resumable search: its class and checkpoint directory (None without one)."""
    directory = getattr(search, "checkpoint_dir", None)
    estimator = getattr(search, "estimator", None)
    if directory is None and hasattr(estimator, "get_params"):
        found = [v for k, v in estimator.get_params().items() if k.endswith("checkpoint_dir") and v]
        directory = found[0] if found else None
    if directory is None:
        return None
    name = f"{type(search).__name__}|{os.path.abspath(directory)}"
    return hashlib.blake2b(name.encode(), digest_size=16).hexdigest()


def _experiment_id(client, name):
    if name is None:
        return "0"  # MLflow's Default experiment
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else client.create_experiment(name)
