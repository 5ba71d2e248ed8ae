"""Ready-made search spaces that reproduce the tutorials' studies, for every searcher.

Each preset is data: ``{parameter: spec}`` with a spec of ``("int", low, high)``,
``("log", low, high)``, ``("real", low, high)`` or ``("cat", [choices])``. A preset that
searches ``lr_schedule`` also sets the parameters each schedule needs to change the rate
within the estimator's epochs (``schedules.inert_schedule_message`` is None for every
configuration it can draw).
``search_space(name, kind)`` turns it into what each searcher takes:

- ``"random"``: scipy distributions and lists (``RandomizedSearchCV``,
  ``HalvingRandomSearchCV``, ``HyperbandSearchCV``);
- ``"bayes"``: scikit-optimize ``Integer``/``Real(prior="log-uniform")``/``Categorical``
  (``BayesSearchCV``);
- ``"grid"``: three values per numeric range (``GridSearchCV``, ``HalvingGridSearchCV``).

Examples
--------
>>> from sklearn_keras_hpo.search.spaces import search_space
>>> space = search_space("hyperband", "random")
>>> sorted(space)
['activation', 'batch_size', 'learning_rate']
>>> search_space("hyperband", "grid")["batch_size"]
[16, 72, 128]
"""

import os
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

PRESETS = {
    # MNIST 2-vs-7 CNN, grid and randomized searches of the first tutorial
    "cnn": {
        "epochs": ("int", 2, 10),
        "batch_size": ("cat", [16, 32, 64, 128]),
        "optimizer": ("cat", ["sgd", "rmsprop", "adagrad", "adam", "nadam"]),
        "kernel_initializer": ("cat", ["uniform", "normal", "glorot_uniform", "he_normal"]),
        "activation": ("cat", ["relu", "tanh", "sigmoid"]),
        "dropout": ("real", 0.0, 0.5),
        "dense_units": ("cat", [16, 32, 64, 128]),
    },
    # MNIST MLP with time-based / exponential decay and SGD momentum / Nesterov
    "mlp_lr": {
        "architecture": ("cat", ["mlp"]),
        "optimizer": ("cat", ["sgd"]),
        "learning_rate": ("log", 1e-3, 3e-1),
        "momentum": ("real", 0.0, 0.95),
        "nesterov": ("cat", [False, True]),
        "lr_schedule": ("cat", ["time_based", "exponential"]),
        "lr_decay": ("log", 1e-3, 5e-1),
    },
    # galaxy-image CNN: augmentation and learning rate
    "augmentation": {
        "rotation": ("real", 0.0, 30.0),
        "translation": ("real", 0.0, 0.2),
        "zoom": ("real", 0.0, 0.2),
        "learning_rate": ("log", 1e-4, 1e-2),
        "lr_schedule": ("cat", ["constant", "step", "exponential", "cosine"]),
        # fixed so that "step" and "exponential" act from 3 epochs on (the defaults, lr_decay=0
        # and lr_step_size=10, keep the rate constant); not searched: they only mean
        # something for one schedule each, and a grid would grow 9-fold
        "lr_decay": ("cat", [0.2]),
        "lr_step_size": ("cat", [2]),
    },
    # Hyperband tutorial: batch size, log-uniform learning rate, activation incl. swish
    "hyperband": {
        "batch_size": ("int", 16, 128),
        "learning_rate": ("log", 1e-4, 1e-1),
        "activation": ("cat", ["relu", "tanh", "swish", None]),
    },
    # L1 / L2, dropout, early stopping
    "regularisation": {
        "l1": ("cat", [0.0, 1e-5, 1e-4]),
        "l2": ("cat", [0.0, 1e-4, 1e-3]),
        "dropout": ("real", 0.0, 0.5),
        "early_stopping": ("cat", [False, True]),
    },
    # transfer learning: a keras.applications backbone trained head first, then fine-tuned (with
    # weights="imagenet"; with your own weights file, fix architecture to its backbone with --set)
    "transfer": {
        "architecture": ("cat", ["mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_v2_b0"]),
        "freeze_epochs": ("int", 0, 3),
        "fine_tune_layers": ("cat", ["all", 30, 60]),
        "learning_rate": ("log", 1e-4, 1e-2),
        "fine_tune_learning_rate": ("log", 1e-5, 1e-3),
    },
}


def search_space(
    name: str | dict,
    kind: Literal["random", "bayes", "grid"] = "random",
    *,
    X: ArrayLike | None = None,
    image_shape: tuple[int, ...] | None = None,
) -> dict:
    """The preset ``name`` (or a dict of specs) in the form ``kind`` ("random", "bayes"
    or "grid") takes.

    ``name="auto"`` builds the default space from the data (see :func:`auto_space`): pass
    the training images as ``X`` (an array or ``ImageRows`` of shape (n, h, w[, c])), or,
    for file paths, ``X`` and the ``image_shape`` (h, w, c) they are read at.

    >>> import numpy as np
    >>> space = search_space("auto", X=np.zeros((5000, 32, 32, 3), np.uint8))
    >>> space["architecture"], space["flip"]
    (['convnet'], [None, 'horizontal'])
    """
    if isinstance(name, str) and name == "auto":
        if X is None:
            raise ValueError(
                'search_space("auto") builds the space from the data: pass X=the training '
                "images (and image_shape=(h, w, c) when X holds file paths)."
            )
        shape = image_shape or np.shape(X)[1:]
        if len(shape) < 2:
            raise ValueError(
                "X holds no image shape (file paths?): pass image_shape=(h, w, c), the shape the "
                "files are read at."
            )
        specs = auto_space(shape, len(X))
    elif isinstance(name, dict):
        specs = name
    elif name in PRESETS:
        specs = PRESETS[name]
    else:
        raise ValueError(
            f"Unknown search space {name!r}; choose 'auto', one of {sorted(PRESETS)} or give a "
            "file."
        )
    convert = {"random": _random, "bayes": _bayes, "grid": _grid}.get(kind)
    if convert is None:
        raise ValueError(f"kind must be 'random', 'bayes' or 'grid', got {kind!r}.")
    return {param: convert(*spec) for param, spec in specs.items()}


