"""``CNNClassifier``: the scikit-learn classifier over the shared ``_BaseCNN``.

The shared parameters, validation and fit plan live in ``_base``; the training
in the ``training`` package; the classifier's targets in ``_class_targets``,
multi-label targets in ``_multilabel``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin

from .._sklearn_compat import Interval
from . import _multilabel
from ._base import _BaseCNN
from ._class_targets import ONE_HOT, ClassTargets

if TYPE_CHECKING:
    import keras
    from typing_extensions import Self


def _with_keyword(function, name, default, annotation):
    """The signature of ``function`` with one more keyword-only parameter (before ``**kwargs``)."""
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    added = inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )
    split = next((i for i, p in enumerate(parameters) if p.kind == p.VAR_KEYWORD), len(parameters))
    return signature.replace(parameters=[*parameters[:split], added, *parameters[split:]])


class CNNClassifier(ClassifierMixin, ClassTargets, _BaseCNN):
    """Keras image classifier with the tutorials' hyperparameters as flat parameters.

    Every architecture, optimisation and early-stopping choice is an ordinary
    parameter, so ``GridSearchCV``, ``RandomizedSearchCV``, ``BayesSearchCV`` and
    the halving searches tune it, and ``clone`` keeps it. scikeras code keeps
    working: ``model=``, scikeras's keywords and its routed ``model__*``,
    ``optimizer__*``, ... parameters keep their meaning (user guide: "scikeras
    compatibility"). ``y`` may be a multi-label 0/1 indicator matrix: one sigmoid
    unit per label, ``predict`` at ``threshold``, ``score`` the subset accuracy
    (user guide: "Multi-label").

    Parameters
    ----------
    architecture : {"auto", "convnet", "cnn", "mlp", "vgg", "resnet", \
"mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_v2_b0", "resnet50_v2", \
"convnext_tiny"} or callable, default="auto"
        A registered builder (see ``model.ARCHITECTURES``) or a callable
        ``(input_shape, n_outputs, **hyperparameters) -> keras.Model``. "auto" is
        "convnet" for images of 32 px a side and more, and the tutorials' "cnn"
        below; ``architecture_`` says which was built. The last five are
        ``keras.applications`` backbones (user guide: "Transfer learning").
    model : callable or keras.Model, default=None
        scikeras builder, called with its ``model__*`` (or bare extra) arguments
        and, where its signature takes them, ``meta``, ``compile_kwargs`` and
        ``params``; it may return a compiled model. A ``keras.Model`` is copied for
        each fit. Overrides ``architecture``; X reaches it as given unless
        ``image_shape`` is set (user guide: "scikeras compatibility").
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)`` of flat 2-D input.
        When None, 2-D input of ``s*s`` features is read as ``s x s`` grayscale,
        anything else as a ``1 x n_features`` strip (with ``model=``: kept as given).
    image_size : tuple of int, default=None
        ``(height, width)`` that image files given as X are resized to; None means
        the size of the first file.
    channels : {1, 3}, default=None
        Channels image files are decoded to (grayscale or RGB); None means those
        of the first file.
    image_cache : "memory" or str, default=None
        For image files as X: None decodes each batch from its files every epoch;
        ``"memory"`` decodes all once into a uint8 array; a directory keeps one
        memory-mapped uint8 ``.npy`` file there, shared by later fits and workers.
    filters : int, default=32
        Convolution filters of the first block (later blocks use multiples).
    kernel_size : int or tuple, default=3
        Convolution kernel size.
    dense_units : int, default=128
        Neurons of each hidden dense layer.
    n_blocks : int, default=2
        Blocks of the "vgg" and "resnet" stacks; conv layers per stage of
        "convnet"; hidden layers of "mlp".
    residual : bool, default=False
        Residual connections around each stage of "convnet".
    activation : {"relu", "tanh", "sigmoid", "elu", "selu", "swish", "gelu", \
"linear"} or None, default="relu"
        Hidden-layer activation; None means linear.
    kernel_initializer : str, default="glorot_uniform"
        One of uniform, lecun_uniform, lecun_normal, normal, zeros, glorot_normal,
        glorot_uniform, he_normal, he_uniform, random_uniform, random_normal,
        orthogonal.
    dropout : float in [0, 1), default=0.25
        Dropout rate after the pooling and dense layers.
    batch_norm : bool or None, default=None
        Batch normalisation after every convolution and hidden dense layer; None:
        the architecture's own default (on for "convnet" and "resnet", off for the
        tutorials' "cnn", "mlp" and "vgg").
    l1, l2 : float, default=0.0
        L1 / L2 penalties on convolution and dense kernels.
    weights : None, "imagenet" or str, default=None
        A backbone's initial weights: None (random), "imagenet" (downloaded by
        Keras) or the path of a weights file in the format of Keras' ``*_notop``
        files (user guide: "Transfer learning").
    freeze_epochs : int, default=0
        Epochs, from the first, that train the head only (the backbone frozen).
        Ignored by the built-in nets.
    fine_tune_layers : "all" or int, default="all"
        From epoch ``freeze_epochs`` on, how many of the backbone's top layers
        train with the head; 0 keeps the backbone frozen (feature extraction).
    fine_tune_learning_rate : float, default=None
        The learning rate from epoch ``freeze_epochs`` on: the schedule's rate
        times ``fine_tune_learning_rate / learning_rate``; None keeps
        ``learning_rate``. Fine-tuning pretrained weights usually wants 10 to 100
        times less than training the head.
    optimizer : {"sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", \
"nadam", "adamw"}, a Keras name, class or instance, default="adam"
        Optimizer; ``optimizer__*`` parameters reach its constructor. An instance
        is copied for each fit and keeps its own settings.
    learning_rate : float, default=0.001
        Initial learning rate, unless ``optimizer__learning_rate``, an optimizer
        instance's own rate or a ``model=`` builder's compiled optimizer sets one.
    momentum : float in [0, 1], default=0.0
        Momentum of SGD and RMSprop (ignored by the others).
    nesterov : bool, default=False
        Nesterov momentum for SGD.
    weight_decay : float, default=None
        Decoupled weight decay, for every optimizer.
    loss : str, keras Loss (class or instance) or callable, default=None
        Training loss (classes built with ``loss__*``). None: sparse categorical
        cross-entropy (binary cross-entropy for a 1-unit ``model=`` and for
        multi-label y); mean squared error for the regressor.
    metrics : list, dict, str or keras Metric, default=None
        Metrics logged in ``history_`` (classes built with ``metrics__*``). None:
        ``["accuracy"]`` (classifier; ``["binary_accuracy"]``, per label, for
        multi-label y), ``["mae"]`` (regressor).
    run_eagerly : bool, default=False
        Compile the model to run eagerly (debugging).
    batch_size : int, -1 or None, default=32
        Mini-batch size; -1 puts all training samples in one batch and None means
        Keras' default (32), as in scikeras.
    epochs : int, default=10
        Maximum number of passes over the training data.
    shuffle : bool, default=True
        Shuffle the training samples every epoch (False: in the order given).
    warm_start : bool, default=False
        A second ``fit`` trains the fitted ``model_`` further (``epochs`` more,
        a fresh ``history_``) instead of building a new model, as in scikeras.
        ``partial_fit`` always continues, one epoch per call.
    lr_schedule, lr_decay, lr_step_size, lr_drop, lr_min_fraction, lr_power, \
