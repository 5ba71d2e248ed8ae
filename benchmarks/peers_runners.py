"""The systems ``bench_peers.py`` runs, one function each (ours, scikeras, keras-tuner,
Optuna), and the records every model they train leaves: its time, its validation accuracy
and its accuracy on the curve images. Each runs in its system's own process, until its
budget is spent."""

import json
import time

import numpy as np
from peers_report import OURS_SEARCHES
from peers_tasks import as_float, compile_peer, epoch_schedule, kt_params, peer_model, suggest


# -- records (used in each system's process) ----------------------------------------------------
def canonical(params, names):
    """The searched parameters and epochs, under their CNNClassifier names."""
    short = {name.split("__")[-1]: value for name, value in params.items()}
    kept = {k: short[k] for k in (*names, "epochs") if k in short}
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in kept.items()}


def record(path, params, val, test, names, **extra):
    row = {
        "t": time.time(),
        "params": canonical(params, names),
        "val": float(val),
        "test": float(test),
        **extra,
    }
    with open(path, "a") as file:  # one short append per model: atomic across processes
        file.write(json.dumps(row) + "\n")


class TimelineScorer:
    """Validation accuracy for the search; records it with the curve accuracy of the model."""

    def __init__(self, path, X_curve, y_curve, names):
        self.path, self.X_curve, self.y_curve, self.names = str(path), X_curve, y_curve, list(names)

    def __call__(self, estimator, X, y):
        val = float(np.mean(estimator.predict(X) == y))
        record(
            self.path,
            estimator.get_params(),
            val,
            np.mean(estimator.predict(self.X_curve) == self.y_curve),
            self.names,
        )
        return val


def accuracy(model, X, y):
    return float(np.mean(np.argmax(model.predict(X, verbose=0, batch_size=256), axis=1) == y))


def searched(ctx, with_epochs=False):
    """The default space's specs, without ``epochs`` (the resource) unless asked for."""
    return {k: v for k, v in ctx["specs"].items() if with_epochs or k != "epochs"}


# -- the searches: each runs until its budget is spent -----------------------------------------
def run_ours(name, ctx):
    from sklearn_keras_hpo import (
        AsyncHalvingSearchCV,
        CNNClassifier,
        HyperbandSearchCV,
        search_space,
    )

    _, searcher, sampler = name.split("-")
    args, specs = ctx["args"], searched(ctx)
    common = dict(
        max_epochs=args.max_epochs,
        factor=3,
        cv=[ctx["split"]],
        refit=False,
        n_jobs=args.n_jobs,
        scoring=TimelineScorer(ctx["records"], *ctx["curve"], specs),
        random_state=0,
        time_limit=ctx["budget"],
        sampler=sampler,
    )
    estimator, space = CNNClassifier(random_state=0), search_space(specs)
    if (
        searcher == "hyperband"
    ):  # brackets repeat with new candidates until time_limit, as keras-tuner's
        search = HyperbandSearchCV(estimator, space, n_iterations=1000, **common)
    else:
        search = AsyncHalvingSearchCV(estimator, space, **common)
    search.fit(ctx["X"], ctx["y"])
    return {
        "params": canonical(search.best_params_, specs),
        "val": float(search.best_score_),
        "chosen_by": f"best_params_ (best at best_n_resources_={search.best_n_resources_} epochs)",
    }


