"""The classifier's targets, for the shared fit of ``_BaseCNN``: class labels or a
multi-label 0/1 matrix encoded for Keras, class weights, the stratified validation
split, and the output, losses and metrics that go with them."""

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.preprocessing import FunctionTransformer, LabelEncoder
from sklearn.utils.class_weight import compute_class_weight

from . import _multilabel, _planning
from ._validation import check_class_labels


class ClassTargets:
    """``CNNClassifier``'s side of the hooks ``_BaseCNN`` calls with the targets (a mixin
    placed before ``_BaseCNN``)."""

    def _is_multilabel(self):
        return getattr(self, "target_type_", None) == _multilabel.TARGET_TYPE

    @property
    def _metrics(self):
        return ["binary_accuracy"] if self._is_multilabel() else ["accuracy"]

    @property
    def _output_activation(self):
        return "sigmoid" if self._is_multilabel() else "softmax"

    def _encode_targets(self, y, classes=None, reset=True):
        name = type(self).__name__
        if reset and y.ndim == 2:
            Y = _multilabel.check_label_matrix(name, y)
            self.classes_ = _multilabel.column_labels(name, classes, Y.shape[1])
            self.target_type_, self._label_dtype = _multilabel.TARGET_TYPE, Y.dtype.str
            self._label_encoder = FunctionTransformer()
        elif reset:
            self.classes_ = check_class_labels(self, y if classes is None else np.asarray(classes))
            self.target_type_ = "binary" if len(self.classes_) <= 2 else "multiclass"
            self._label_encoder = LabelEncoder().fit(self.classes_)
        if self._is_multilabel():
            _multilabel.check_same_labels(name, y, self.classes_)
            return _multilabel.check_label_matrix(name, y).astype(np.float32)
        if y.ndim != 1:
            raise ValueError(
                f"{name} was fitted on 1-D class labels; it got a 2-D y of shape {y.shape}."
            )
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y holds label(s) {unknown.tolist()} that {name} was not "
                f"fitted on (classes {self.classes_.tolist()}); pass every class in "
                "classes= to the first partial_fit."
            )
        return self.target_encoder_.transform(y).astype(np.int32)  # a loaded estimator's is rebuilt

    def _training_weights(self, targets, sample_weight):
        if self._is_multilabel():  # per-label weights act in the loss (see _output_losses)
            self._loss_weights = _multilabel.loss_weights(self.class_weight, self.classes_, targets)
            return sample_weight
        if self.class_weight is None:
            return sample_weight
        if self.class_weight == "balanced":
            per_class = compute_class_weight(
                "balanced", classes=np.arange(len(self.classes_)), y=targets
            )
        else:
            per_class = self._class_weight_by_index()
        return sample_weight * per_class[targets]

    def _class_weight_by_index(self):
        unknown = set(self.class_weight) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(
                f"class_weight names label(s) {sorted(unknown, key=str)} that are not in y; "
                f"the classes are {self.classes_.tolist()}."
            )
        return np.array([self.class_weight.get(c, 1.0) for c in self.classes_.tolist()], float)

    def _validation_splitter(self, fraction, seed):
        if self._is_multilabel():
            return _multilabel.validation_splitter(fraction, seed)
        return StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)

    def _output_losses(self, params):
        """Output width -> default loss: one unit per class, or 1 sigmoid unit for two;
        one sigmoid unit per label for multi-label y."""
        n_classes = len(self.classes_)
        if self._is_multilabel():
            return {n_classes: self._multilabel_loss(params)}
        if _planning.uses_label_mixing(params):
            return {n_classes: "categorical_crossentropy"}
        binary = {1: "binary_crossentropy"} if n_classes == 2 else {}
        return {n_classes: "sparse_categorical_crossentropy", **binary}

    def _multilabel_loss(self, params):
        weights = getattr(self, "_loss_weights", None)
        if weights is None:
            return "binary_crossentropy"
        if params["loss"] is not None:
            raise ValueError(
                f"class_weight={self.class_weight!r} with multi-label y weighs the default loss "
                f"per label; it cannot weigh loss={params['loss']!r}: drop one of the two."
            )
        from ..model.losses import label_weighted_binary_crossentropy

        return label_weighted_binary_crossentropy(*weights)

    def _target_metadata(self):
        n_outputs = len(self.classes_) if self._is_multilabel() else 1
        return {
            "n_outputs": n_outputs,
            "classes": self.classes_,
            "target_encoder": self.target_encoder_,
            "target_type": self.target_type_,
        }

    def _n_classes(self):
        """Classes for one-hot targets; None for multi-label y (its rows are the targets)."""
        return None if self._is_multilabel() else len(self.classes_)
