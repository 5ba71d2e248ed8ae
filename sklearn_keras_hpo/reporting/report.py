"""The CLI's ``report.html``: one self-contained page (figures inline as PNG, no scripts).

Sections: the data (sample images titled with their class), the top configurations
(mean +/- std score, fit time), the best model's training curves and learning rate
(flagged when its validation loss rose over its last epochs), the confusion matrix and
per-class precision/recall on the held-out split (class names where the data has them;
for a multi-label model, per-label precision/recall/F1 and the threshold instead),
an augmentation preview, the optimisation history (best score so far against fits and
training time), the parameters' importance, and the score against each searched
hyperparameter (coloured by the epochs each configuration trained for).

Examples
--------
>>> from sklearn_keras_hpo.reporting.report import results_table
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
.flag { background: #fff3cd; border-left: 4px solid #e0a800; padding: 0.5em 0.8em; }
"""


def build_report(
    *,
    title,
    data_summary,
    results,
    best_estimator,
    X_test,
    y_test,
    X_preview,
    searched,
    y_preview=None,
    baselines=None,
    held_out_accuracy=None,
):
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
    y_preview : array, optional
        The labels of ``X_preview``, shown above the sample images.
    baselines : dict or str, optional
        ``baselines.baseline_scores``: classic classifiers on the same split, or why none
        ran; shown beside the CNN's held-out accuracy.
    held_out_accuracy : float, optional
        ``best_estimator.score(X_test, y_test)`` where the caller has it already.
    """
    searched_any = bool(results.get("params"))
    sections = [
        ("Data", _data_section(data_summary, X_preview, _label_titles(y_preview, best_estimator))),
        ("Top configurations", results_table(results) if searched_any else NO_SEARCH),
        ("Best model: training curves and learning rate", _history_section(best_estimator)),
        ("Held-out split", _held_out_section(best_estimator, X_test, y_test)),
        *_baselines_section(baselines, held_out_accuracy, best_estimator, X_test, y_test),
        ("Augmentation preview", _augmentation_section(best_estimator, X_preview)),
    ]
    if searched_any:
        sections += [
            ("Optimisation history", _optimisation_section(results)),
            ("Parameter importance", _importance_section(results, searched)),
            ("Score against each hyperparameter", _scores_section(results, searched)),
        ]
    body = "".join(f"<h2>{html.escape(name)}</h2>\n{content}\n" for name, content in sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head>\n<body><h1>{html.escape(title)}</h1>\n{body}</body></html>\n"
    )


NO_SEARCH = (
    "<p>No search ran: the starting configuration trained for the whole time limit (the "
    "data section gives the plan and why).</p>"
)


def results_table(results, top=10):
    """HTML table of the ``top`` configurations by mean test score."""
    scores = np.asarray(results["mean_test_score"], dtype=float)
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")[:top]
    rows = [
        "<tr><th>rank</th><th>parameters</th><th>mean score &plusmn; std</th>"
        "<th>mean fit time (s)</th></tr>"
    ]
    for rank, i in enumerate(order, start=1):
        params = json.dumps(results["params"][i], default=str)
        fit_time = results.get("mean_fit_time", [math.nan] * len(scores))[i]
        rows.append(
            f"<tr><td>{rank}</td><td><code>{html.escape(params)}</code></td>"
            f"<td>{scores[i]:.4f} &plusmn; {float(results['std_test_score'][i]):.4f}</td>"
            f"<td>{fit_time:.2f}</td></tr>"
        )
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def figure_html(figure, alt):
    """An ``<img>`` with the figure inline as a base64 PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{encoded}'>"


def _data_section(summary, X_preview, y_preview):
    from .plotting import _figure, _show

    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in summary.items()
    )
    images = np.asarray(X_preview)[:8]
    figure, axes = _figure(1, len(images), size=1.2)
    for i, (axis, image) in enumerate(zip(axes[0], images, strict=False)):
        _show(axis, image[..., None] if image.ndim == 2 else image)
        if y_preview is not None:
            axis.set_title(str(y_preview[i]), fontsize=8)
    return f"<table>{rows}</table>\n{figure_html(figure, 'sample training images')}"


def _label_titles(y_preview, estimator):
    """The preview's titles: the class, or a multi-label row's labels that are on."""
    if y_preview is None or np.ndim(y_preview) != 2:
        return y_preview
    names = np.asarray(estimator.classes_)
    return [",".join(str(c) for c in names[np.asarray(row) == 1]) or "(none)" for row in y_preview]


def _history_section(estimator):
    from .plotting import plot_history

    if not estimator.history_:
        return "<p class='note'>The best model's history is empty.</p>"
    rise = validation_loss_rise(estimator.history_)
    flag = f"<p class='flag'><b>Overfitting:</b> {html.escape(rise)}</p>\n" if rise else ""
    return flag + figure_html(plot_history(estimator), "training curves")


def validation_loss_rise(history, *, after=2, tolerance=0.01):
    """A sentence when the validation loss ended more than ``tolerance`` (relative) above
    its minimum, reached at least ``after`` epochs before the last; else None.

    >>> print(validation_loss_rise({"val_loss": [1.0, 0.6, 0.5, 0.55, 0.62]}))
    The validation loss rose over the last 2 epochs, from 0.5 (epoch 3) to 0.62 (epoch 5):
    the model overfits; early_stopping=True, fewer epochs or more regularisation would help.
    >>> validation_loss_rise({"val_loss": [1.0, 0.6, 0.5, 0.49]}) is None
    True
    """
    losses = np.asarray(history.get("val_loss", []), dtype=float)
    if len(losses) < after + 1 or not np.isfinite(losses).all():
        return None
    best = int(np.argmin(losses))
    rose = len(losses) - 1 - best
    if rose < after or losses[-1] <= losses[best] + tolerance * abs(losses[best]):
        return None
    return (
        f"The validation loss rose over the last {rose} epochs, from {losses[best]:.4g} "
        f"(epoch {best + 1}) to {losses[-1]:.4g} (epoch {len(losses)}): the model overfits; "
        "early_stopping=True, fewer epochs or more regularisation would help."
    )


