"""Keras image models as first-class scikit-learn estimators."""

from ._training import TrainingDivergedError
from .estimators import CNNClassifier, CNNRegressor
from .persistence import load
from .plotting import plot_augmentations, plot_history, plot_lr_schedule
from .progress import progress_bar
from .search import HyperbandSearchCV
from .spaces import search_space

__all__ = [
    "CNNClassifier",
    "CNNRegressor",
    "HyperbandSearchCV",
    "TrainingDivergedError",
    "load",
    "plot_augmentations",
    "plot_history",
    "plot_lr_schedule",
    "progress_bar",
    "search_space",
]
__version__ = "0.1.0"
