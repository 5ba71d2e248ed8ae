"""What a Keras model is built from: architecture builders and their registry,
augmentation layers, learning-rate schedules. Pure functions of their arguments;
nothing here imports ``training``."""

from .architectures import ARCHITECTURES, build_model, register_architecture
from .augmentation import LABEL_MIXERS, TRANSFORMS, augmentation_layers
from .schedules import SCHEDULE_NAMES, learning_rates

__all__ = [
    "ARCHITECTURES",
    "LABEL_MIXERS",
    "SCHEDULE_NAMES",
    "TRANSFORMS",
    "augmentation_layers",
    "build_model",
    "learning_rates",
    "register_architecture",
]
