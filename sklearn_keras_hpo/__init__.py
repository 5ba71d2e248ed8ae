"""Keras image models as first-class scikit-learn estimators."""

from .asha import AsyncHalvingSearchCV
from .estimators import CNNClassifier, CNNRegressor
from .persistence import load
from .plotting import plot_augmentations, plot_history, plot_lr_schedule
from .progress import progress_bar
from .recovery import LostWorkerWarning, WorkerLostError, failures_as_scores, lost_workers_retried
from .rows import ImageRows
from .search import HyperbandSearchCV
from .spaces import search_space
from .training import InsufficientMemoryError, TrainingDivergedError

__all__ = [
    "AsyncHalvingSearchCV",
    "CNNClassifier",
    "CNNRegressor",
    "HyperbandSearchCV",
    "ImageRows",
    "InsufficientMemoryError",
    "LostWorkerWarning",
    "TrainingDivergedError",
    "WorkerLostError",
    "failures_as_scores",
    "load",
    "lost_workers_retried",
    "plot_augmentations",
    "plot_history",
    "plot_lr_schedule",
    "progress_bar",
    "search_space",
]
__version__ = "0.1.0"
