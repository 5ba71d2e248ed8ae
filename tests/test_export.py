"""CNNClassifier.export and ``skhpo export``: the exported graphs (SavedModel, LiteRT, ONNX
where its extra is installed) give predict_proba's probabilities from the user's images."""

import json

import numpy as np
import pytest

from sklearn_keras_hpo import CNNClassifier, load
from sklearn_keras_hpo.cli import main

SMALL = dict(epochs=1, filters=4, dense_units=8, batch_size=16, random_state=0)


def _images(shape, n=48, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


@pytest.fixture(scope="module")
def fitted():
    """A grayscale 28x28 and an RGB 32x32 classifier, and a multi-label one, on uint8 pixels."""
    gray, rgb = _images((28, 28)), _images((32, 32, 3), seed=1)
    labels = np.random.default_rng(2).integers(0, 2, (48, 3))
    labels[:3] = [[1, 1, 0], [0, 1, 1], [1, 0, 1]]  # several labels per row: multi-label
    return {
        "gray": (CNNClassifier(**SMALL).fit(gray, np.arange(48) % 3), gray),
        "rgb": (CNNClassifier(**SMALL).fit(rgb, np.arange(48) % 2), rgb),
        "multilabel": (CNNClassifier(**SMALL).fit(gray, labels), gray),
    }


def run_saved_model(path, x):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))  # held: its variables live as long as it does
    return np.asarray(loaded.serve(x))


def run_litert(path, x):
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.resize_tensor_input(inp["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(out["index"])


def run_onnx(path, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


RUNNERS = {"saved_model": ("", run_saved_model), "litert": (".tflite", run_litert)}
RUNNERS["onnx"] = (".onnx", run_onnx)


@pytest.mark.parametrize("kind", ["gray", "rgb", "multilabel"])
@pytest.mark.parametrize("format", sorted(RUNNERS))
def test_the_exported_graph_gives_predict_proba(fitted, kind, format, tmp_path):
    if format == "onnx":
        pytest.importorskip("tf2onnx", reason="the onnx extra")
        pytest.importorskip("onnxruntime", reason="the onnx extra")
    model, X = fitted[kind]
    suffix, run = RUNNERS[format]
    path = model.export(tmp_path / f"model{suffix}", format=format)
    x = X[:7].reshape((7, *model.model_.input_shape[1:]))  # the model's own input shape
    np.testing.assert_allclose(run(path, x), model.predict_proba(X[:7]), atol=1e-4)
    described = json.loads(
        ((path if format == "saved_model" else tmp_path) / "classes.json").read_text()
    )
    assert described["classes"] == model.classes_.tolist()
    assert described["input"]["dtype"] == "uint8"


def test_float_input_takes_the_values_fit_took(fitted, tmp_path):
    model, X = fitted["gray"]
    floats = (X[:5] / 255.0).astype(np.float32)[..., None]
    path = model.export(tmp_path / "model", input_dtype="float32")
    np.testing.assert_allclose(
        run_saved_model(path, floats), model.predict_proba(floats), atol=1e-4
    )


def test_a_missing_converter_names_its_extra(fitted, tmp_path, monkeypatch):
    import importlib.util

    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else found(name, *a)
    )
    with pytest.raises(ImportError, match=r"sklearn_keras_hpo\[onnx\]"):
        fitted["gray"][0].export(tmp_path / "model.onnx", format="onnx")
    with pytest.raises(ValueError, match="format must be one of"):
        fitted["gray"][0].export(tmp_path / "m", format="tflite")


def test_skhpo_export_round_trip_from_a_tuned_model(tmp_path, capsys):
    from sklearn_keras_hpo.data.datasets import load_digits_images

    args = ["tune", "--searcher", "random", "--n-iter", "1", "--cv", "2", "--max-samples", "300"]
    args += ["--no-progress", "--set", "epochs=1", "--set", "filters=4", "--set", "dense_units=8"]
    assert main([*args, "--output", str(tmp_path / "run")]) == 0
    out = tmp_path / "exported"
    assert (
        main(["export", str(tmp_path / "run" / "model"), str(out), "--input-dtype", "float32"]) == 0
    )
    assert "Exported saved_model" in capsys.readouterr().out
    model = load(tmp_path / "run" / "model")
    X, _ = load_digits_images()
    x = X[:6].reshape((6, *model.model_.input_shape[1:])).astype(np.float32)
    np.testing.assert_allclose(run_saved_model(out, x), model.predict_proba(X[:6]), atol=1e-4)
    assert json.loads((out / "classes.json").read_text())["classes"] == list(range(10))
