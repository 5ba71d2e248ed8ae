"""The parameters and attributes the two rung searchers share, documented once: each
searcher's docstring holds ``{shared_parameters}`` and ``{shared_attributes}``, which
``shared_docs`` fills when the class is defined (so ``help()``, Sphinx and the doctests
read the whole text)."""

SHARED_PARAMETERS = """\
    estimator : estimator object
        Typically a ``CNNClassifier``/``CNNRegressor``; it must take the ``resource``
        parameter (``epochs``).
    param_distributions : dict or list of dicts
        Lists or scipy/sklearn distributions, as for ``RandomizedSearchCV``.
    time_limit : float, default=None
        Seconds; then no fit starts, the fits still running are dropped (a fit running
        in this process, with ``n_jobs=1``, finishes), and the search ends with every
        (candidate, epochs) whose folds all finished.
    min_epochs : int, default=1
        Epochs of the first rung of the most exploratory schedule.
    max_epochs : int, default=81
        Epochs of the top rung; the rungs are ``max_epochs / factor**k``.
    factor : int, default=3
        Keep the best ``1/factor`` of the candidates at each rung (eta).
    resource : str, default="epochs"
        The estimator parameter that receives each rung's epochs.
    warm_start : bool, default=True
        Continue each candidate from its previous rung on the same fold, through the
        estimator's ``checkpoint_dir`` (estimators without one retrain).
    checkpoint_dir : str, default=None
        Where rung checkpoints go; None means the estimator's own ``checkpoint_dir``, or
        else a temporary directory removed after ``fit``. A kept directory makes the
        search resumable: run it again and finished fits are restored, not retrained.
        On a multi-machine Dask cluster, give a directory every worker sees.
    sampler : {"random", "tpe"} or Optuna sampler, default="random"
        What to try next: random draws from ``param_distributions``, or a model of the
        results so far (``"tpe"``: Optuna's ``TPESampler``, or any Optuna sampler
        instance, through its ask/tell interface; needs the ``optuna`` extra), fit on
        the results of the largest epochs with at least d + 1 of them (BOHB's rule).
    points_to_evaluate : list of dict, default=None
        Candidates tried first and kept at every rung up to ``max_epochs``, so the best
        is never chosen over them by a noisier, shorter fit. None means the estimator's
        own values of the searched parameters (the configuration you would get without
        searching); ``[]`` means none.
    refit_epochs : {"searched", "scaled"} or int, default="searched"
        Epochs of the refit on all of ``X``: the best row's own (``best_n_resources_``);
        ``"scaled"``, those times the whole training set's size over a training fold's
        (the validation images join the training set: 9 epochs chosen with cv=3 become
        14); or a number of your own.
    scoring, refit, cv, verbose, error_score, return_train_score
        As in ``GridSearchCV``; a failed fit is scored ``error_score``, ranks last, and
        the search goes on (a batch where every fit failed warns, it does not raise).
    n_jobs : int, default=None
        Fits run at once (one fold of one candidate each); a new fit starts as soon as a
        worker is free. ``joblib.parallel_config`` picks the backend (loky processes, or
        a Dask cluster with ``backend="dask"``). A worker process that dies takes only
        its fits down: they run again on fresh workers.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of candidates.
    log_to : str, dict or SearchLogger, default=None
        Log the search to MLflow (and TensorBoard): a tracking URI such as
        ``"sqlite:///mlflow.db"``, a dict of ``tracking.log_search`` keywords
        (``{"experiment": "cifar", "tensorboard_dir": "tb"}``) or a ``log_search()``
        object; one parent run, a child run per candidate, per-epoch curves per fold."""

SHARED_ATTRIBUTES = """\
    best_params_, best_score_, best_index_, best_estimator_, n_splits_, refit_time_
        As in ``GridSearchCV``, the best chosen among the rows of the largest epochs
        that finished (where a time limit stopped the search before any promotion,
        among the starting points' rows: a first-rung score promotes a candidate, it
        does not replace the configuration the search started from);
        ``best_params_`` includes the rung's epochs.
    best_n_resources_ : int
        Epochs of the best row: below ``max_epochs`` when the time limit stopped the
        search before any candidate reached it.
    refit_epochs_ : int
        Epochs the refit trained (see ``refit_epochs``)."""


def shared_docs(cls):
    """Fill ``{shared_parameters}`` and ``{shared_attributes}`` in ``cls``'s docstring."""
    cls.__doc__ = cls.__doc__.replace("    {shared_parameters}", SHARED_PARAMETERS).replace(
        "    {shared_attributes}", SHARED_ATTRIBUTES
    )
    return cls
