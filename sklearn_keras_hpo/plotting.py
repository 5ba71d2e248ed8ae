"""Figures: augmentation previews, learning-rate schedules, training curves.

Every function returns a matplotlib ``Figure`` and draws nothing on screen by
itself, so it works in scripts, notebooks and the CLI's report alike.
"""

import numpy as np

from .augmentation import make_batch_augmenter
from .schedules import learning_rates


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
        estimator._augmentation_settings(), channels=images.shape[-1], n_classes=2,
        seed=random_state,
    )  # fmt: skip
    labels = np.zeros(len(images), np.int32)
    versions = [augment(images, labels)[0].numpy() if augment else images for _ in range(n_versions)]
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
    panels = [name for name in ("loss", "accuracy", "mae") if name in history]
    panels += ["learning_rate"] if "learning_rate" in history else []
    figure, axes = _figure(1, len(panels), size=3.2)
    epochs = range(1, estimator.n_epochs_ + 1)
    for axis, name in zip(axes[0], panels):
        axis.plot(epochs, history[name], label="train" if name != "learning_rate" else "rate")
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], label="validation")
        if estimator.best_epoch_ and name != "learning_rate":
            axis.axvline(estimator.best_epoch_, color="grey", linestyle=":", label="best epoch")
        axis.set(xlabel="epoch", title=name.replace("_", " "))
        axis.legend(fontsize=7)
    return figure
