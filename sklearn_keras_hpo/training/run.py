"""``run_fit(plan) -> FitResult``: the one place a fit happens, as a list of steps.

Data source, memory guard, model build, traced-model reuse, warm-start restore,
Keras ``fit``, checkpoint save; in that order, each a call into one module of
this package, none back into the estimator.
"""

import time

import numpy as np

from . import checkpoints, memory, reuse, session
from .keras_fit import (
    build_compiled,
    check_finite_loss,
    history_to_dict,
    keras_fit,
    loss_targets,
    structure_parts,
)
from .pipeline import ordered_batches, precompute_augmentation, training_batches
from .plan import FitResult
from .sources import array_digest, cached_images, files_digest, find_unreadable


def run_fit(plan):
    """Train the model ``plan`` describes; the trained model and its history."""
    training = plan.training
    materialised = memory.materialised_bytes(plan.images, len(plan.train), training)
    model_estimate = memory.scaled_model_bytes(
        plan.model, plan.images.image_shape, training.batch_size
    )
    memory.check(
        materialised + model_estimate,
        "decoded data, weights and one batch's activations",
        plan.images.image_shape,
        len(plan.images),
    )
    images = cached_images(plan.images)
    with session.seeded(plan.seed), session.dropped_gradient_registrations():
        model = build_compiled(plan.model, images.image_shape, plan.n_classes)
        memory.check(
            materialised + memory.model_bytes(model, training.batch_size),
            "the model's weights and one batch's activations",
            images.image_shape,
            len(images),
        )
        compile_args = {
            "loss": plan.model.loss,
            "metrics": plan.model.metrics,
            "extra": plan.model.compile_kwargs,
        }
        parts = structure_parts(plan.model, images.image_shape, model.optimizer)
        trainer = reuse.trainer_for(model, reuse.structure_key(parts, model), compile_args)
        key = _checkpoint_key(plan, images)
        past = (
            checkpoints.restore(trainer, plan.checkpoint, key, training.epochs)
            if key
            else _no_checkpoint(training)
        )
        started = time.perf_counter()
        history, best_epoch = _train(trainer, images, plan, past.epochs)
        trained = len(history.get("loss", []))
        epoch_seconds = (time.perf_counter() - started) / trained if trained else None
        check_finite_loss(history)
        if trainer is not model:
            reuse.copy_state(trainer, model)
        session.release_kernel_cache()
    history = _joined(past.history, history)
    n_epochs = len(history.get("loss", []))
    best_epoch = best_epoch if best_epoch is not None else past.best_epoch
    if key is not None and past.epochs < training.epochs:  # a restored fit is on disk already
        checkpoints.save(
            plan.checkpoint.directory,
            key,
            n_epochs,
            trainer.variables,
            trainer.optimizer.variables,
            history,
            best_epoch,
        )
    return FitResult(model, history, n_epochs, best_epoch, epoch_seconds, past.epochs)


def _no_checkpoint(training):
    """No checkpoint: start at ``training.initial_epoch`` (0, or where ``partial_fit`` left off)."""
    return checkpoints.Checkpoint(training.initial_epoch, [], [], {})


def _checkpoint_key(plan, images):
    if plan.checkpoint is None:
        return None
    source = images.source
    digest = files_digest(source, images.image_shape) if images.from_files else array_digest(source)
    return checkpoints.fit_key(
        plan.checkpoint, plan.training.epochs, digest, plan.targets, plan.sample_weight
    )


def _train(model, images, plan, initial_epoch):
    """Train from ``initial_epoch``; the new epochs' history and the early-stopping epoch."""
    from ..model.augmentation import LABEL_MIXERS, make_batch_augmenter

    training = plan.training
    if initial_epoch >= training.epochs:
        return {}, None
    mixing = any(training.augmentation.get(name) for name in LABEL_MIXERS)
    targets = loss_targets(plan.targets, model, plan.n_classes, mixing)
    augment = make_batch_augmenter(
        training.augmentation,
        channels=images.image_shape[-1],
        n_classes=plan.n_classes or 0,
        seed=plan.seed,
    )
    columns, train = (targets, plan.sample_weight), plan.train
    if augment is not None and training.augment_mode == "precomputed":
        images, columns = precompute_augmentation(
            augment, images, columns, train, training.augment_copies
        )
        train, augment = np.arange(len(images)), None
    train_data, set_epoch = training_batches(
        images,
        columns,
        train,
        training.batch_size,
        seed=plan.seed,
        augment=augment,
        shuffle=training.shuffle,
    )
    validation = None
    if plan.validation is not None:
        validation = ordered_batches(images, plan.validation, training.batch_size, (targets,))
    try:
        history, stopper = keras_fit(
            model, train_data, set_epoch, validation, training, initial_epoch=initial_epoch
        )
    except Exception as error:
        _raise_for_unreadable_file(images, error)
        raise
    return history_to_dict(history), (stopper.best_epoch + 1 if stopper is not None else None)


def _raise_for_unreadable_file(images, error):
    """A decode error inside tf.data does not say which file: find it and name it."""
    if not images.from_files or "OpError" not in {t.__name__ for t in type(error).__mro__}:
        return
    found = find_unreadable(images.source, images.image_shape)
    if found:
        path, reason = found
        raise ValueError(
            f"Cannot read the image file {path!r}: {reason}. Remove or replace it."
        ) from error


def _joined(past, new):
    names = [*past, *(k for k in new if k not in past)]
    return {k: past.get(k, []) + new.get(k, []) for k in names}
