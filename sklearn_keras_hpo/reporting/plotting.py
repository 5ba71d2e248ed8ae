"""Figures: augmentation previews, learning-rate schedules, training curves.

Every function returns a matplotlib ``Figure`` and draws nothing on screen by
itself, so it works in scripts, notebooks and the CLI's report alike.
"""

import numpy as np

from ..model.augmentation import make_batch_augmenter
from ..model.schedules import learning_rates


def _figure(n_rows, n_cols, size=1.6):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(n_cols * size, n_rows * size), layout="constrained")
    return figure, figure.subplots(n_rows, n_cols, squeeze=False)


def _show(axis, image):
    image = np.clip(image, 0.0, 1.0)
    axis.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
    axis.set_xticks([])
    axis.set_yticks([])


def plot_augmentations(images, estimator, *, n_images=6, n_versions=3, random_state=0):
    """Originals (first column) beside ``n_versions`` augmented versions of each.

    Parameters
    ----------
    images : ndarray of shape (n, h, w) or (n, h, w, c)
        Images in [0, 1] (uint8 is scaled).
    estimator : CNNClassifier or CNNRegressor
        Its augmentation parameters are previewed; it need not be fitted.
    n_images, n_versions : int
        Rows and augmented columns.
    random_state : int
        Seed of the preview.

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = np.asarray(images)[:n_images]
    images = images[..., None] if images.ndim == 3 else images
    images = images.astype(np.float32) / (255.0 if images.dtype == np.uint8 else 1.0)
    augment = make_batch_augmenter(
        estimator._augmentation_settings(images.shape[1:]),
        channels=images.shape[-1],
        n_classes=2,
        seed=random_state,
    )
    labels = np.zeros(len(images), np.int32)
    versions = [
        augment(images, labels)[0].numpy() if augment else images for _ in range(n_versions)
    ]
    figure, axes = _figure(len(images), n_versions + 1)
    for row, original in enumerate(images):
        _show(axes[row, 0], original)
        for column, version in enumerate(versions, start=1):
            _show(axes[row, column], version[row])
    axes[0, 0].set_title("original", fontsize=8)
    for column in range(1, n_versions + 1):
        axes[0, column].set_title(f"augmented {column}", fontsize=8)
    return figure


def plot_lr_schedule(schedule, learning_rate, *, epochs, **params):
    """Preview a schedule's learning rate per epoch, without training.

    Parameters
    ----------
    schedule : str
        A name from ``schedules.SCHEDULE_NAMES``.
    learning_rate : float
        Initial learning rate.
    epochs : int
        Epochs to show.
    **params
        ``decay``, ``step_size``, ``drop``, ``min_fraction``, ``power``,
        ``restart_epochs``, ``warmup_epochs`` as in ``schedules.schedule_function``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rates = learning_rates(schedule, learning_rate, epochs=epochs, **params)
    figure, axes = _figure(1, 1, size=4)
    axis = axes[0, 0]
    axis.plot(range(1, epochs + 1), rates, marker="o", markersize=3)
    axis.set(xlabel="epoch", ylabel="learning rate", title=schedule)
    return figure


def plot_history(estimator):
    """Loss, accuracy (train vs validation) and learning rate per epoch of a fitted estimator.

    Parameters
    ----------
    estimator : fitted CNNClassifier or CNNRegressor

    Returns
    -------
    matplotlib.figure.Figure
    """
    history = estimator.history_
    panels = [name for name in ("loss", "accuracy", "binary_accuracy", "mae") if name in history]
    panels += ["learning_rate"] if "learning_rate" in history else []
    from matplotlib.ticker import MaxNLocator

    figure, axes = _figure(1, len(panels), size=3.2)
    epochs = range(1, estimator.n_epochs_ + 1)
    for axis, name in zip(axes[0], panels, strict=False):
        axis.set(xlabel="epoch", title=name.replace("_", " "))
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        if name == "learning_rate":
            _plot_rates(axis, epochs, history[name])
            continue
        axis.plot(epochs, history[name], label="train")
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], label="validation")
        if estimator.best_epoch_:
            axis.axvline(estimator.best_epoch_, color="grey", linestyle=":", label="best epoch")
        axis.legend(fontsize=7)
    return figure


