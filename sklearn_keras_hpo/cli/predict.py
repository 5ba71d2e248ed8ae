"""``skhpo predict MODEL_DIR DATA -o predictions.csv``: one row per image.

DATA need not have labels (an .npz without a label array, a .csv of pixel columns only, a
folder of image files); files are read at the model's own image size and channels unless
``--image-size``/``--color-mode`` say otherwise. Where DATA has labels, the accuracy
against them is printed too.
"""

import dataclasses

import numpy as np

from ..reporting.files import write_label_predictions, write_predictions
from .data import load_images
from .settings import PredictSettings


def run_predict(args):
    """``predict`` for parsed arguments: write the predictions; the exit status."""
    from ..estimators import load

    settings = PredictSettings.from_args(args)
    estimator = load(settings.model_dir, trusted=settings.trusted)
    X, y = load_images(at_model_shape(settings.source, estimator), require_labels=False)
    proba = estimator.predict_proba(X)
    if getattr(estimator, "target_type_", None) == "multilabel-indicator":
        return _write_label_predictions(settings.output, estimator, proba, y)
    predicted = write_predictions(settings.output, estimator.classes_, proba, y)
    accuracy = ""
    if y is not None:
        accuracy = f"; accuracy against the file's labels: {float(np.mean(predicted == y)):.4f}"
    print(f"Wrote {len(X)} predictions to {settings.output}{accuracy}")
    return 0


def at_model_shape(source, estimator):
    """``source`` read at the model's own image size and channels where it names none."""
    height, width, *channels = estimator.image_shape_
    return dataclasses.replace(
        source,
        image_size=source.image_size or (height, width),
        color_mode=source.color_mode or ("rgb" if channels == [3] else "grayscale"),
    )


def _write_label_predictions(output, estimator, proba, y):
    """A multi-label model's predictions: one 0/1 column per label; the subset accuracy
    against the file's labels where it has them."""
    predicted = write_label_predictions(output, estimator.classes_, proba, estimator.threshold, y)
    subset = ""
    if y is not None:
        subset = f"; subset accuracy: {float(np.mean((predicted == y).all(axis=1))):.4f}"
    n_labels = len(estimator.classes_)
    print(f"Wrote {len(proba)} predictions ({n_labels} labels each) to {output}{subset}")
    return 0
