"""The scikit-learn face: parameters, constraints, validation, fitted attributes, predict.

Each estimator turns its parameters into one plain ``training.FitPlan`` and hands it
to ``training.run_fit``; nothing here trains. ``persistence`` saves and loads the
fitted estimators (it reads their parameters and fitted attributes, so it lives
beside them).
"""

from .classifier import CNNClassifier
from .persistence import load, save
from .regressor import CNNRegressor

__all__ = ["CNNClassifier", "CNNRegressor", "load", "save"]
