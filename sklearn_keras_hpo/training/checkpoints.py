"""Warm start across rungs: a fit's final state, kept on disk for a longer fit to continue.

A successive-halving or Hyperband search trains the same candidate on the same
fold for 1, 3, 9, ... epochs. With ``checkpoint_dir`` set, each fit leaves its
final model variables, optimizer variables and history in one ``.npz`` file
named by a key of (training data, every parameter but ``epochs``). A key names a
``weights`` file by its content, not its path, and a ``model=`` Keras model by its
configuration and weights; a backbone's frozen and fine-tuned epochs
(``freeze_epochs``, ``fine_tune_layers``) are parameters like any other, and its
phases a function of the absolute epoch. A later fit
with the same key and more epochs loads the checkpoint with the most epochs not
above its own and trains only the remaining epochs (``initial_epoch``), so the
learning-rate schedule, a function of the absolute epoch, carries on unchanged.
Files are written atomically (temporary file + rename), so workers of a
parallel search on one machine share the directory safely.

The same files make a search resumable: a fit whose final state is on disk is
not trained again. Fits that cannot continue a shorter one (early stopping,
schedules that depend on the total epochs) get a key that includes ``epochs``
and are only ever restored whole.
"""

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

IGNORED_PARAMS = {"epochs", "verbose", "checkpoint_dir"}
_FILE = re.compile(r"^(?P<key>[0-9a-f]{32})-(?P<epochs>\d+)\.npz$")


class Checkpoint(NamedTuple):
    epochs: int
    model_values: list
    optimizer_values: list
    history: dict
    best_epoch: int | None = None


def stable_repr(value):
    """repr that is the same in every process (callables by qualified name)."""
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {stable_repr(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(stable_repr(v) for v in value) + "]"
    return repr(value)


def checkpoint_key(params, *parts):
    """32 hex digits naming (parameters except ``epochs``, the training data): each
    part an array (hashed whole) or a digest string."""
    digest = hashlib.blake2b(digest_size=16)
    kept = {k: v for k, v in params.items() if k not in IGNORED_PARAMS}
    digest.update(stable_repr(kept).encode())
    for part in parts:
        if isinstance(part, str):
            digest.update(part.encode())
            continue
        array = np.ascontiguousarray(part)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def fit_key(checkpointing, epochs, data_digest, targets, weights):
    """The key of one fit; a fit that cannot continue a shorter one is keyed with its
    epochs too, so it is only ever restored whole."""
    params = dict(checkpointing.params)
    if not checkpointing.can_continue:
        params["total_epochs"] = epochs
    return checkpoint_key(params, data_digest, targets, weights)


def restore(trainer, checkpointing, key, epochs):
    """Load the longest usable checkpoint of ``key`` into ``trainer``; what it held
    (0 epochs when none). A finished fit that cannot continue counts as all epochs."""
    from .reuse import copy_variables

    found = latest(checkpointing.directory, key, epochs) if key is not None else None
    if not found:
        return Checkpoint(0, [], [], {})
    if (
        not trainer.optimizer.built
    ):  # a model= copy or an uncached model: its slots, as fit would build them
        trainer.optimizer.build(trainer.trainable_variables)
    copy_variables(found.model_values, trainer.variables)
    copy_variables(found.optimizer_values, trainer.optimizer.variables)
    return found if checkpointing.can_continue else found._replace(epochs=epochs)


def latest(directory, key, max_epochs):
    """The checkpoint of ``key`` with the most epochs <= ``max_epochs``, or None."""
    found = [
        (int(match["epochs"]), path)
        for path in Path(directory).glob(f"{key}-*.npz")
        if (match := _FILE.match(path.name)) and int(match["epochs"]) <= max_epochs
    ]
    if not found:
        return None
    epochs, path = max(found)
    with np.load(path, allow_pickle=False) as archive:
        n_model = int(archive["n_model"])
        values = [archive[f"v{i}"] for i in range(int(archive["n_values"]))]
        meta = json.loads(str(archive["meta"]))
    return Checkpoint(
        epochs, values[:n_model], values[n_model:], meta["history"], meta["best_epoch"]
    )


def save(directory, key, epochs, model_variables, optimizer_variables, history, best_epoch=None):
    """Write one checkpoint atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    values = [np.asarray(v) for v in (*model_variables, *optimizer_variables)]
    arrays = {f"v{i}": value for i, value in enumerate(values)}
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(handle, "wb") as file:
        np.savez(
            file,
            n_model=len(model_variables),
            n_values=len(values),
            meta=json.dumps({"history": history, "best_epoch": best_epoch}),
            **arrays,
        )
    os.replace(temporary, directory / f"{key}-{epochs}.npz")
