"""The plain files a run writes beside its report: ``cv_results.csv``, ``best_params.json``'s
values, and ``predictions.csv`` (one row per image; one column per class, or per label)."""

import csv
import json

import numpy as np


def json_default(value):
    """JSON for NumPy scalars (their Python value) and anything else (its ``str``)."""
    return value.item() if isinstance(value, np.generic) else str(value)


def csv_value(value):
    return value.item() if isinstance(value, np.generic) else value


def write_results_csv(path, results):
    """One row per candidate; ``params`` as JSON; masked arrays as plain values."""
    columns = [name for name in results if name != "params" and np.ndim(results[name]) == 1]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["params", *columns])
        for i, params in enumerate(results["params"]):
            row = [np.ma.getdata(results[name])[i] for name in columns]
            writer.writerow([json.dumps(params, default=json_default), *map(csv_value, row)])


def write_predictions(path, classes, proba, y=None):
    """``index, prediction[, label], proba_<class>...``; returns the predicted classes."""
    predicted = classes[np.argmax(proba, axis=1)]
    labelled = y is not None
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        label = ["label"] if labelled else []
        writer.writerow(["index", "prediction", *label, *(f"proba_{c}" for c in classes)])
        for i, (p, row) in enumerate(zip(predicted, proba, strict=False)):
            label = [csv_value(y[i])] if labelled else []
            writer.writerow([i, csv_value(p), *label, *(f"{v:.6g}" for v in row)])
    return predicted


def write_label_predictions(path, classes, proba, threshold, y=None):
    """Multi-label: per label a 0/1 ``prediction_<label>`` column (probability above
    ``threshold``), the file's ``label_<label>`` column when it has labels, and
    ``proba_<label>``; returns the 0/1 predictions."""
    predicted = (proba > threshold).astype(int)
    names, labelled = [str(c) for c in classes], y is not None
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "index",
                *(f"prediction_{c}" for c in names),
                *(f"label_{c}" for c in names if labelled),
                *(f"proba_{c}" for c in names),
            ]
        )
        for i, row in enumerate(proba):
            labels = np.asarray(y[i]).astype(int).tolist() if labelled else []
            writer.writerow([i, *predicted[i].tolist(), *labels, *(f"{v:.6g}" for v in row)])
    return predicted
