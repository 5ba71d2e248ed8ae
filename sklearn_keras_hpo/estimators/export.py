"""A fitted classifier as a deployable graph: SavedModel, ONNX or LiteRT, through Keras'
own ``Model.export``.

The exported graph takes the images as the user has them (uint8 pixels, scaled by 1/255
in the graph as ``fit`` and ``predict`` scale them, or float32 values used as they are) at
the model's own input shape, and returns the class probabilities ``predict_proba`` returns
(two columns for a binary model with one sigmoid unit; each label's probability for a
multi-label one). A ``classes.json`` beside it names the columns.
"""

import json
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

FORMATS = {"saved_model": "tf_saved_model", "onnx": "onnx", "litert": "litert"}
EXTRAS = {"onnx": ("tf2onnx", "onnx")}  # the converter each format needs beyond TensorFlow


def export(estimator, path, format="saved_model", input_dtype="uint8"):
    """Write ``estimator``'s probability graph to ``path`` (a folder for ``saved_model``, a
    file for ``onnx`` and ``litert``) and ``classes.json`` beside it; the path written."""
    check_is_fitted(estimator)
    if format not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {format!r}.")
    if input_dtype not in ("uint8", "float32"):
        raise ValueError(f"input_dtype must be 'uint8' or 'float32', got {input_dtype!r}.")
    _check_extra(format)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    graph = probability_model(estimator, input_dtype)
    graph(np.zeros((1, *graph.input_shape[1:]), input_dtype))  # ONNX export needs it called once
    graph.export(str(path), format=FORMATS[format], verbose=False)
    folder = path if format == "saved_model" else path.parent
    (folder / "classes.json").write_text(json.dumps(_description(estimator, graph), indent=1))
    return path


def probability_model(estimator, input_dtype):
    """A Keras model: images of ``input_dtype`` in, ``predict_proba``'s columns out."""
    from .._backend import keras_and_tf

    keras, _ = keras_and_tf()
    ops = keras.ops
    images = keras.Input(estimator.model_.input_shape[1:], dtype=input_dtype, name="images")
    x = ops.cast(images, "float32")
    if input_dtype == "uint8":
        x = x * (1.0 / 255.0)
    outputs = ops.cast(estimator.model_(x, training=False), "float32")
    if not estimator._is_multilabel():
        if outputs.shape[-1] == 1:  # one sigmoid unit: the probability of the second class
            outputs = ops.concatenate([1.0 - outputs, outputs], axis=-1)
        outputs = outputs / ops.sum(outputs, axis=-1, keepdims=True)
    return keras.Model(images, outputs, name="probabilities")


def _description(estimator, graph):
    return {
        "classes": [_plain(c) for c in estimator.classes_],
        "multilabel": bool(estimator._is_multilabel()),
        "input": {"shape": list(graph.input_shape[1:]), "dtype": graph.inputs[0].dtype},
        "output": "probabilities, one column per class in this order",
    }


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _check_extra(format):
    import importlib.util

    missing = [name for name in EXTRAS.get(format, ()) if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"Exporting to {format} needs {', '.join(missing)}: pip install "
            f"'sklearn_keras_hpo[{format}]'."
        )