def run_scikeras(name, ctx):
    from scikeras.wrappers import KerasClassifier
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV

    from sklearn_keras_hpo import search_space

    args, specs = ctx["args"], searched(ctx, with_epochs=name == "scikeras-random")
    prefix = {
        "learning_rate": "optimizer__",
        "weight_decay": "optimizer__",
        "batch_size": "",
        "epochs": "",
    }
    space = {prefix.get(k, "model__") + k: v for k, v in search_space(specs).items()}
    first = {
        key: value[0] if isinstance(value, list) else value.rvs(random_state=0)
        for key, value in space.items()
    }
    clf = KerasClassifier(
        scikeras_model,
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        callbacks=[epoch_schedule()],
        verbose=0,
        random_state=0,
        **{"epochs": 1, **first},
    )
    common = dict(
        cv=[ctx["split"]],
        refit=False,
        n_jobs=args.n_jobs,
        random_state=0,
        scoring=TimelineScorer(ctx["records"], as_float(ctx["curve"][0]), ctx["curve"][1], specs),
    )
    if name == "scikeras-halving":
        search = HalvingRandomSearchCV(
            clf,
            space,
            resource="epochs",
            min_resources=1,
            max_resources=args.max_epochs,
            factor=3,
            n_candidates=3 * args.max_epochs,
            **common,
        )
    else:
        search = RandomizedSearchCV(clf, space, n_iter=10_000, **common)
    search.fit(as_float(ctx["X"]), ctx["y"])


def scikeras_model(meta=None, compile_kwargs=None, params=None, **model_params):
    return peer_model(model_params, meta["X_shape_"][1:], meta["n_classes_"])


def run_keras_tuner(name, ctx):
    import keras_tuner as kt

    X, y, (train, val), args, specs = (
        as_float(ctx["X"]),
        ctx["y"],
        ctx["split"],
        ctx["args"],
        searched(ctx),
    )
    X_curve, y_curve = as_float(ctx["curve"][0]), ctx["curve"][1]

    class CNN(kt.HyperModel):
        def build(self, hp):
            params = kt_params(hp, specs)
            model = peer_model(params, X.shape[1:], ctx["n_classes"])
            return compile_peer(model, params["learning_rate"], params["weight_decay"])

        def fit(self, hp, model, *fit_args, callbacks=(), **fit_kwargs):
            params = kt_params(hp, specs)
            history = model.fit(
                *fit_args,
                batch_size=params["batch_size"],
                callbacks=[*callbacks, epoch_schedule()],
                **fit_kwargs,
            )
            record(
                ctx["records"],
                {**params, "epochs": hp.values.get("tuner/epochs", fit_kwargs.get("epochs"))},
                history.history["val_accuracy"][-1],
                accuracy(model, X_curve, y_curve),
                specs,
            )
            return history

    tuner = kt.Hyperband(
        CNN(),
        objective="val_accuracy",
        max_epochs=args.max_epochs,
        factor=3,
        hyperband_iterations=1000,
        seed=0,
        directory=ctx["scratch"],
        project_name="bench",
        overwrite=True,
    )
    tuner.search(X[train], y[train], validation_data=(X[val], y[val]), verbose=0)


def run_optuna(name, ctx):
    import keras
    import optuna
    from optuna_integration.keras import KerasPruningCallback

    X, y, (train, val), args, specs = (
        as_float(ctx["X"]),
        ctx["y"],
        ctx["split"],
        ctx["args"],
        searched(ctx),
    )
    X_curve, y_curve = as_float(ctx["curve"][0]), ctx["curve"][1]

    class LastEpoch(keras.callbacks.Callback):
        epochs, val = 0, float("nan")

        def on_epoch_end(self, epoch, logs=None):
            self.epochs, self.val = epoch + 1, (logs or {}).get("val_accuracy", float("nan"))

    def objective(trial):
        params = {name: suggest(trial, name, *spec) for name, spec in specs.items()}
        model = compile_peer(
            peer_model(params, X.shape[1:], ctx["n_classes"]),
            params["learning_rate"],
            params["weight_decay"],
        )
        last, pruned = LastEpoch(), False
        try:
            model.fit(
                X[train],
                y[train],
                batch_size=params["batch_size"],
                epochs=args.max_epochs,
                verbose=0,
                validation_data=(X[val], y[val]),
                callbacks=[last, epoch_schedule(), KerasPruningCallback(trial, "val_accuracy")],
            )
        except optuna.TrialPruned:
            pruned = True
        record(
            ctx["records"],
            {**params, "epochs": last.epochs},
            last.val,
            accuracy(model, X_curve, y_curve),
            specs,
            complete=not pruned,
        )
        if pruned:
            raise optuna.TrialPruned()
        return last.val

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=args.max_epochs, reduction_factor=3
    )
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=0), pruner=pruner
    )
    study.optimize(objective, timeout=ctx["budget"])