def _baselines_section(baselines, accuracy, estimator, X_test, y_test):
    """``[("Baselines", html)]`` where baselines were asked for, else nothing."""
    if baselines is None:
        return []
    from .baselines import baselines_html

    if accuracy is None and not isinstance(baselines, str):
        accuracy = float(estimator.score(X_test, y_test))
    return [("Baselines", baselines_html(baselines, accuracy or 0.0))]


def _held_out_section(estimator, X_test, y_test):
    if X_test is None or len(X_test) == 0:
        return "<p class='note'>No held-out split (--test-size 0).</p>"
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    from .plotting import plot_confusion_matrix

    if getattr(estimator, "target_type_", None) == "multilabel-indicator":
        return multilabel_table(estimator, X_test, y_test)
    predicted = estimator.predict(X_test)
    labels = estimator.classes_
    precision, recall, f1, support = precision_recall_fscore_support(
        y_test, predicted, labels=labels, zero_division=0
    )
    rows = ["<tr><th>class</th><th>precision</th><th>recall</th><th>f1</th><th>support</th></tr>"]
    rows += [
        f"<tr><td>{html.escape(str(c))}</td><td>{p:.3f}</td><td>{r:.3f}</td><td>{f:.3f}</td><td>{s}</td></tr>"
        for c, p, r, f, s in zip(labels, precision, recall, f1, support, strict=False)
    ]
    accuracy = accuracy_score(y_test, predicted)
    figure = plot_confusion_matrix(y_test, predicted, labels)
    return (
        f"<p>Held-out accuracy: <b>{accuracy:.4f}</b> on {len(y_test)} images.</p>\n"
        f"{figure_html(figure, 'confusion matrix')}\n<table>{''.join(rows)}</table>"
    )


def multilabel_table(estimator, X_test, y_test):
    """Held-out subset accuracy, micro/macro/samples F1 and per-label precision, recall,
    F1 and support of a multi-label estimator at its ``threshold`` (no confusion matrix:
    the labels are not exclusive)."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    y_test = np.asarray(y_test)
    predicted = estimator.predict(X_test)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_test, predicted, zero_division=0
    )
    rows = [
        "<tr><th>label</th><th>precision</th><th>recall</th><th>f1</th><th>support</th><th>predicted</th></tr>"
    ]
    rows += [
        f"<tr><td>{html.escape(str(c))}</td><td>{p:.3f}</td><td>{r:.3f}</td><td>{f:.3f}</td><td>{s}</td><td>{n}</td></tr>"
        for c, p, r, f, s, n in zip(
            estimator.classes_, precision, recall, f1, support, predicted.sum(axis=0), strict=False
        )
    ]
    averages = ", ".join(
        f"{average}-F1 <b>{f1_score(y_test, predicted, average=average, zero_division=0):.4f}</b>"
        for average in ("micro", "macro", "samples")
    )
    return (
        f"<p>Multi-label, {len(estimator.classes_)} labels; a label is predicted where its "
        f"probability is above the threshold <b>{estimator.threshold:g}</b>. Held-out subset "
        "accuracy (every label right): "
        f"<b>{accuracy_score(y_test, predicted):.4f}</b> on {len(y_test)} images; {averages}.</p>\n"
        f"<table>{''.join(rows)}</table>"
    )


def _augmentation_section(estimator, X_preview):
    from .plotting import plot_augmentations

    settings = {k: v for k, v in estimator._augmentation_settings().items() if v}
    if not settings:
        return "<p class='note'>The best configuration uses no augmentation.</p>"
    note = f"<p>{html.escape(json.dumps(settings, default=str))}</p>"
    return note + figure_html(
        plot_augmentations(X_preview, estimator, n_images=4), "augmentation preview"
    )


def _optimisation_section(results):
    from .plotting import plot_optimisation_history

    if len(results["params"]) < 2:
        return "<p class='note'>One configuration: no history to show.</p>"
    note = (
        "<p class='note'>Each configuration's mean cross-validated score and the best so far, "
        "in the order the search evaluated them and against the training time summed over all "
        "fits (parallel workers spread it over less wall time).</p>"
    )
    return note + figure_html(plot_optimisation_history(results), "optimisation history")


def _importance_section(results, searched):
    from .plotting import parameter_importance, plot_parameter_importance

    importance = parameter_importance(results, searched)
    if isinstance(importance, str):
        return f"<p class='note'>No estimate: {html.escape(importance)}</p>"
    note = (
        "<p class='note'>A random forest fitted to the configurations' scores; each bar is how "
        "much worse it predicts them when that parameter is shuffled (permutation importance): a "
        "rough "
        f"guide from {len(results['params'])} configurations, not a measurement.</p>"
    )
    return note + figure_html(plot_parameter_importance(importance), "parameter importance")


def _scores_section(results, searched):
    from .plotting import plot_search_scores, resource_column

    if not searched:
        return "<p class='note'>No hyperparameters were searched.</p>"
    note = ""
    if resource_column(results) is not None:
        note = (
            "<p class='note'>Coloured by the epochs each configuration trained for: a score "
            "after fewer epochs (a lower rung of Hyperband or halving) says less about the "
            "configuration.</p>"
        )
    return note + figure_html(
        plot_search_scores(results, searched), "score against each hyperparameter"
    )
