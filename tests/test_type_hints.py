"""The public signatures carry type hints, and the package says so with ``py.typed``."""

import inspect
import pathlib

import pytest

import sklearn_keras_hpo
from sklearn_keras_hpo import CNNClassifier, CNNRegressor, ImageRows, load
from sklearn_keras_hpo.data import datasets

PUBLIC = [
    CNNClassifier,
    CNNClassifier.fit,
    CNNClassifier.partial_fit,
    CNNClassifier.predict,
    CNNClassifier.predict_proba,
    CNNClassifier.initialize,
    CNNClassifier.save,
    CNNRegressor,
    CNNRegressor.fit,
    CNNRegressor.partial_fit,
    CNNRegressor.predict,
    load,
    ImageRows,
    *(
        function
        for name, function in vars(datasets).items()
        if inspect.isfunction(function)
        and not name.startswith("_")
        and function.__module__ == datasets.__name__
    ),
]


def test_the_package_ships_py_typed():
    assert (pathlib.Path(sklearn_keras_hpo.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("function", PUBLIC, ids=lambda f: f.__qualname__)
def test_every_parameter_and_the_return_are_annotated(function):
    signature = inspect.signature(function.__init__ if isinstance(function, type) else function)
    missing = [
        name
        for name, parameter in signature.parameters.items()
        if name != "self" and parameter.annotation is inspect.Parameter.empty
    ]
    assert not missing, f"{function.__qualname__}: {missing} have no type hint"
    assert signature.return_annotation is not inspect.Signature.empty, function.__qualname__