lr_restart_epochs, lr_schedule_epochs, lr_patience, warmup_epochs
        The learning-rate schedule and its settings (user guide: "Learning-rate
        schedules"). ``lr_schedule="auto"`` (the default) is "cosine" for the
        ``convnet`` and "constant" for every other net (the tutorials' setting).
    rotation, translation, zoom, shear, flip, elastic, brightness, contrast, gamma, \
hue, saturation, erasing, randaugment, mixup, cutmix, augment_mode, augment_copies
        Augmentation of the training images, each transform off at 0 or None
        (user guide: "Augmentation"). ``flip="auto"`` (the default) flips colour
        images horizontally for the ``convnet`` and nothing else: set None for
        photos that a mirror changes the meaning of (text, road signs).
    early_stopping : bool, default=False
        Stop when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the best epoch's weights.
    validation_fraction : float in (0, 1), default=None
        Share of the data given to ``fit`` held out for validation, shuffled and
        stratified (multi-label y: user guide, "Multi-label"). None means
        ``validation_split`` if set, else 0.1 with early stopping and no split
        without it.
    validation_split : float in [0, 1), default=0.0
        scikeras's name for ``validation_fraction`` (the same shuffled,
        stratified split, not Keras' last samples); set one of the two.
    n_iter_no_change : int, default=5
        Early-stopping patience in epochs.
    tol : float, default=1e-4
        Smallest validation-loss decrease that counts as an improvement.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, by label (multi-label y: per label,
        user guide: "Multi-label").
    callbacks : list, dict, keras Callback or Callback class, default=None
        Extra callbacks; classes are built with the ``callbacks__*`` parameters
        (``callbacks__0__patience`` reaches only the first). One that may steer
        training turns ``checkpoint_dir`` off, with a warning naming it (user
        guide: "Tracking" lists the callbacks that only observe).
    checkpoint_dir : str or path, default=None
        Warm start across the rungs of a search over ``epochs``, and a resumable
        search: each fit leaves its final weights and optimizer state there, and a
        later fit continues or restores them where that equals a straight run
        (user guide: "Warm start across rungs", "Resuming a search").
    random_state : int, RandomState instance or None, default=None
        Seeds weights, dropout, shuffling and the validation split. The same int
        gives the same model.
    verbose : int, default=0
        Keras' ``fit`` verbosity.
    threshold : float in [0, 1], default=0.5
        Multi-label y only: ``predict`` sets the labels whose probability is above
        it (``predict_proba`` does not depend on it). Single-label ``predict`` is the
        most probable class.
    **routed_params
        scikeras-style ``model__*``, ``optimizer__*``, ``loss__*``, ``metrics__*``,
        ``compile__*``, ``fit__*``, ``callbacks__*`` and ``predict__*`` (accepted,
        unused) parameters, and with ``model=`` the builder's bare arguments;
        ``validation_batch_size`` is accepted as ``fit__validation_batch_size``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or (n_labels,)
        Class labels; for multi-label y, the labels of its columns.
    n_features_in_ : int
        Pixels x channels per image.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the images the model takes.
    model_ : keras.Model
        The trained model.
    history_ : dict of list of float
        Per-epoch ``loss``, ``accuracy`` and, with a validation split,
        ``val_loss`` and ``val_accuracy``.
    n_epochs_ : int
        Epochs trained.
    architecture_ : str or None
        The registered architecture built ("auto" resolved); None for ``model=``.
    epoch_seconds_ : float or None
        Wall seconds per epoch trained in the last fit (None when it trained none,
        as when a checkpoint held the finished fit).
    initial_epoch_ : int
        The epoch the last fit started training at: 0, or the epochs restored from
        a checkpoint (a warm-started rung, a resumed search) or trained before
        (``partial_fit``); ``history_`` holds every epoch from 0.
    best_epoch_ : int or None
        With early stopping, the 1-based epoch whose weights were restored.
    n_classes_, target_type_, n_outputs_, n_outputs_expected_
        scikeras's names: number of classes, "binary" or "multiclass", 1, 1 (for
        multi-label y: number of labels, "multilabel-indicator", number of labels, 1).
    target_encoder_, feature_encoder_
        scikeras's names: the ``LabelEncoder`` of ``classes_`` (kept by
        ``partial_fit``), and an identity transformer (X reaches the model as given).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_keras_hpo import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier(image_shape=(8, 8), filters=8, epochs=2, random_state=0)
    >>> clf.fit(X[:500] / 16, y[:500]).score(X[500:600] / 16, y[500:600]) > 0.5
    True

    Multi-label: three labels per digit (odd, at least 5, has a loop).

    >>> import numpy as np
    >>> Y = np.column_stack([y % 2, y >= 5, np.isin(y, [0, 6, 8, 9])]).astype(int)
    >>> multi = CNNClassifier(image_shape=(8, 8), filters=8, epochs=2, random_state=0)
    >>> multi.fit(X[:500] / 16, Y[:500]).predict(X[500:502] / 16).shape
    (2, 3)
    """

    _parameter_constraints = {
        **_BaseCNN._parameter_constraints,
        "threshold": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        architecture: str | Callable[..., keras.Model] = "auto",
        *,
        threshold: float = 0.5,
        **params: Any,
    ) -> None:
        super().__init__(architecture, **params)
        self.threshold = threshold

    # every shared parameter and ``threshold``, for sklearn's get_params, clone and repr
    __init__.__signature__ = _with_keyword(_BaseCNN.__init__, "threshold", 0.5, "float")

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train a fresh Keras model on images ``X`` and class labels ``y`` (with
        ``warm_start=True``, train the fitted ``model_`` further).

        Parameters
        ----------
        X, sample_weight
            As for :meth:`CNNRegressor.fit`: image arrays in any numeric dtype, or
            image file paths; per-sample weights of the loss.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix (multi-label; a pandas
            DataFrame's column labels become ``classes_``).

        Returns
        -------
        self : object
            The fitted estimator; it raises as :meth:`CNNRegressor.fit` does.
        """
        return self._fit_with_error_note(
            X, y, sample_weight, mode="fit", classes=_multilabel.label_columns(y)
        )

    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """Train for one more epoch, from the fitted model (a new one on the first call).

        Parameters
        ----------
        X, y, sample_weight
            As for ``fit``.
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole data, for a first call whose ``y`` lacks some;
            None: the classes of the first call's ``y``. For a multi-label y, the
            labels of its columns (None: ``arange(n_labels)``).

        Returns
        -------
        self : object
        """
        if classes is None:
            classes = _multilabel.label_columns(y)
        return self._fit_with_error_note(X, y, sample_weight, mode="partial", classes=classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of images
            As for ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            Rows sum to 1; for multi-label y, each label's own probability.
        """
        proba = self._outputs(X)
        if self._is_multilabel():
            return proba
        if proba.shape[1] == 1:  # one sigmoid unit: the probability of the second class
            proba = np.hstack([1 - proba, proba])
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Most probable class of each image; for multi-label y, the labels above ``threshold``.

        Parameters
        ----------
        X : array-like of images
            As for ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or the 0/1 indicator matrix in the dtype of the fitted y
            (one-hot rows for y given as one-hot rows).
        """
        proba = self.predict_proba(X)
        if self._is_multilabel():
            return _multilabel.indicator(proba, self.threshold, np.dtype(self._label_dtype))
        if self.target_type_ == ONE_HOT:  # y was one-hot rows: so are the predictions
            return np.eye(len(self.classes_), dtype=self._label_dtype)[np.argmax(proba, axis=1)]
        return self.classes_[np.argmax(proba, axis=1)]

    def export(self, path, format: str = "saved_model", input_dtype: str = "uint8"):
        """Export the fitted model for deployment, with the scaling ``predict`` applies in
        the graph and ``predict_proba``'s columns as its output; ``classes.json`` beside it
        names them.

        Parameters
        ----------
        path : str or path-like
            A folder for ``"saved_model"``, a file for ``"onnx"`` (``.onnx``) and
            ``"litert"`` (``.tflite``).
        format : {"saved_model", "onnx", "litert"}, default="saved_model"
            Through Keras' ``Model.export``; ``"onnx"`` needs the ``onnx`` extra.
        input_dtype : {"uint8", "float32"}, default="uint8"
            The images the graph takes: uint8 pixels (scaled by 1/255 in the graph) or
            float32 values as ``fit`` took them.

        Returns
        -------
        path : pathlib.Path
            What was written.

        Examples
        --------
        >>> import tempfile, numpy as np
        >>> from sklearn_keras_hpo import CNNClassifier
        >>> X = np.random.default_rng(0).integers(0, 256, (40, 8, 8), dtype=np.uint8)
        >>> clf = CNNClassifier(epochs=1, filters=4, dense_units=8).fit(X, [0, 1] * 20)
        >>> folder = clf.export(tempfile.mkdtemp() + "/model")
        >>> sorted(p.name for p in folder.iterdir())[:2]
        ['assets', 'classes.json']
        """
        from .export import export

        return export(self, path, format=format, input_dtype=input_dtype)
