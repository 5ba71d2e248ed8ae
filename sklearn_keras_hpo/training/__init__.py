"""Runs one fit from a plain plan; never imports the estimators.

``run_fit(FitPlan) -> FitResult`` is the whole interface for training;
``predict_outputs(model, Images)`` for inference.
"""

from .keras_fit import TrainingDivergedError, optimizer_kwargs, predict_outputs
from .memory import InsufficientMemoryError
from .plan import Checkpointing, FitPlan, FitResult, Images, ModelSpec, Training
from .run import run_fit

__all__ = [
    "Checkpointing",
    "FitPlan",
    "FitResult",
    "Images",
    "InsufficientMemoryError",
    "ModelSpec",
    "Training",
    "TrainingDivergedError",
    "optimizer_kwargs",
    "predict_outputs",
    "run_fit",
]
