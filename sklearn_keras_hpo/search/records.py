"""The finished fits of a search, one JSON line each, written as they finish: what a stopped
search still knows (``partial_results``) and what each fit measured (``epoch_seconds``).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "fits.jsonl"
>>> lines = [{"params": {"dropout": 0.1}, "score": s, "epoch_seconds": 2.0} for s in (0.8, 0.9)]
>>> _ = path.write_text("".join(json.dumps(line) + "\\n" for line in lines) + '{"params": {"drop')
>>> partial_results(path, 2)["mean_test_score"], epoch_seconds(path, {"dropout": 0.1})
([0.8500000000000001], 2.0)
"""

import json
import math
from pathlib import Path

import numpy as np

from ..tracking.records import fit_record


class RecordingScorer:
    """Accuracy that also appends the record of each finished fit (``tracking.records``:
    parameters, score, seconds per epoch, epochs and per-epoch history) to a JSON-lines
    file, so a stopped search still knows what finished. Picklable for joblib workers."""

    def __init__(self, path):
        self.path = str(path)

    def __call__(self, estimator, X, y):
        from sklearn.metrics import accuracy_score

        score = float(accuracy_score(y, estimator.predict(X)))
        params = {k: v for k, v in estimator.get_params(deep=False).items() if jsonable(v)}
        record = {**fit_record(estimator, params, score=score), "n_test": len(y)}
        line = json.dumps(record, default=float) + "\n"
        with open(self.path, "a") as file:  # one short append: atomic on local filesystems
            file.write(line)
        return score


def jsonable(value):
    return value is None or isinstance(value, (bool, int, float, str, np.integer, np.floating))


def read_records(path):
    """The records of ``path`` (none when it does not exist), without a line cut by a kill."""
    if not Path(path).exists():
        return
    for line in Path(path).read_text().splitlines():
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


def partial_results(records, n_folds):
    """cv_results_-like columns of the configurations whose every fold finished."""
    by_config = {}
    for record in read_records(records):
        by_config.setdefault(json.dumps(record["params"], sort_keys=True), []).append(
            record["score"]
        )
    done = {key: scores[:n_folds] for key, scores in by_config.items() if len(scores) >= n_folds}
    params = [json.loads(key) for key in done]
    return {
        "params": params,
        "mean_test_score": [float(np.mean(s)) for s in done.values()],
        "std_test_score": [float(np.std(s)) for s in done.values()],
        "mean_fit_time": [math.nan] * len(params),
    }


def epoch_seconds(records, params):
    """Median seconds per epoch that the finished fits of ``params`` measured (those of
    every fit when none of its own says; None when none does)."""
    wanted = {name: value for name, value in params.items() if jsonable(value)}
    every = [r for r in read_records(records) if r.get("epoch_seconds")]
    own = [
        r for r in every if all(r["params"].get(name) == value for name, value in wanted.items())
    ]
    chosen = [r["epoch_seconds"] for r in own or every]
    return float(np.median(chosen)) if chosen else None