RUNNERS = {
    **dict.fromkeys(OURS_SEARCHES, run_ours),
    "keras-tuner": run_keras_tuner,
    "optuna": run_optuna,
    "scikeras-random": run_scikeras,
    "scikeras-halving": run_scikeras,
}


# -- whole runs inside the budget (refit included): ours as `skhpo tune`, and the bound ---------
def run_tune(ctx, X_test, y_test):
    """``skhpo tune --time-limit <budget>`` with its defaults (one probe, then the default
    trained for the whole budget, or an asha search in a share of it whose best trains on
    from its checkpoint) on the training images, all held in (``--test-size 0``); its model
    scored on the test split. Everything it does runs inside the budget (the other searches'
    refits run after theirs), so its curve is one point: the model it writes, when it writes
    it. Its "Time limit:" lines (the plan and what it did) are kept in the result."""
    import contextlib
    import io
    import tempfile
    from pathlib import Path

    from sklearn_keras_hpo import load
    from sklearn_keras_hpo.cli import main

    args = ctx["args"]
    with tempfile.TemporaryDirectory(prefix="bench-tune-") as scratch:
        data, output = Path(scratch) / "train.npz", Path(scratch) / "run"
        np.savez(data, x=ctx["X"], y=ctx["y"])
        start, printed = time.time(), io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = main(
                [
                    "tune",
                    "--data",
                    str(data),
                    "--test-size",
                    "0",
                    "--time-limit",
                    str(ctx["budget"]),
                    "--n-jobs",
                    str(args.n_jobs),
                    "--output",
                    str(output),
                    "--no-progress",
                ]
            )
        wall = time.time() - start
        if code:
            raise RuntimeError(f"skhpo tune exited {code}: {printed.getvalue()[-2000:]}")
        model = load(output / "model")
        params = json.loads((output / "best_params.json").read_text())
        records = output / "finished_fits.jsonl"
        n_fits = len(records.read_text().splitlines()) if records.exists() else 0
    plan = [line for line in printed.getvalue().splitlines() if line.startswith("Time limit:")]
    curve_accuracy = float(model.score(*ctx["curve"]))
    final = {
        "params": {**params, "epochs": model.get_params()["epochs"]},
        "test_accuracy": float(model.score(X_test, y_test)),
        "refit_s": float("nan"),
        "chosen_by": " ".join(plan),
    }
    return {
        "search_wall_s": wall,
        "n_models": max(1, n_fits),
        "curve": [[wall / 60, curve_accuracy]],
        "final": final,
    }


def run_default_for_budget(ctx, X_test, y_test):
    """The bound the issue names: the default configuration trained alone for the whole
    budget, its epochs (and so its schedule) set from the library's own probe
    (``time_limit.probe.measure_training``), which counts in the budget."""
    from sklearn_keras_hpo import CNNClassifier
    from sklearn_keras_hpo.time_limit.probe import measure_training

    start = time.time()
    seed = ctx.get("seed", 0)
    cost = measure_training(CNNClassifier(random_state=seed), ctx["X"], ctx["y"])
    left = ctx["budget"] - (time.time() - start) - cost.fixed
    epochs = max(1, int(left // cost.epoch))
    model = CNNClassifier(random_state=seed, epochs=epochs).fit(ctx["X"], ctx["y"])
    wall = time.time() - start
    final = {
        "params": {"epochs": epochs},
        "test_accuracy": float(model.score(X_test, y_test)),
        "refit_s": wall,
        "chosen_by": f"one epoch probed at {cost.epoch:.1f} s; seed {seed}",
    }
    return {
        "search_wall_s": wall,
        "n_models": 1,
        "curve": [[wall / 60, float(model.score(*ctx["curve"]))]],
        "final": final,
    }
