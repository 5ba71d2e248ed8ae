"""Time to accuracy against the peers: the same data, space, seeds and wall budget per system.

Fashion-MNIST from ../shared/data/fashion_mnist: the first 10,000 training images (``--samples``; one
stratified 90/10 split of them is every system's validation split) and the official
10,000 test images. One search space: the ``hyperband`` preset's batch size, log-uniform
learning rate and activation (None written "linear"), plus dropout and filters, on the
same Keras model (``architectures.build_model("cnn")``, 64 dense units, Adam). Epochs are
the resource, 1..``--max-epochs``, factor 3. Each system runs in a fresh process for
``--budget`` minutes of wall time (stopped by SIGALRM, or by its own time limit):

- ours: ``HyperbandSearchCV`` (``n_iterations=1000``, like keras-tuner's ``hyperband_iterations``:
  brackets repeat with new candidates until the time limit) and ``AsyncHalvingSearchCV``,
  ``n_jobs=2``, ``time_limit``;
- keras-tuner 1.4 ``Hyperband`` on a ``build(hp)`` HyperModel;
- scikeras 0.13 ``KerasClassifier`` in sklearn's ``HalvingRandomSearchCV(resource="epochs")``
  (3 x max-epochs candidates) and in ``RandomizedSearchCV`` (epochs drawn from 1..max), n_jobs=2;
- Optuna: TPE + ``HyperbandPruner`` with optuna-integration's ``KerasPruningCallback``;
- the baseline: the untuned default ``CNNClassifier`` (10 epochs).

Every model a system trains (rung, trial or pruned trial) is recorded with its time, its
validation accuracy and its accuracy on 2,000 of the official test images. The curve of a
system is the test accuracy of its best-so-far model (by validation accuracy) against
minutes. After the budget, the configuration with the best validation accuracy (with its
epochs) is refitted the same way for every system, a ``CNNClassifier`` on all 10,000
training images, and scored on the 10,000 test images: the final test accuracy.

Prints a table, for each of ours "time to reach the best peer's best-so-far test accuracy /
budget" (target <= 0.5; on the curve, the same measure for every system: 2,000 test
images, models trained on 9,000), the difference of final refit accuracies from the best
peer's (target >= -0.3 points) and from the untuned default's, and draws the curves to a PNG.

    python benchmarks/bench_peers.py [--budget 10] [--systems ours-asha,keras-tuner,...] \\
        [--max-epochs 9] [--output runs/bench_peers]

Skips, with a message, when the data is absent or a peer is not installed
(``pip install -e '.[bench]'``).
"""

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from peers_report import OURS, curve, report

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "fashion_mnist"
N_TRAIN, N_CURVE = 10_000, 2_000
ACTIVATIONS, FILTERS = ["relu", "tanh", "swish", "linear"], [8, 16, 32]
SPECS = {"batch_size": ("int", 16, 128), "learning_rate": ("log", 1e-4, 1e-1), "activation": ("cat", ACTIVATIONS),
         "dropout": ("real", 0.0, 0.5), "filters": ("cat", FILTERS)}  # fmt: skip
BASE = dict(dense_units=64, random_state=0)  # every system's model, and the refit
SYSTEMS = {  # name: (label, modules it needs)
    "baseline": ("default CNNClassifier (untuned)", ()),
    "ours-hyperband": ("ours: HyperbandSearchCV", ()),
    "ours-asha": ("ours: AsyncHalvingSearchCV", ()),
    "keras-tuner": ("keras-tuner Hyperband", ("keras_tuner",)),
    "scikeras-halving": ("scikeras + HalvingRandomSearchCV", ("scikeras",)),
    "scikeras-random": ("scikeras + RandomizedSearchCV", ("scikeras",)),
    "optuna": ("Optuna TPE + HyperbandPruner", ("optuna", "optuna_integration")),
}


class BudgetSpent(BaseException):
    """Raised in the main thread when the budget runs out (a BaseException, so that no
    searcher scores it as a failed fit)."""


# -- data and records (used in each system's process) -------------------------------------
def load_data(samples):
    from sklearn.model_selection import StratifiedShuffleSplit

    from sklearn_keras_hpo.data.datasets import load_mnist

    X, y = load_mnist(DATA)
    X_test, y_test = load_mnist(DATA, "test")
    X, y = X[:samples], y[:samples].astype(np.int64)
    split = next(StratifiedShuffleSplit(n_splits=1, test_size=0.1, random_state=0).split(X, y))
    return X, y, X_test, y_test.astype(np.int64), split