def _plot_rates(axis, epochs, rates):
    """A varying rate as a curve with plain tick labels; a constant one as its value
    (a flat line would get an offset axis such as ``1e-3 + 1e-11``)."""
    if np.allclose(rates, rates[0], rtol=1e-6, atol=0):
        axis.text(
            0.5,
            0.5,
            f"{rates[0]:.3g}\nconstant over {len(rates)} epochs",
            ha="center",
            va="center",
            fontsize=12,
            transform=axis.transAxes,
        )
        axis.set(xticks=[], yticks=[], xlabel="")
        return
    axis.plot(epochs, rates)
    axis.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3), useOffset=False)


# -- search results -----------------------------------------------------------------
def resource_column(results):
    """``(label, values)`` of the epochs each row trained for when they differ (Hyperband's
    and halving's rungs, or a searched ``epochs``), else None."""
    if "n_resources" in results:
        values = np.asarray(results["n_resources"])
    else:
        values = np.asarray([params.get("epochs") for params in results["params"]], dtype=object)
    if any(v is None for v in values) or len(set(values.tolist())) < 2:
        return None
    return "epochs", values.astype(float)


def _colours(results):
    """Per-row colours by epochs (a legend's worth of handles), or a single colour."""
    resource = resource_column(results)
    if resource is None:
        return ["C0"] * len(results["params"]), []
    label, values = resource
    levels = sorted(set(values.tolist()))
    palette = {level: f"C{i % 10}" for i, level in enumerate(levels)}
    handles = [(palette[level], f"{label} = {level:g}") for level in levels]
    return [palette[v] for v in values], handles


def _legend(figure, handles, lines=()):
    """One legend beside the panels (not over the points): a dot per colour, then ``lines``
    as ``(colour, text)`` drawn as lines."""
    from matplotlib.lines import Line2D

    artists = [Line2D([], [], color=colour) for colour, _ in lines]
    artists += [Line2D([], [], marker="o", linestyle="", color=colour) for colour, _ in handles]
    if artists:
        figure.legend(
            artists, [text for _, text in (*lines, *handles)], fontsize=7, loc="outside right upper"
        )


def _param_values(results, name):
    return [params.get(name) for params in results["params"]]


def _is_numeric(values):
    return all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        for v in values
    )