def auto_space(image_shape: tuple[int, ...], n_samples: int) -> dict:
    """Specs of the default search space for images of ``image_shape`` (h, w, channels)
    and a training set of ``n_samples`` images.

    Every configuration it draws can learn: the batch-normalised ``convnet`` (plain or
    residual; the tutorials' ``cnn`` is also drawn for images under 32 px), Adam at a
    log-uniform rate around 1e-3 with decoupled weight decay, a cosine or one-cycle
    schedule (the cosine with a one-epoch warm-up), no sigmoid hidden layers and no plain
    SGD. Width and batch size follow the data: narrower nets and smaller batches for a
    few hundred images; for colour images the augmentations that help photos (horizontal
    flips, small shifts and zooms), for grayscale only small shifts (a flipped digit is
    another digit).

    >>> specs = auto_space((32, 32, 3), 10_000)
    >>> specs["architecture"], specs["flip"]
    (('cat', ['convnet']), ('cat', [None, 'horizontal']))
    >>> auto_space((8, 8, 1), 1_000)["architecture"]
    ('cat', ['cnn', 'convnet'])
    """
    height, width, channels = (tuple(image_shape) + (1,))[:3]
    small_images = min(height, width) < 32
    few = n_samples < 2_000
    specs = {
        "architecture": ("cat", ["cnn", "convnet"] if small_images else ["convnet"]),
        "filters": ("cat", [16, 24, 32] if few or small_images else [24, 32, 48]),
        "n_blocks": ("cat", [1, 2]),
        "residual": ("cat", [False, True]),
        "batch_norm": ("cat", [True]),
        "activation": ("cat", ["relu", "swish"]),
        "kernel_initializer": ("cat", ["he_normal"]),
        "dropout": ("real", 0.0, 0.4),
        "optimizer": ("cat", ["adam"]),
        "learning_rate": ("log", 3e-4, 3e-3),
        "weight_decay": ("log", 1e-5, 1e-2),
        "lr_schedule": ("cat", ["cosine", "one_cycle"]),
        "warmup_epochs": ("cat", [0, 1]),
        "batch_size": ("cat", [16, 32, 64] if few else [32, 64, 128]),
        "epochs": ("int", 5, 20 if few else 15),
        "translation": ("real", 0.0, 0.1),
    }
    if channels == 3:
        specs.update(flip=("cat", [None, "horizontal"]), zoom=("real", 0.0, 0.1))
    return specs


def read_space_file(path: str | os.PathLike) -> dict:
    """Specs from a YAML or JSON file: ``param: [choices]`` or
    ``param: {int|log|real: [low, high]}``.

    >>> import json, tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
    ...     json.dump({"dropout": {"real": [0, 0.5]}, "activation": ["relu", "tanh"]}, file)
    >>> read_space_file(file.name)
    {'dropout': ('real', 0.0, 0.5), 'activation': ('cat', ['relu', 'tanh'])}
    """
    import yaml  # YAML is a superset of JSON

    with open(path) as file:
        mapping = yaml.safe_load(file)
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(
            f"{path} must map parameter names to [choices] or {{int|log|real: [low, high]}}."
        )
    return {str(param): _spec(path, param, value) for param, value in mapping.items()}


def _spec(path, param, value):
    if isinstance(value, list) and value:
        return ("cat", value)
    if isinstance(value, dict) and len(value) == 1:
        ((kind, bounds),) = value.items()
        if kind in ("int", "log", "real") and isinstance(bounds, list) and len(bounds) == 2:
            low, high = (int(b) if kind == "int" else float(b) for b in bounds)
            if low < high and (kind != "log" or low > 0):
                return (kind, low, high)
    raise ValueError(
        f"{path}: {param}: {value!r} is not a search range; write a list of choices or "
        "{int: [low, high]}, {log: [low, high]} (low > 0) or {real: [low, high]} with low < high."
    )


def _random(kind, *args):
    from scipy.stats import loguniform, randint, uniform

    if kind == "cat":
        return list(args[0])
    low, high = args
    return {
        "int": lambda: randint(low, high + 1),
        "log": lambda: loguniform(low, high),
        "real": lambda: uniform(low, high - low),
    }[kind]()


def _bayes(kind, *args):
    from skopt.space import Categorical, Integer, Real

    if kind == "cat":
        return Categorical(list(args[0]))
    low, high = args
    return {
        "int": lambda: Integer(low, high),
        "log": lambda: Real(low, high, prior="log-uniform"),
        "real": lambda: Real(low, high),
    }[kind]()


def _grid(kind, *args):
    if kind == "cat":
        return list(args[0])
    low, high = args
    if kind == "int":
        return sorted({int(round(v)) for v in np.linspace(low, high, 3)})
    values = np.geomspace(low, high, 3) if kind == "log" else np.linspace(low, high, 3)
    return [float(f"{v:.3g}") for v in values]
