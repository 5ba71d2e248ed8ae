"""Keras image models as first-class scikit-learn estimators.

The package's folders are its layers, each importing only those below it:
``estimators`` (the scikit-learn face), ``search`` (our searchers and their runner),
``reporting``, and above them ``time_limit`` (a time limit spent on the model kept);
then ``training`` (one fit from a plain plan), ``model`` (what a Keras
model is built from) and ``data`` (loaders, ``ImageRows``).
"""

from .data import ImageRows
from .estimators import CNNClassifier, CNNRegressor, load
from .reporting import plot_augmentations, plot_history, plot_lr_schedule
from .search import (
    AsyncHalvingSearchCV,
    HyperbandSearchCV,
    LostWorkerWarning,
    WorkerLostError,
    lost_workers_retried,
    progress_bar,
    search_space,
)
from .time_limit import tune
from .tracking import log_search
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
    "load",
    "log_search",
    "lost_workers_retried",
    "plot_augmentations",
    "plot_history",
    "plot_lr_schedule",
    "progress_bar",
    "search_space",
    "tune",
]
__version__ = "0.1.0"