def plot_search_scores(results, searched):
    """Mean test score against each searched hyperparameter, one panel each, points
    coloured by the epochs they trained for when those differ (Hyperband, halving).

    Parameters
    ----------
    results : dict
        ``cv_results_`` (``params`` and ``mean_test_score`` are used).
    searched : list of str
        The hyperparameters to plot.

    Returns
    -------
    matplotlib.figure.Figure
    """
    scores = np.asarray(results["mean_test_score"], dtype=float)
    colours, handles = _colours(results)
    n_cols = min(4, len(searched))
    figure, axes = _figure(-(-len(searched) // n_cols), n_cols, size=3.0)
    for axis in axes.flat[len(searched) :]:
        axis.set_visible(False)
    for axis, name in zip(axes.flat, searched, strict=False):
        values = _param_values(results, name)
        if _is_numeric(values):
            axis.scatter(values, scores, s=14, c=colours)
            if min(values) > 0 and max(values) / min(values) > 50:
                axis.set_xscale("log")
        else:
            categories = sorted({str(v) for v in values})
            axis.scatter([categories.index(str(v)) for v in values], scores, s=14, c=colours)
            axis.set_xticks(range(len(categories)), categories, rotation=30, fontsize=7)
        axis.set(xlabel=name, ylabel="mean test score")
    _legend(figure, handles)
    return figure


def plot_optimisation_history(results):
    """Each configuration's score and the best score so far, against the fit index
    (``cv_results_`` order) and against the training time summed over fits.

    The time is ``(mean_fit_time + mean_score_time) * folds`` cumulated: the compute
    spent, which parallel workers spread over less wall time. Without fit times
    (a stopped search's partial results) only the first panel is drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    scores = np.asarray(results["mean_test_score"], dtype=float)
    best = np.fmax.accumulate(np.where(np.isfinite(scores), scores, -np.inf))
    best = np.where(np.isfinite(best), best, np.nan)
    times = _cumulative_times(results)
    colours, handles = _colours(results)
    panels = [("configuration (in the order evaluated)", np.arange(1, len(scores) + 1))]
    if times is not None:
        panels.append(("training time summed over fits (s)", times))
    figure, axes = _figure(1, len(panels), size=3.6)
    for axis, (label, x) in zip(axes[0], panels, strict=False):
        axis.scatter(x, scores, s=14, c=colours)
        axis.step(x, best, where="post", color="black")
        axis.set(xlabel=label, ylabel="mean test score")
    _legend(figure, handles, lines=[("black", "best so far")])
    return figure


def _cumulative_times(results):
    fit, score = (
        np.asarray(results.get(key, []), dtype=float)
        for key in ("mean_fit_time", "mean_score_time")
    )
    if len(fit) != len(results["params"]) or not np.isfinite(fit).all():
        return None
    score = score if len(score) == len(fit) and np.isfinite(score).all() else np.zeros_like(fit)
    folds = (
        sum(1 for key in results if key.startswith("split") and key.endswith("_test_score")) or 1
    )
    return np.cumsum((fit + score) * folds)


def parameter_importance(results, searched, *, min_rows=8, random_state=0):
    """How much of the score each searched parameter (and the epochs, when they differ)
    explains: the permutation importance of a random forest fitted to
    ``params -> mean_test_score`` (the mean drop in its R^2 when that column is shuffled).

    Returns ``{name: (mean, std)}`` sorted by importance, or a str saying why there is
    none (fewer than ``min_rows`` scored configurations, or nothing that varies).

    >>> results = {"params": [{"a": a, "b": b} for a in range(4) for b in "xy"],
    ...            "mean_test_score": [a / 4 for a in range(4) for b in "xy"]}
    >>> list(parameter_importance(results, ["a", "b"]))[0]
    'a'
    """
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    scores = np.asarray(results["mean_test_score"], dtype=float)
    keep = np.isfinite(scores)
    if keep.sum() < min_rows:
        return f"{int(keep.sum())} scored configurations; an estimate needs at least {min_rows}."
    columns = {name: _encode(_param_values(results, name)) for name in searched}
    resource = resource_column(results)
    if resource is not None and resource[0] not in columns:
        columns[resource[0]] = resource[1]
    columns = {name: values[keep] for name, values in columns.items() if len(set(values[keep])) > 1}
    if not columns:
        return "No searched parameter varies among the scored configurations."
    X = np.column_stack(list(columns.values()))
    forest = RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=random_state)
    forest.fit(X, scores[keep])
    found = permutation_importance(forest, X, scores[keep], n_repeats=20, random_state=random_state)
    pairs = zip(columns, found.importances_mean, found.importances_std, strict=False)
    return {name: (float(m), float(s)) for name, m, s in sorted(pairs, key=lambda p: -p[1])}


def _encode(values):
    """Numbers as they are; anything else (strings, booleans, None) as category codes."""
    if _is_numeric(values):
        return np.asarray(values, dtype=float)
    categories = sorted({str(v) for v in values})
    return np.asarray([categories.index(str(v)) for v in values], dtype=float)


def plot_parameter_importance(importance):
    """Horizontal bars of ``parameter_importance``'s result (mean +/- std)."""
    names = list(importance)[::-1]
    figure, axes = _figure(1, 1, size=1.0)
    figure.set_size_inches(5.0, 0.9 + 0.35 * len(names))
    axis = axes[0, 0]
    axis.barh(
        names, [importance[n][0] for n in names], xerr=[importance[n][1] for n in names], color="C0"
    )
    axis.set(xlabel="drop in the forest's R² when shuffled")
    return figure


def plot_confusion_matrix(y_true, y_pred, labels):
    """The confusion matrix with the class names on both axes (turned when long)."""
    from sklearn.metrics import ConfusionMatrixDisplay

    figure, axes = _figure(1, 1, size=min(8, 1.5 + 0.45 * len(labels)))
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=labels,
        display_labels=[str(c) for c in labels],
        colorbar=False,
        ax=axes[0, 0],
    )
    if max(len(str(c)) for c in labels) > 3:
        axes[0, 0].tick_params(axis="x", labelrotation=45)
    return figure