def as_float(X):
    return (X.astype(np.float32) / 255.0)[..., None]


def canonical(params):
    """The searched parameters and epochs, under their CNNClassifier names."""
    names = {name.split("__")[-1]: value for name, value in params.items()}
    kept = {k: names[k] for k in (*SPECS, "epochs") if k in names}
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in kept.items()}


def record(path, params, val, test):
    line = json.dumps({"t": time.time(), "params": canonical(params), "val": float(val), "test": float(test)})
    with open(path, "a") as file:  # one short append per model: atomic across processes
        file.write(line + "\n")


class TimelineScorer:
    """Validation accuracy for the search; records it with the test accuracy of the model."""

    def __init__(self, path, X_curve, y_curve):
        self.path, self.X_curve, self.y_curve = str(path), X_curve, y_curve

    def __call__(self, estimator, X, y):
        val = float(np.mean(estimator.predict(X) == y))
        record(self.path, estimator.get_params(), val, np.mean(estimator.predict(self.X_curve) == self.y_curve))
        return val


def keras_cnn(activation, filters, dropout, learning_rate):
    """The model every peer builds: our "cnn" builder, compiled with Adam."""
    from sklearn_keras_hpo._backend import keras_and_tf
    from sklearn_keras_hpo.model.architectures import build_model

    keras, _ = keras_and_tf()
    model = build_model("cnn", (28, 28, 1), 10, activation=activation, filters=filters, dropout=dropout,
                        dense_units=BASE["dense_units"])  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    return model


def scikeras_model(activation, filters, dropout, meta):
    from sklearn_keras_hpo.model.architectures import build_model

    return build_model("cnn", meta["X_shape_"][1:], meta["n_classes_"], activation=activation, filters=filters,
                       dropout=dropout, dense_units=BASE["dense_units"])  # fmt: skip


def accuracy(model, X, y):
    return float(np.mean(np.argmax(model.predict(X, verbose=0), axis=1) == y))


# -- the systems: each runs until its budget is spent --------------------------------------
def run_ours(name, ctx):
    from sklearn_keras_hpo import AsyncHalvingSearchCV, CNNClassifier, HyperbandSearchCV, search_space

    X, y, curve, split, args = ctx["X"], ctx["y"], ctx["curve"], ctx["split"], ctx["args"]
    common = dict(max_epochs=args.max_epochs, factor=3, cv=[split], scoring=TimelineScorer(ctx["records"], *curve),
                  refit=False, n_jobs=args.n_jobs, random_state=0, time_limit=ctx["budget"])  # fmt: skip
    estimator, space = CNNClassifier(**BASE), search_space(SPECS)
    if name == "ours-hyperband":
        search = HyperbandSearchCV(estimator, space, n_iterations=1000, **common)  # until time_limit, as keras-tuner
    else:
        search = AsyncHalvingSearchCV(estimator, space, **common)
    search.fit(X, y)


def run_scikeras(name, ctx):
    from scipy.stats import randint
    from scikeras.wrappers import KerasClassifier
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV

    from sklearn_keras_hpo import search_space

    X, y, split, args = as_float(ctx["X"]), ctx["y"], ctx["split"], ctx["args"]
    X_curve, y_curve = ctx["curve"]
    clf = KerasClassifier(scikeras_model, model__activation="relu", model__filters=16, model__dropout=0.25,
                          optimizer="adam", optimizer__learning_rate=1e-3, loss="sparse_categorical_crossentropy",
                          epochs=1, batch_size=32, verbose=0, random_state=0)  # fmt: skip
    prefix = {"activation": "model__", "filters": "model__", "dropout": "model__", "learning_rate": "optimizer__"}
    space = {prefix.get(k, "") + k: v for k, v in search_space(SPECS).items()}
    common = dict(cv=[split], scoring=TimelineScorer(ctx["records"], as_float(X_curve), y_curve), refit=False,
                  n_jobs=args.n_jobs, random_state=0)  # fmt: skip
    if name == "scikeras-halving":
        search = HalvingRandomSearchCV(clf, space, resource="epochs", min_resources=1, max_resources=args.max_epochs,
                                       factor=3, n_candidates=3 * args.max_epochs, **common)  # fmt: skip
    else:
        search = RandomizedSearchCV(clf, {**space, "epochs": randint(1, args.max_epochs + 1)}, n_iter=10_000, **common)
    search.fit(X, y)


