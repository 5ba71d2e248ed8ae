"""What a Keras model is built from: architecture builders and their registry,
augmentation layers, learning-rate schedules. Pure functions of their arguments;
nothing here imports ``training``.

``registry`` holds ``ARCHITECTURES``; ``architectures`` and ``backbones`` register their
builders there when imported, and both are imported here, so the registry is complete
whichever module of ``model`` a caller imports first.
"""

from . import architectures, backbones  # each registers its builders in ARCHITECTURES
from .augmentation import LABEL_MIXERS, TRANSFORMS, augmentation_layers
from .registry import ARCHITECTURES, build_model, register_architecture
from .schedules import SCHEDULE_NAMES, learning_rates

__all__ = [
    "ARCHITECTURES",
    "LABEL_MIXERS",
    "SCHEDULE_NAMES",
    "TRANSFORMS",
    "architectures",
    "augmentation_layers",
    "backbones",
    "build_model",
    "learning_rates",
    "register_architecture",
]
