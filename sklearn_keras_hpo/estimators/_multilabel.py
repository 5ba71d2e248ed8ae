"""Multi-label targets of ``CNNClassifier``: y as an ``(n, L)`` 0/1 indicator matrix.

The model gets one sigmoid unit per label and binary cross-entropy; ``classes_``
names the columns (``arange(L)``, or a DataFrame's column labels); predictions are
the indicator matrix at ``threshold``. Pure functions of their arguments.
"""

import numpy as np
from sklearn.model_selection import ShuffleSplit
from sklearn.utils.multiclass import type_of_target

TARGET_TYPE = "multilabel-indicator"
SUPPORTED = (
    "y as class labels: 1-D (binary or multiclass), or a 2-D 0/1 indicator matrix with one column "
    "per label (multi-label, e.g. from sklearn.preprocessing.MultiLabelBinarizer)"
)


def label_columns(y):
    """The column labels of a 2-D ``y`` that has them (a pandas DataFrame of two or more
    columns), else None."""
    columns = getattr(y, "columns", None)
    return None if columns is None or len(columns) < 2 else np.asarray(columns)


def check_label_matrix(name, y):
    """``y`` (2-D, already through sklearn's checks) as a 0/1 indicator matrix, or a
    ``ValueError`` that says what is supported."""
    kind = type_of_target(y)
    values = np.unique(np.asarray(y))
    if kind != TARGET_TYPE or not np.isin(values, [0, 1]).all():
        shown = values[:6].tolist() + (["..."] if len(values) > 6 else [])
        raise ValueError(
            f"{name} got a 2-D y of type {kind!r} (values {shown}), but it supports {SUPPORTED}. "
            "For several multiclass outputs fit one classifier per column, e.g. "
            f"sklearn.multioutput.MultiOutputClassifier({name}(...))."
        )
    return np.asarray(y)


def column_labels(name, classes, n_labels):
    """``classes_`` of a label matrix of ``n_labels`` columns: ``classes`` (the column
    labels given) checked, or ``arange(n_labels)``."""
    if classes is None:
        return np.arange(n_labels)
    classes = np.asarray(classes)
    if classes.ndim != 1 or len(classes) != n_labels or len(np.unique(classes)) != n_labels:
        raise ValueError(
            f"{name} got {n_labels} label columns in y but classes={classes.tolist()}: multi-label "
            f"classes name the columns of y, {n_labels} distinct labels in column order."
        )
    return classes


def check_same_labels(name, y, classes):
    """A later fit (``partial_fit``, warm start) of a multi-label model needs the same columns."""
    if y.ndim != 2 or y.shape[1] != len(classes):
        got = f"a 2-D y of {y.shape[1]} columns" if y.ndim == 2 else "a 1-D y"
        raise ValueError(
            f"{name} was fitted on multi-label y of {len(classes)} columns "
            f"({classes.tolist()}); it got {got}."
        )


def loss_weights(class_weight, classes, Y):
    """``(positive, negative)`` loss weights per label from ``class_weight``, or None.

    "balanced" weighs each label as ``compute_class_weight("balanced")`` does its
    column: ``n / (2 * positives)`` where it is on and ``n / (2 * negatives)`` where it
    is off (a side with no samples counts as one). A dict maps labels of ``classes``
    to the weight of their positives (negatives weigh 1; labels not named, 1).
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, str):  # "balanced" (the constraints allow no other string)
        n = len(Y)
        positives = np.asarray(Y, dtype=float).sum(axis=0)
        positive = n / (2 * np.maximum(positives, 1))
        negative = n / (2 * np.maximum(n - positives, 1))
        return positive.tolist(), negative.tolist()
    unknown = set(class_weight) - set(classes.tolist())
    if unknown:
        raise ValueError(
            f"class_weight names label(s) {sorted(unknown, key=str)} that are not columns of the "
            f"multi-label y; the labels are {classes.tolist()} (weights of their positive samples)."
        )
    return [float(class_weight.get(c, 1.0)) for c in classes.tolist()], [1.0] * len(classes)


def validation_splitter(fraction, seed):
    """One shuffled split; iteratively stratified (each label's share kept) when the
    optional ``iterative-stratification`` package is installed. Never stratified on the
    label combinations, which are mostly too rare to split."""
    try:
        from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit
    except ImportError:
        return ShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    return MultilabelStratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)


def indicator(proba, threshold, dtype):
    """The 0/1 matrix of labels whose probability is above ``threshold``, in y's dtype."""
    return (proba > threshold).astype(dtype)