def run_keras_tuner(name, ctx):
    import keras_tuner as kt

    X, y, (train, val), args, path = as_float(ctx["X"]), ctx["y"], ctx["split"], ctx["args"], ctx["records"]
    X_curve, y_curve = as_float(ctx["curve"][0]), ctx["curve"][1]

    class CNN(kt.HyperModel):
        def build(self, hp):
            return keras_cnn(hp.Choice("activation", ACTIVATIONS), hp.Choice("filters", FILTERS),
                             hp.Float("dropout", 0.0, 0.5), hp.Float("learning_rate", 1e-4, 1e-1, sampling="log"))

        def fit(self, hp, model, *fit_args, **fit_kwargs):
            history = model.fit(*fit_args, batch_size=hp.Int("batch_size", 16, 128), **fit_kwargs)
            record(path, {**hp.values, "epochs": hp.values.get("tuner/epochs", fit_kwargs.get("epochs"))},
                   history.history["val_accuracy"][-1], accuracy(model, X_curve, y_curve))  # fmt: skip
            return history

    with tempfile.TemporaryDirectory() as directory:
        tuner = kt.Hyperband(CNN(), objective="val_accuracy", max_epochs=args.max_epochs, factor=3,
                             hyperband_iterations=1000, seed=0, directory=directory, project_name="bench",
                             overwrite=True)  # fmt: skip
        tuner.search(X[train], y[train], validation_data=(X[val], y[val]), verbose=0)


def run_optuna(name, ctx):
    import keras
    import optuna
    from optuna_integration.keras import KerasPruningCallback

    X, y, (train, val), args, path = as_float(ctx["X"]), ctx["y"], ctx["split"], ctx["args"], ctx["records"]
    X_curve, y_curve = as_float(ctx["curve"][0]), ctx["curve"][1]

    class LastEpoch(keras.callbacks.Callback):
        epochs, val = 0, float("nan")

        def on_epoch_end(self, epoch, logs=None):
            self.epochs, self.val = epoch + 1, (logs or {}).get("val_accuracy", float("nan"))

    def objective(trial):
        params = {
            "batch_size": trial.suggest_int("batch_size", 16, 128),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
            "activation": trial.suggest_categorical("activation", ACTIVATIONS),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "filters": trial.suggest_categorical("filters", FILTERS),
        }
        model = keras_cnn(params["activation"], params["filters"], params["dropout"], params["learning_rate"])
        last, pruned = LastEpoch(), False
        try:
            model.fit(X[train], y[train], batch_size=params["batch_size"], epochs=args.max_epochs, verbose=0,
                      validation_data=(X[val], y[val]), callbacks=[last, KerasPruningCallback(trial, "val_accuracy")])
        except optuna.TrialPruned:
            pruned = True
        record(path, {**params, "epochs": last.epochs}, last.val, accuracy(model, X_curve, y_curve))
        if pruned:
            raise optuna.TrialPruned()
        return last.val

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=args.max_epochs, reduction_factor=3)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0), pruner=pruner)
    study.optimize(objective, timeout=ctx["budget"])


RUNNERS = {"ours-hyperband": run_ours, "ours-asha": run_ours, "keras-tuner": run_keras_tuner,
           "scikeras-halving": run_scikeras, "scikeras-random": run_scikeras, "optuna": run_optuna}  # fmt: skip


