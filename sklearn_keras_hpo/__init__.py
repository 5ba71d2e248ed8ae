"""Keras image models as first-class scikit-learn estimators."""

from .estimators import CNNClassifier, CNNRegressor

__all__ = ["CNNClassifier", "CNNRegressor"]
__version__ = "0.1.0"
