"""The CLI's ``report.html``: one self-contained page (figures inline as PNG, no scripts).

Sections: the data, the top configurations (mean +/- std score, fit time), the best
model's training curves and learning rate, the confusion matrix and per-class
precision/recall on the held-out split, an augmentation preview, and the score
against each searched hyperparameter.

Examples
--------
>>> from sklearn_keras_hpo.report import results_table
>>> results = {"params": [{"dropout": 0.0}, {"dropout": 0.2}], "mean_test_score": [0.8, 0.9],
...            "std_test_score": [0.01, 0.02], "mean_fit_time": [1.0, 1.1]}
>>> print(results_table(results, top=1).count("<tr>"))
2
"""

import base64
import html
import io
import json
import math

import numpy as np

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f2f2f2; } img { max-width: 100%; } .note { color: #666; }
"""


def build_report(*, title, data_summary, results, best_estimator, X_test, y_test, X_preview, searched):
    """The report page as a string.

    Parameters
    ----------
    title : str
    data_summary : dict
        Names to values shown in the data section.
    results : dict
        ``cv_results_`` or the same columns from a stopped search.
    best_estimator : fitted CNNClassifier
    X_test, y_test : arrays or None
        The held-out split (None when there is none).
    X_preview : array
        A few training images for the augmentation preview.
    searched : list of str
        The hyperparameters that were searched.
    """
    sections = [
        ("Data", _data_section(data_summary, X_preview)),
        ("Top configurations", results_table(results)),
        ("Best model: training curves and learning rate", _history_section(best_estimator)),
        ("Held-out split", _held_out_section(best_estimator, X_test, y_test)),
        ("Augmentation preview", _augmentation_section(best_estimator, X_preview)),
        ("Score against each hyperparameter", _scores_section(results, searched)),
    ]
    body = "".join(f"<h2>{html.escape(name)}</h2>\n{content}\n" for name, content in sections)
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head>\n<body><h1>{html.escape(title)}</h1>\n{body}</body></html>\n"
    )


def results_table(results, top=10):
    """HTML table of the ``top`` configurations by mean test score."""
    scores = np.asarray(results["mean_test_score"], dtype=float)
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")[:top]
    rows = ["<tr><th>rank</th><th>parameters</th><th>mean score &plusmn; std</th><th>mean fit time (s)</th></tr>"]
    for rank, i in enumerate(order, start=1):
        params = json.dumps(results["params"][i], default=str)
        fit_time = results.get("mean_fit_time", [math.nan] * len(scores))[i]
        rows.append(
            f"<tr><td>{rank}</td><td><code>{html.escape(params)}</code></td>"
            f"<td>{scores[i]:.4f} &plusmn; {float(results['std_test_score'][i]):.4f}</td><td>{fit_time:.2f}</td></tr>"
        )
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def figure_html(figure, alt):
    """An ``<img>`` with the figure inline as a base64 PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{encoded}'>"


def _data_section(summary, X_preview):
    from .plotting import _figure, _show

    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items())
    images = np.asarray(X_preview)[:8]
    figure, axes = _figure(1, len(images), size=1.2)
    for axis, image in zip(axes[0], images):
        _show(axis, image[..., None] if image.ndim == 2 else image)
    return f"<table>{rows}</table>\n{figure_html(figure, 'sample training images')}"


def _history_section(estimator):
    from .plotting import plot_history

    if not estimator.history_:
        return "<p class='note'>The best model's history is empty.</p>"
    return figure_html(plot_history(estimator), "training curves")


def _held_out_section(estimator, X_test, y_test):
    if X_test is None or len(X_test) == 0:
        return "<p class='note'>No held-out split (--test-size 0).</p>"
    from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score, precision_recall_fscore_support

    from .plotting import _figure

    predicted = estimator.predict(X_test)
    labels = estimator.classes_
    figure, axes = _figure(1, 1, size=min(8, 1.5 + 0.45 * len(labels)))
    ConfusionMatrixDisplay.from_predictions(y_test, predicted, labels=labels, colorbar=False, ax=axes[0, 0])
    precision, recall, f1, support = precision_recall_fscore_support(y_test, predicted, labels=labels, zero_division=0)
    rows = ["<tr><th>class</th><th>precision</th><th>recall</th><th>f1</th><th>support</th></tr>"]
    rows += [
        f"<tr><td>{html.escape(str(c))}</td><td>{p:.3f}</td><td>{r:.3f}</td><td>{f:.3f}</td><td>{s}</td></tr>"
        for c, p, r, f, s in zip(labels, precision, recall, f1, support)
    ]
    accuracy = accuracy_score(y_test, predicted)
    return (
        f"<p>Held-out accuracy: <b>{accuracy:.4f}</b> on {len(y_test)} images.</p>\n"
        f"{figure_html(figure, 'confusion matrix')}\n<table>{''.join(rows)}</table>"
    )


def _augmentation_section(estimator, X_preview):
    from .plotting import plot_augmentations

    settings = {k: v for k, v in estimator._augmentation_settings().items() if v}
    if not settings:
        return "<p class='note'>The best configuration uses no augmentation.</p>"
    note = f"<p>{html.escape(json.dumps(settings, default=str))}</p>"
    return note + figure_html(plot_augmentations(X_preview, estimator, n_images=4), "augmentation preview")


def _scores_section(results, searched):
    from .plotting import _figure

    if not searched:
        return "<p class='note'>No hyperparameters were searched.</p>"
    scores = np.asarray(results["mean_test_score"], dtype=float)
    n_cols = min(4, len(searched))
    figure, axes = _figure(math.ceil(len(searched) / n_cols), n_cols, size=3.0)
    for axis in axes.flat[len(searched):]:
        axis.set_visible(False)
    for axis, name in zip(axes.flat, searched):
        values = [params.get(name) for params in results["params"]]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            axis.scatter(values, scores, s=14)
            positive = min(values) > 0
            if positive and max(values) / min(values) > 50:
                axis.set_xscale("log")
        else:
            categories = sorted({str(v) for v in values})
            axis.scatter([categories.index(str(v)) for v in values], scores, s=14)
            axis.set_xticks(range(len(categories)), categories, rotation=30, fontsize=7)
        axis.set(xlabel=name, ylabel="mean test score")
    return figure_html(figure, "score against each hyperparameter")
