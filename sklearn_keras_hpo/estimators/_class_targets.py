"""The classifier's targets, for the shared fit of ``_BaseCNN``: class labels, one-hot rows
or a multi-label 0/1 matrix encoded for Keras, class weights, the stratified validation
split, and the output, losses and metrics that go with them.

A 0/1 matrix whose every row holds exactly one 1 (``keras.utils.to_categorical(y)``) is
one-hot multiclass, as scikeras reads it: softmax over its columns, ``classes_`` the column
indices, and ``predict`` returning one-hot rows. Any other 0/1 matrix is multi-label.
"""

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.preprocessing import FunctionTransformer, LabelEncoder
from sklearn.utils.class_weight import compute_class_weight

from . import _multilabel, _planning
from ._targets import EncodedTargets
from ._validation import check_class_labels

ONE_HOT = "multiclass-onehot"  # scikeras's name for y as one-hot rows


class ClassTargets:
    """``CNNClassifier``'s side of the hooks ``_BaseCNN`` calls with the targets (a mixin
    placed before ``_BaseCNN``)."""

    _numeric_targets = False

    def _is_multilabel(self):
        """Whether the fitted estimator was fitted on a multi-label 0/1 matrix."""
        return getattr(self, "target_type_", None) == _multilabel.TARGET_TYPE

    def _metrics(self, targets):
        return ["binary_accuracy"] if targets.multilabel else ["accuracy"]

    def _output_activation(self, targets):
        return "sigmoid" if targets.multilabel else "softmax"

    def _encode_targets(self, y, classes=None, reset=True):
        if reset:
            attributes = self._learned_classes(y, classes)
            classes, kind = attributes["classes_"], attributes["target_type_"]
            encoder = attributes["_label_encoder"]
        else:  # a fit that continues the fitted model keeps its classes
            attributes, classes, kind = {}, self.classes_, self.target_type_
            encoder = self.target_encoder_  # a loaded estimator's is rebuilt
        name = type(self).__name__
        if kind == ONE_HOT:
            values = one_hot_indices(name, y, len(classes))
            return EncodedTargets(values, 1, kind, classes, encoder, attributes)
        if kind == _multilabel.TARGET_TYPE:
            _multilabel.check_same_labels(name, y, classes)
            values = _multilabel.check_label_matrix(name, y).astype(np.float32)
            return EncodedTargets(values, len(classes), kind, classes, encoder, attributes)
        if y.ndim != 1:
            raise ValueError(
                f"{name} was fitted on 1-D class labels; it got a 2-D y of shape {y.shape}."
            )
        unknown = np.setdiff1d(np.unique(y), classes)
        if unknown.size:
            raise ValueError(
                f"y holds label(s) {unknown.tolist()} that {name} was not "
                f"fitted on (classes {classes.tolist()}); pass every class in "
                "classes= to the first partial_fit."
            )
        values = encoder.transform(y).astype(np.int32)
        return EncodedTargets(values, 1, kind, classes, encoder, attributes)

    def _learned_classes(self, y, classes):
        """The fitted attributes of a fresh fit on ``y``: ``classes_`` (``classes`` where
        given), ``target_type_``, and the encoder of the labels (``predict`` of a
        multi-label fit also needs the dtype of y)."""
        name = type(self).__name__
        if y.ndim == 2:
            Y = _multilabel.check_label_matrix(name, y)
            if (Y.sum(axis=1) == 1).all() and classes is None:
                return {
                    "classes_": np.arange(Y.shape[1]),
                    "target_type_": ONE_HOT,
                    "_label_dtype": Y.dtype.str,
                    "_label_encoder": FunctionTransformer(),
                }
            return {
                "classes_": _multilabel.column_labels(name, classes, Y.shape[1]),
                "target_type_": _multilabel.TARGET_TYPE,
                "_label_dtype": Y.dtype.str,
                "_label_encoder": FunctionTransformer(),
            }
        found = check_class_labels(self, y if classes is None else np.asarray(classes))
        return {
            "classes_": found,
            "target_type_": "binary" if len(found) <= 2 else "multiclass",
            "_label_encoder": LabelEncoder().fit(found),
        }

    def _training_weights(self, targets, sample_weight):
        if targets.multilabel:  # per-label weights act in the loss (see _output_losses)
            return sample_weight
        if self.class_weight is None:
            return sample_weight
        if self.class_weight == "balanced":
            per_class = compute_class_weight(
                "balanced", classes=np.arange(len(targets.classes)), y=targets.values
            )
        else:
            per_class = self._class_weight_by_index(targets.classes)
        return sample_weight * per_class[targets.values]

    def _class_weight_by_index(self, classes):
        unknown = set(self.class_weight) - set(classes.tolist())
        if unknown:
            raise ValueError(
                f"class_weight names label(s) {sorted(unknown, key=str)} that are not in y; "
                f"the classes are {classes.tolist()}."
            )
        return np.array([self.class_weight.get(c, 1.0) for c in classes.tolist()], float)

    def _validation_splitter(self, fraction, seed, targets):
        if targets.multilabel:
            return _multilabel.validation_splitter(fraction, seed)
        return StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)

    def _output_losses(self, params, targets):
        """Output width -> default loss: one unit per class, or 1 sigmoid unit for two;
        one sigmoid unit per label for multi-label y."""
        n_classes = len(targets.classes)
        if targets.multilabel:
            return {n_classes: self._multilabel_loss(params, targets)}
        if _planning.uses_label_mixing(params):
            return {n_classes: "categorical_crossentropy"}
        binary = {1: "binary_crossentropy"} if n_classes == 2 else {}
        return {n_classes: "sparse_categorical_crossentropy", **binary}

    def _multilabel_loss(self, params, targets):
        """Binary cross-entropy, weighted per label by ``class_weight`` where it is set."""
        weights = _multilabel.loss_weights(self.class_weight, targets.classes, targets.values)
        if weights is None:
            return "binary_crossentropy"
        if params["loss"] is not None:
            raise ValueError(
                f"class_weight={self.class_weight!r} with multi-label y weighs the default loss "
                f"per label; it cannot weigh loss={params['loss']!r}: drop one of the two."
            )
        from ..model.losses import label_weighted_binary_crossentropy

        return label_weighted_binary_crossentropy(*weights)

    def _target_metadata(self, targets):
        return {
            "n_outputs": targets.n_outputs,
            "classes": targets.classes,
            "target_encoder": targets.encoder,
            "target_type": targets.target_type,
        }

    def _n_classes(self, targets):
        """Classes for one-hot targets; None for multi-label y (its rows are the targets)."""
        return None if targets.multilabel else len(targets.classes)


def one_hot_indices(name, y, n_columns):
    """The class index of each one-hot row of ``y``, or a ``ValueError`` naming the rows
    that are not one-hot."""
    Y = np.asarray(y)
    if Y.ndim != 2 or Y.shape[1] != n_columns:
        raise ValueError(
            f"{name} was fitted on one-hot rows of {n_columns} columns; it got y of shape "
            f"{Y.shape}."
        )
    bad = np.flatnonzero((Y != 0).sum(axis=1) != 1)
    if bad.size:
        raise ValueError(
            f"{name} was fitted on one-hot rows (exactly one 1 each); rows {bad[:5].tolist()} "
            "of y are not."
        )
    return Y.argmax(axis=1).astype(np.int32)
