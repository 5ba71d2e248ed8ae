"""The one value a fit is given (``FitPlan``) and the one it returns (``FitResult``).

The estimator turns its parameters into a ``FitPlan`` and hands it to
:func:`sklearn_keras_hpo.training.run_fit`; nothing in this package reads an
estimator. Every field is a plain value: arrays, tuples, dicts, names, numbers.
"""

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class Images:
    """Where a fit's (or a prediction's) images come from, without copying them.

    ``source`` is the user's array viewed as ``(n, h, w, c)`` (in memory or
    memory-mapped, any numeric dtype; uint8 is scaled by 1/255 per batch) or a
    1-D array of image file paths, decoded, resized to ``image_shape`` and
    scaled per batch. ``cache`` (files only): None to decode every epoch,
    ``"memory"`` to decode once into a uint8 array, or a directory for a
    memory-mapped uint8 ``.npy`` file reused across fits and processes.
    ``image_shape`` may be any per-sample shape (``(n_features,)`` for tabular X
    handed to a ``model=`` builder as given); ``scale_uint8=False`` keeps uint8
    values as they are (only cast to float32).
    """

    source: np.ndarray
    image_shape: tuple
    from_files: bool = False
    cache: Any = None
    scale_uint8: bool = True

    def __len__(self):
        return len(self.source)

    def _replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @property
    def scaled_from_uint8(self):
        return self.from_files or (self.scale_uint8 and self.source.dtype == np.uint8)

    @property
    def itemsize(self):
        """Bytes per pixel value of a decoded batch before the cast to float32."""
        return 1 if self.scaled_from_uint8 else self.source.dtype.itemsize


class ModelSpec(NamedTuple):
    """What to build: a registered architecture or a builder, and how to compile it.

    ``builder`` is an architecture name or callable ``(input_shape, n_outputs,
    **hyperparameters)``; ``scikeras_builder`` (when not None) is a scikeras-style
    ``model=`` callable called with ``builder_kwargs`` (it may compile the model),
    or a ``keras.Model`` to copy. ``optimizer`` is ``(name, class or instance,
    kwargs)``. ``output_losses`` (when not None) maps each output width the model
    may have to the loss it is compiled with when its builder did not compile it
    (another width is an error). ``continue_from`` is a compiled model to train
    further (warm start, ``partial_fit``) instead of building one.
    """

    builder: Any
    hyperparameters: dict
    n_outputs: int
    optimizer: tuple
    loss: Any
    metrics: list
    compile_kwargs: dict
    scikeras_builder: Callable | None = None
    builder_kwargs: dict | None = None
    cacheable: bool = True
    output_losses: dict | None = None
    continue_from: Any = None


class Training(NamedTuple):
    """How to train: epochs, batches, schedule, augmentation, callbacks, stopping."""

    epochs: int
    batch_size: int
    schedule: dict  # schedules.schedule_callbacks arguments (name, lr0, epochs, ...)
    augmentation: dict  # parameter -> value, off entries included
    augment_mode: str = "online"
    augment_copies: int = 1
    early_stopping: tuple | None = None  # (patience, min_delta)
    callbacks: list | None = None
    callback_kwargs: dict | None = None
    fit_kwargs: dict | None = None
    verbose: int = 0
    shuffle: bool = True  # False: every epoch visits the training samples in order
    initial_epoch: int = 0  # where a continued fit (partial_fit) resumes the epoch count
    fine_tuning: dict | None = (
        None  # a backbone's phases: model.fine_tuning.fine_tuning_callbacks arguments
    )


class Checkpointing(NamedTuple):
    """Warm start and resume: where, the parameters naming the fit, and whether a
    longer fit may continue a shorter one's checkpoint."""

    directory: Any
    params: dict
    can_continue: bool


class FitPlan(NamedTuple):
    """Everything one fit needs: data, model, training settings, seed, checkpoints."""

    images: Images
    targets: np.ndarray  # encoded: class indices (int32) or float targets (n, k)
    sample_weight: np.ndarray
    train: np.ndarray  # indices into images/targets
    validation: np.ndarray | None
    n_classes: int | None  # single-label classifiers: for one-hot targets (label mixing); else None
    model: ModelSpec
    training: Training
    seed: int
    checkpoint: Checkpointing | None = None


class FitResult(NamedTuple):
    """A finished fit: the trained model and what happened."""

    model: Any
    history: dict
    n_epochs: int
    best_epoch: int | None
    epoch_seconds: float | None = None  # wall seconds per epoch trained in this fit
    initial_epoch: int = (
        0  # where this fit started training: epochs restored from a checkpoint, or trained before
    )
