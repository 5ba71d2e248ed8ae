"""Keras image models as first-class scikit-learn estimators."""

from .estimators import CNNClassifier, CNNRegressor
from .plotting import plot_augmentations, plot_history, plot_lr_schedule

__all__ = ["CNNClassifier", "CNNRegressor", "plot_augmentations", "plot_history", "plot_lr_schedule"]
__version__ = "0.1.0"
