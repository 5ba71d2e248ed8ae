"""The estimator and the search that ``skhpo tune``'s settings describe.

Every searcher starts from the estimator's own configuration (scikit-learn's and skopt's
through ``search.starting``, ours by default), so that a search cut short still has it to
fall back on. None refits: ``tune`` refits the best itself, within the time limit.
``GridSearchCV``, ``RandomizedSearchCV`` and ``BayesSearchCV`` dispatch all the fits of a
batch at once (``pre_dispatch="all"``), so that a progress bar knows its total from the start.
"""

import sys

import numpy as np

OUR_SEARCHERS = ("hyperband", "asha")  # the library's own searchers: they take a --sampler
LARGE_GRID_FITS = 1000  # a grid of more fits than this is worth a note


def base_estimator(settings, fits, stream_params):
    """The ``CNNClassifier`` every candidate starts from: seeded, a validation split,
    checkpoints in ``fits`` (for ``--resume``), the streaming parameters, and the ``--set``
    values; ``ValueError`` names a ``--set`` parameter it does not have."""
    from ..estimators import CNNClassifier

    params = {
        "random_state": settings.random_state,
        "validation_fraction": 0.1,
        "checkpoint_dir": str(fits),
        **stream_params,
        **settings.fixed,
    }
    estimator = CNNClassifier()
    unknown = set(params) - set(estimator.get_params())
    if unknown:
        raise ValueError(f"--set names unknown parameter(s) {sorted(unknown)} of CNNClassifier.")
    return estimator.set_params(**params)


def make_search(settings, estimator, scorer, image_shape, n_train):
    """``(search, searched names)``: the search over the space the settings name (``--set``
    parameters left out, and the epochs for a rung searcher, which sets them per rung)."""
    from ..search.spaces import search_space

    specs = _space_specs(settings, image_shape, n_train)
    if settings.rung_search:
        specs.pop("epochs", None)  # the resource, set per rung
    for name in settings.fixed:  # fixed with --set: not searched (architecture= with weights=)
        specs.pop(name, None)
    unknown = set(specs) - set(estimator.get_params())
    if unknown:
        raise ValueError(
            f"The search space names unknown parameter(s) {sorted(unknown)} of CNNClassifier."
        )
    kind = {"grid": "grid", "bayes": "bayes"}.get(settings.searcher, "random")
    space = search_space(specs, kind)
    return _searcher(settings, estimator, space, scorer), list(specs)


def _space_specs(settings, image_shape, n_train):
    """The search space's specs: ``auto`` built from the data, a preset, or a file's."""
    from ..search.spaces import PRESETS, auto_space, read_space_file

    if settings.space == "auto":
        return auto_space(image_shape, n_train)
    if settings.space in PRESETS:
        return dict(PRESETS[settings.space])
    return read_space_file(settings.space)


def _searcher(settings, estimator, space, scorer):
    """The search object of ``--searcher`` over ``space``."""
    common = {
        "scoring": scorer,
        "cv": settings.cv,
        "n_jobs": settings.n_jobs,
        "error_score": np.nan,
        "refit": False,
    }
    seeded = {**common, "random_state": settings.random_state}
    if settings.sampler != "random":
        if settings.searcher not in OUR_SEARCHERS:
            raise ValueError(
                f"--sampler {settings.sampler} works with --searcher hyperband or asha "
                f"(got --searcher {settings.searcher})."
            )
        seeded["sampler"] = settings.sampler
    if settings.searcher in OUR_SEARCHERS:
        return _our_searcher(settings, estimator, space, seeded)
    return _library_searcher(settings, estimator, space, common, seeded)


def _our_searcher(settings, estimator, space, seeded):
    """Our ``HyperbandSearchCV`` or ``AsyncHalvingSearchCV``."""
    if settings.searcher == "asha":
        from ..search.asha import AsyncHalvingSearchCV

        return AsyncHalvingSearchCV(
            estimator,
            space,
            n_candidates=settings.n_iter,
            max_epochs=settings.max_epochs,
            factor=3,
            **seeded,
        )
    from ..search.hyperband import HyperbandSearchCV

    return HyperbandSearchCV(estimator, space, max_epochs=settings.max_epochs, factor=3, **seeded)


def _library_searcher(settings, estimator, space, common, seeded):
    """scikit-learn's or skopt's searcher, from ``search.starting`` (imported only here:
    skopt and the halving searches load when such a search is made)."""
    from ..search import starting

    if settings.searcher == "grid":
        _note_a_large_grid(settings, space)
        return starting.GridSearchCV(estimator, space, pre_dispatch="all", **common)
    sampled = {"n_iter": settings.n_iter, "pre_dispatch": "all"}
    if settings.searcher == "random":
        return starting.RandomizedSearchCV(estimator, space, **sampled, **seeded)
    if settings.searcher == "bayes":
        return starting.BayesSearchCV(estimator, space, **sampled, **seeded)
    return starting.HalvingRandomSearchCV(  # it takes no pre_dispatch
        estimator,
        space,
        resource="epochs",
        min_resources=1,
        max_resources=settings.max_epochs,
        factor=3,
        **seeded,
    )


def _note_a_large_grid(settings, space):
    """Say on stderr when a grid means many fits, and what samples it instead."""
    from sklearn.model_selection import ParameterGrid

    n_fits = len(ParameterGrid(space)) * settings.cv
    if n_fits > LARGE_GRID_FITS:
        print(
            f"skhpo: the {settings.space} grid means {n_fits} fits; --searcher random or "
            "hyperband samples it instead.",
            file=sys.stderr,
        )