def run_system(args):
    """In a fresh process: search for the budget, refit the best, write the results."""
    import keras

    from sklearn_keras_hpo import CNNClassifier
    from sklearn_keras_hpo._backend import keras_and_tf

    keras_and_tf()
    keras.utils.set_random_seed(0)
    X, y, X_test, y_test, split = load_data(args.samples)
    budget = args.budget * 60
    out = Path(args.result)
    records = out.with_suffix(".jsonl")
    records.unlink(missing_ok=True)
    ctx = dict(X=X, y=y, split=split, curve=(X_test[:N_CURVE], y_test[:N_CURVE]), args=args, budget=budget,
               records=records)  # fmt: skip
    start = time.time()
    if args.system == "baseline":
        model, params = CNNClassifier(random_state=0), {}
    else:
        own_limit = args.system in OURS  # ours stop themselves (time_limit); the peers are stopped
        signal.signal(signal.SIGALRM, _budget_spent)
        signal.setitimer(signal.ITIMER_REAL, budget * (1.5 if own_limit else 1.0) + (60 if own_limit else 0))
        try:
            RUNNERS[args.system](args.system, ctx)
        except BudgetSpent:
            pass
        except ValueError as error:  # ours: no candidate finished within the time limit
            if not (own_limit and "time_limit" in str(error)):
                raise
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    search_wall = time.time() - start
    rows = [json.loads(line) for line in records.read_text().splitlines()] if records.exists() else []
    result = {"system": args.system, "budget_s": budget, "search_wall_s": search_wall, "n_models": len(rows),
              "curve": curve(rows, start)}  # fmt: skip
    if args.system != "baseline":
        if not rows:
            out.write_text(json.dumps({**result, "final": None}))
            return
        best = max(rows, key=lambda row: (row["val"], -row["t"]))
        params = best["params"]
        model = CNNClassifier(**BASE).set_params(**params)
        result["best_val"] = best["val"]
    refit_start = time.time()
    model.fit(X, y)
    result["final"] = {"params": params, "test_accuracy": float(model.score(X_test, y_test)),
                       "refit_s": time.time() - refit_start}  # fmt: skip
    if args.system == "baseline":
        result["curve"] = [[(time.time() - start) / 60, result["final"]["test_accuracy"]]]
    out.write_text(json.dumps(result))


def _budget_spent(signum, frame):
    signal.setitimer(signal.ITIMER_REAL, 0.5)  # again, in case it lands in a __del__ and is ignored
    raise BudgetSpent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=10.0, help="minutes of search per system")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, from {', '.join(SYSTEMS)}")
    parser.add_argument("--max-epochs", type=int, default=9)
    parser.add_argument("--samples", type=int, default=N_TRAIN, help="training images (fewer for a quick check)")
    parser.add_argument("--n-jobs", type=int, default=2, help="workers of the scikit-learn-API systems")
    parser.add_argument("--output", default=str(ROOT / "runs" / "bench_peers"))
    parser.add_argument("--reuse", action="store_true", help="keep the results already in --output, run the rest")
    parser.add_argument("--system", help=argparse.SUPPRESS)  # internal: run one system in this process
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.system:
        return run_system(args)
    if not DATA.exists():
        print(f"skipped: Fashion-MNIST not found at {DATA.resolve()}")
        return
    names = [name.strip() for name in args.systems.split(",") if name.strip()]
    unknown = set(names) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; choose from {', '.join(SYSTEMS)}")
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    print(f"Fashion-MNIST: {args.samples} training images (90/10 split for validation), 10000 test images; "
          f"budget {args.budget:g} min per system; epochs 1..{args.max_epochs}; {os.cpu_count()} cores")
    results = {}
    for name in names:
        missing = [module for module in SYSTEMS[name][1] if importlib.util.find_spec(module) is None]
        if missing:
            print(f"skipped {name}: {', '.join(missing)} not installed (pip install -e '.[bench]')")
            continue
        result = output / f"{name}.json"
        if args.reuse and result.exists():
            results[name] = json.loads(result.read_text())
            print(f"{name}: reused {result}")
            continue
        command = [sys.executable, __file__, "--system", name, "--result", str(result), "--budget", str(args.budget),
                   "--max-epochs", str(args.max_epochs), "--n-jobs", str(args.n_jobs), "--samples", str(args.samples)]
        started = time.time()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not result.exists():
            print(f"{name}: failed (exit {done.returncode})\n{done.stderr[-3000:]}")
            continue
        results[name] = json.loads(result.read_text())
        print(f"{name}: {results[name]['n_models']} models in {results[name]['search_wall_s']:.0f} s, "
              f"process {time.time() - started:.0f} s")
    if results:
        report(results, args.budget, output, args.samples, {name: label for name, (label, _) in SYSTEMS.items()})


if __name__ == "__main__":
    main()
