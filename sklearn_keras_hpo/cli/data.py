"""The images of a ``skhpo`` run: loaded, or listed for streaming, subset, split, counted.

A folder of class subfolders is either decoded at once or, above ``STREAM_ABOVE_BYTES`` of
decoded pixels (or with ``--stream always``), kept as file paths that the estimator decodes
per batch; the estimator then needs the image size and channels, which come back with the
data (``TuneData.stream_params``).
"""

from typing import NamedTuple

import numpy as np

STREAM_ABOVE_BYTES = 256 * 2**20  # decoded pixels of a folder above which tune streams its files


class TuneData(NamedTuple):
    """The images ``tune`` searches on, and what their loading found out.

    ``stream_params`` are the estimator parameters that streaming file paths needs
    (``image_size``, ``channels``; empty for decoded pixels); ``label_names`` are a
    multi-label .csv's label names (else None); ``summary`` describes the data for the
    report.
    """

    X: object
    y: object
    stream_params: dict
    label_names: list | None
    summary: dict


def load_images(source, require_labels):
    """Images (uint8 stays uint8: the estimator scales it per batch) and labels of a
    ``DataSource``; labels None where the source has none and ``require_labels`` is false."""
    from ..data.datasets import load_source

    return load_source(
        source.path,
        image_shape=source.image_shape,
        image_size=source.image_size,
        color_mode=source.color_mode,
        x_key=source.x_key,
        y_key=source.y_key,
        require_labels=require_labels,
    )


def load_tune_data(settings):
    """The images and labels ``tune`` searches on: ``--max-samples`` of them (a stratified
    subset), with the data summary the report shows."""
    folder = folder_data(settings.source, settings.stream)
    X, y, stream_params = folder or (*load_images(settings.source, require_labels=True), {})
    if settings.max_samples and settings.max_samples < len(X):
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(
            X,
            y,
            train_size=settings.max_samples,
            stratify=strata(y),
            random_state=settings.random_state,
        )
    if stream_params:
        shape = (*stream_params["image_size"], stream_params["channels"])
    else:
        shape = X.shape[1:]
    names = label_names(settings.source.path, y)
    summary = {
        "source": settings.source.path,
        "images": len(X),
        "image shape": shape,
        **label_counts(y, names),
    }
    return TuneData(X, y, stream_params, names, summary)


def folder_data(source, stream):
    """``(X, labels, estimator params)`` of a class-subfolder folder, or None for other
    sources: the file paths and the decoding settings when streaming (``stream`` "always",
    or "auto" above ``STREAM_ABOVE_BYTES``), else the pixels decoded in the folder's
    colour mode and no parameters."""
    from ..data.datasets import (
        file_image_size,
        folder_channels,
        is_class_folder,
        load_image_folder,
    )

    if source.path == "digits" or not is_class_folder(source.path):
        return None
    paths, labels = load_image_folder(source.path, lazy=True)
    channels = {"grayscale": 1, "rgb": 3}.get(source.color_mode) or folder_channels(paths[0])
    size = source.image_size or file_image_size(paths[0])
    decoded = len(paths) * size[0] * size[1] * channels
    if stream == "always" or (stream == "auto" and decoded > STREAM_ABOVE_BYTES):
        return paths, labels, {"image_size": size, "channels": channels}
    color_mode = "rgb" if channels == 3 else "grayscale"
    X, y = load_image_folder(source.path, size, color_mode=color_mode)
    return X, y, {}


def strata(y):
    """Stratify on the class; a multi-label y (2-D) is split shuffled, not by label combination."""
    return None if np.ndim(y) == 2 else y


def label_names(path, y):
    """A multi-label .csv's label names (its ``label_<name>`` columns), else None."""
    if np.ndim(y) != 2 or not str(path).lower().endswith(".csv"):
        return None
    from ..data.datasets import csv_label_names

    return csv_label_names(path)


def label_counts(y, names=None):
    """The classes and their images; for a multi-label y (an .npz's 2-D y, a .csv's
    ``label_<name>`` columns) the labels (``names``, else their column numbers) and the
    images that have each.

    >>> label_counts(np.array([0, 1, 1]))
    {'classes': {0: 1, 1: 2}}
    >>> label_counts(np.array([[1, 0], [1, 1]]), ["odd", "loop"])
    {'labels (multi-label: images with each)': {'odd': 2, 'loop': 1}}
    """
    if np.ndim(y) == 2:
        counts = dict(zip(names or range(y.shape[1]), y.sum(axis=0).tolist(), strict=False))
        return {"labels (multi-label: images with each)": counts}
    classes, counts = np.unique(y, return_counts=True)
    return {"classes": dict(zip(classes.tolist(), counts.tolist(), strict=False))}


def split(X, y, test_size, random_state):
    """``X_train, X_test, y_train, y_test``: a stratified held-out split, or none (empty
    test arrays) with ``test_size`` 0."""
    if not test_size:
        return X, X[:0], y, y[:0]
    from sklearn.model_selection import train_test_split

    return train_test_split(
        X, y, test_size=test_size, stratify=strata(y), random_state=random_state
    )
