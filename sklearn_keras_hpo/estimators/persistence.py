"""Save and load fitted estimators without pickle: Keras ``.keras`` plus JSON.

A saved estimator is a directory holding ``model.keras`` (the Keras model in its
own zip format) and ``estimator.json`` (the class, its parameters and the fitted
attributes such as ``classes_`` and ``history_``). Nothing is unpickled on load.
The model is read with Keras ``safe_mode``, which refuses ``Lambda`` layers
holding Python code; parameters that name code (a builder function, an
optimizer class) are imported only when the caller passes ``trusted=True``.

Examples
--------
>>> import tempfile
>>> from sklearn.datasets import load_digits
>>> from sklearn_keras_hpo import CNNClassifier, load
>>> X, y = load_digits(return_X_y=True)
>>> clf = CNNClassifier(image_shape=(8, 8), filters=4, epochs=1, random_state=0).fit(X / 16, y)
>>> with tempfile.TemporaryDirectory() as directory:
...     _ = clf.save(directory)
...     again = load(directory)
>>> bool((again.predict(X / 16) == clf.predict(X / 16)).all())
True
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:
    from .classifier import CNNClassifier
    from .regressor import CNNRegressor

FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
METADATA_FILE = "estimator.json"
PUBLIC_PACKAGE = "sklearn_keras_hpo"  # the estimators are exported at the top of the package


def save(estimator: CNNClassifier | CNNRegressor, path: str | os.PathLike[str]) -> Path:
    """Write fitted ``estimator`` to the directory ``path`` (created if needed); return
    the directory as a ``Path``."""
    check_is_fitted(estimator)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    fitted = {k: v for k, v in vars(estimator).items() if k.endswith("_") and k != "model_"}
    fitted.update(
        {k: v for k, v in vars(estimator).items() if k in ("_single_target", "_label_dtype")}
    )
    metadata = {
        "format": FORMAT_VERSION,
        "class": f"{PUBLIC_PACKAGE}:{type(estimator).__qualname__}",  # no module path that can move
        "params": {k: _encode(v) for k, v in estimator.get_params(deep=False).items()},
        "fitted": {k: _encode(v) for k, v in fitted.items()},
    }
    _write_atomically(path / MODEL_FILE, lambda file: estimator.model_.save(file))
    _write_atomically(
        path / METADATA_FILE, lambda file: Path(file).write_text(json.dumps(metadata, indent=1))
    )
    return path


def load(path: str | os.PathLike[str], *, trusted: bool = False) -> CNNClassifier | CNNRegressor:
    """Read an estimator written by :func:`save`.

    Parameters
    ----------
    path : str or path-like
        The directory given to ``save``.
    trusted : bool, default=False
        Allow code in the file: ``Lambda`` layers and parameters naming functions or
        classes to import. Only for files from a source you trust.

    Returns
    -------
    estimator : CNNClassifier or CNNRegressor
        The fitted estimator, of the class that was saved.
    """
    path = Path(path)
    metadata = _read_metadata(path)
    params = {k: _decode(v, k, trusted) for k, v in metadata["params"].items()}
    estimator = _estimator_class(metadata["class"], path)(**params)
    for name, value in metadata["fitted"].items():
        setattr(estimator, name, _decode(value, name, trusted))
    estimator.model_ = _load_model(path / MODEL_FILE, trusted)
    return estimator


def _write_atomically(target, write):
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=target.suffix)
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _read_metadata(path):
    file = path / METADATA_FILE
    if not file.is_file():
        raise FileNotFoundError(f"{file} not found: {path} is not a directory written by save().")
    try:
        metadata = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{file} is corrupt or truncated ({error}); save the estimator again."
        ) from error
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"{file} is not an estimator file of format {FORMAT_VERSION}; save it again."
        )
    return metadata


def _load_model(file, trusted):
    from .._backend import keras_and_tf
    from ..model.losses import register

    keras, _ = keras_and_tf()
    register()  # the losses the estimators choose (a multi-label class_weight's) load by name
    if not file.is_file():
        raise FileNotFoundError(
            f"{file} not found; the saved estimator is incomplete, save it again."
        )
    try:
        return keras.saving.load_model(file, safe_mode=not trusted)
    except Exception as error:  # Keras raises several types for a bad archive
        if "safe_mode" in str(error):
            raise ValueError(
                f"{file} contains code (a Lambda layer or similar) that loading would run. "
                "Pass trusted=True only if you trust where the file came from."
            ) from error
        raise ValueError(
            f"{file} is corrupt or truncated and cannot be loaded ({error})."
        ) from error


def _encode(value):
    """JSON form of a parameter or fitted value; types JSON lacks are tagged."""
    if isinstance(value, np.ndarray):
        return {
            "__ndarray__": value.tolist(),
            "dtype": value.dtype.str if value.dtype != object else "object",
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return {"__code__": f"{value.__module__}:{value.__qualname__}"}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"__unsaved__": repr(value)}


def _decode(value, name, trusted):
    if isinstance(value, list):
        return [_decode(v, name, trusted) for v in value]
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        return np.array(value["__ndarray__"], dtype=value["dtype"])
    if "__tuple__" in value:
        return tuple(_decode(v, name, trusted) for v in value["__tuple__"])
    if "__dict__" in value:
        return {_decode(k, name, trusted): _decode(v, name, trusted) for k, v in value["__dict__"]}
    if "__code__" in value:
        return _import(value["__code__"], name, trusted)
    warnings.warn(
        f"{name}={value['__unsaved__']} could not be saved; it is None in the loaded estimator.",
        UserWarning,
        stacklevel=3,
    )
    return None


def _estimator_class(reference, path):
    if not reference.startswith((f"{PUBLIC_PACKAGE}:", f"{PUBLIC_PACKAGE}.")):
        raise ValueError(
            f"{path / METADATA_FILE} names {reference}, not a sklearn_keras_hpo estimator."
        )
    return _import(reference, "class", trusted=True)


def _import(reference, name, trusted):
    module, _, qualname = reference.partition(":")
    if not trusted:
        raise ValueError(
            f"The saved parameter {name} names code to import ({reference}). "
            "Pass trusted=True only if you trust where the file came from."
        )
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def fill_new_parameters(estimator):
    """Give ``estimator`` (unpickled from an older version) the default of every parameter
    that was added after it was pickled."""
    for name, parameter in inspect.signature(type(estimator).__init__).parameters.items():
        if parameter.default is not parameter.empty and name not in vars(estimator):
            setattr(estimator, name, parameter.default)
