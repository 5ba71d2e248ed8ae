"""Against the peers on three real tasks: the same data, default space, seeds and wall budget \
per system.

Tasks (``--task``; data, hand-written nets and peer models in ``peers_tasks.py``):
``fashion`` (Fashion-MNIST, the first 10,000 training images, 10 minutes), ``cifar10``
(CIFAR-10 RGB JPEGs, a stratified seeded 10,000 at 32 px, 10 minutes), ``mnist27`` (MNIST
2s vs 7s: all 12,223 training images, the 2,060 official test images of those classes,
15 minutes). One stratified 90/10 split of the training images is every searcher's
validation split. Every system runs in a fresh process:

- ``baseline``: the untuned default ``CNNClassifier(random_state=0)`` on all training
  images (architecture "auto": the tutorials' ``cnn`` at 28 px with a constant rate and no
  augmentation, ``convnet`` at 32 px with a cosine schedule and, in colour, horizontal
  flips; 10 epochs, batch 32, Adam 1e-3);
- ``handwritten``: the task's classic hand-written Keras net, on all training images for
  the budget (``peers_tasks.run_handwritten``);
- ours: ``AsyncHalvingSearchCV`` and ``HyperbandSearchCV(n_iterations=1000)``, each with
  ``sampler="random"`` and ``"tpe"`` (``ours-asha-random``, ``ours-asha-tpe``,
  ``ours-hyperband-random``, ``ours-hyperband-tpe``), on the default space
  ``search_space(auto_space(image shape, n training images))`` without its ``epochs`` (the
  resource, 1..``--max-epochs``, factor 3), the estimator's own configuration as the first
  candidate (``points_to_evaluate=None``), ``n_jobs=2``, ``time_limit`` = the budget;
- ``ours-tune``: ``skhpo tune --time-limit <budget>`` with its defaults (ASHA from the
  default configuration, 3 folds, the search in 0.4 of the limit, then the best refitted
  for the epochs the time left affords): the whole run, refit included, inside the budget,
  where every other search's refit runs after its budget; its curve is the one model it
  writes, when it writes it;
- ``default-budget``: the bound the issue names, the default configuration trained alone
  for the whole budget (its epochs, and so its cosine schedule, set from one measured
  epoch, which counts in the budget);
- the peers, on the same space (each entry as its API writes it: keras-tuner ``hp.Choice``/
  ``hp.Int``/``hp.Float`` with choices as strings and one-value choices fixed, Optuna
  ``suggest_*``, scikeras ``model__``/``optimizer__`` parameters and scipy distributions)
  and the same Keras model, built by ``peers_tasks.peer_model`` from the library's own
  builders and augmentation layers, compiled with Adam and decoupled weight decay, the
  schedule applied per epoch by the library's ``schedule_function``: Optuna TPE +
  ``HyperbandPruner`` (``optuna``), keras-tuner ``Hyperband`` (``keras-tuner``), scikeras
  + ``RandomizedSearchCV`` with the space's own ``epochs`` range (``scikeras-random``);
  ``scikeras-halving`` (``HalvingRandomSearchCV(resource="epochs")``) on request.

Every model a search trains (rung, trial or pruned trial) is recorded with its time, its
validation accuracy and its accuracy on the curve images (a stratified seeded 2,000 of the
test images; all 2,060 for mnist27); the hand-written net is measured on them after each
epoch. A system's curve is the curve accuracy of its best-so-far model (by validation
accuracy) against minutes. After the budget each system's own choice is refitted the
same way, a ``CNNClassifier(random_state=0, **choice)`` on all training images, and
scored on the whole official test split: ours ``best_params_`` (the best at the largest
epochs reached, ``best_n_resources_``), Optuna the best complete (unpruned) trial,
keras-tuner and scikeras the best validation accuracy of any model. Prints the table
(tuned - default and tuned - hand-written in points, the minutes at which each curve
passes the default's accuracy on the curve images), the targets, TPE against random with
the arithmetic of how many results TPE's model had, and draws the curves to a PNG.

    python benchmarks/bench_peers.py --task fashion|cifar10|mnist27 [--budget MIN] \\
        [--systems baseline,ours-asha-tpe,...] [--max-epochs 9] [--reuse] [--output DIR]
    python benchmarks/bench_peers.py --task cifar10 --smoke     # 600 images, 40 s, 2 systems

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
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from peers_report import OURS, curve, report
from peers_runners import RUNNERS, run_default_for_budget, run_tune, searched
from peers_tasks import SMOKE, TASKS, curve_rows, data_present

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = {  # name: (label, modules it needs)
    "baseline": ("untuned default CNNClassifier", ()),
    "handwritten": ("hand-written Keras net", ()),
    "default-budget": ("default trained for the budget", ()),
    "ours-asha-random": ("ours: ASHA, random", ()),
    "ours-asha-tpe": ("ours: ASHA, TPE", ("optuna",)),
    "ours-hyperband-random": ("ours: Hyperband, random", ()),
    "ours-hyperband-tpe": ("ours: Hyperband, TPE", ("optuna",)),
    "ours-tune": ("ours: skhpo tune --time-limit", ()),
    "optuna": ("Optuna TPE + HyperbandPruner", ("optuna", "optuna_integration")),
    "keras-tuner": ("keras-tuner Hyperband", ("keras_tuner",)),
    "scikeras-random": ("scikeras + RandomizedSearchCV", ("scikeras",)),
    "scikeras-halving": ("scikeras + HalvingRandomSearchCV", ("scikeras",)),
}
DEFAULT_SYSTEMS = [name for name in SYSTEMS if name != "scikeras-halving"]
SMOKE_SYSTEMS = ["baseline", "ours-asha-tpe"]


class BudgetSpent(BaseException):
    """Raised in the main thread when the budget runs out (a BaseException, so that no
    searcher scores it as a failed fit)."""


WHOLE_RUNS = {
    "ours-tune": run_tune,
    "default-budget": run_default_for_budget,
}  # refit inside the budget
CHOICE = {
    "optuna": "complete",
    "keras-tuner": "all",
    "scikeras-random": "all",
    "scikeras-halving": "all",
}


def choose(rows, rule):
    """A peer's own choice from its records: the best validation accuracy of any model
    ("all"), or of the complete trials only ("complete": Optuna's ``best_trial``)."""
    eligible = [row for row in rows if rule == "all" or row.get("complete")] or rows
    best = max(eligible, key=lambda row: (row["val"], -row["t"]))
    note = (
        "best complete trial"
        if rule == "complete" and any(r.get("complete") for r in rows)
        else "best val"
    )
    return {"params": best["params"], "val": best["val"], "chosen_by": note}


# -- one system in a fresh process ----------------------------------------------------------------
def run_system(args):
    """In a fresh process: run the system for the budget, refit its choice, write the results."""
    import tempfile

    import keras
    from peers_tasks import load_task
    from sklearn.model_selection import StratifiedShuffleSplit

    from sklearn_keras_hpo._backend import keras_and_tf
    from sklearn_keras_hpo.search.spaces import auto_space

    keras_and_tf()
    keras.utils.set_random_seed(0)
    X, y, X_test, y_test, classes = load_task(args.task, args.samples, args.n_test)
    split = next(StratifiedShuffleSplit(n_splits=1, test_size=0.1, random_state=0).split(X, y))
    rows_c = curve_rows(y_test)
    out = Path(args.result)
    records = out.with_suffix(".jsonl")
    records.unlink(missing_ok=True)
    ctx = dict(
        X=X,
        y=y,
        split=split,
        curve=(X_test[rows_c], y_test[rows_c]),
        args=args,
        budget=args.budget * 60,
        records=records,
        seed=args.seed,
        n_classes=len(classes),
        specs=auto_space(X.shape[1:], len(X)),
    )
    result = {
        "system": args.system,
        "task": args.task,
        "budget_s": ctx["budget"],
        "n_train": len(X),
        "n_test": len(X_test),
        "n_curve": len(rows_c),
    }
    if args.system == "baseline":
        result.update(run_baseline(ctx, X_test, y_test))
    elif args.system == "handwritten":
        from peers_tasks import run_handwritten

        hand = run_handwritten(args.task, X, y, X_test, y_test, ctx["curve"], ctx["budget"])
        result.update(
            search_wall_s=hand["train_s"], n_models=1, curve=hand.pop("curve"), final=hand
        )
    elif args.system in WHOLE_RUNS:
        result.update(WHOLE_RUNS[args.system](ctx, X_test, y_test))
    else:
        with tempfile.TemporaryDirectory(prefix="bench-peers-") as scratch:
            result.update(run_search(args.system, {**ctx, "scratch": scratch}, X_test, y_test))
    out.write_text(json.dumps(result))


def run_baseline(ctx, X_test, y_test):
    from sklearn_keras_hpo import CNNClassifier

    by_epoch = epoch_test_accuracy(X_test, y_test)
    model, start = CNNClassifier(random_state=0, callbacks=[by_epoch]), time.time()
    model.fit(ctx["X"], ctx["y"])
    fit_s = time.time() - start - by_epoch.seconds
    curve_accuracy = float(model.score(*ctx["curve"]))
    described = {
        key: model.get_params()[key]
        for key in (
            "epochs",
            "batch_size",
            "optimizer",
            "learning_rate",
            "lr_schedule",
            "filters",
            "dropout",
        )
    }
    return {
        "search_wall_s": fit_s,
        "n_models": 1,
        "curve": [[fit_s / 60, curve_accuracy]],
        "curve_accuracy": curve_accuracy,
        "described": {"architecture_": model.architecture_, **described},
        "final": {
            "params": {},
            "test_accuracy": float(model.score(X_test, y_test)),
            "refit_s": fit_s,
        },
        "test_by_epoch": by_epoch.accuracies,
    }


def epoch_test_accuracy(X_test, y_test):
    """A Keras callback that records the test accuracy after every epoch (the default's
    epoch-to-epoch spread is the noise a one-run comparison with it carries); it only
    observes, and its own seconds are kept so that they can be left out of the fit's. The
    estimator passes it to Keras as it is (not a copy), so its attributes are the record."""
    import keras

    class EpochTestAccuracy(keras.callbacks.Callback):
        observes_only = True

        def __init__(self):
            super().__init__()
            self.accuracies, self.seconds, self.inputs = [], 0.0, None

        def on_epoch_end(self, epoch, logs=None):
            start = time.time()
            if self.inputs is None:  # the estimator's scaling of uint8 pixels, once
                self.inputs = (
                    X_test.reshape((-1, *self.model.input_shape[1:])).astype("float32") / 255.0
                )
            proba = self.model.predict(self.inputs, batch_size=512, verbose=0)
            predicted = (
                (proba[:, 0] > 0.5).astype(int) if proba.shape[1] == 1 else proba.argmax(axis=1)
            )
            self.accuracies.append(round(float(np.mean(predicted == y_test)), 4))
            self.seconds += time.time() - start

    return EpochTestAccuracy()


def run_search(name, ctx, X_test, y_test):
    """Search for the budget (stopped by SIGALRM, or by its own time limit), then refit its
    choice."""
    from sklearn_keras_hpo import CNNClassifier, search_space
    from sklearn_keras_hpo.search.samplers import searched_names

    own_limit, budget, choice = name in OURS, ctx["budget"], None
    signal.signal(signal.SIGALRM, _budget_spent)
    signal.setitimer(
        signal.ITIMER_REAL, budget * 1.5 + 60 if own_limit else budget
    )  # ours stop themselves
    start = time.time()
    try:
        choice = RUNNERS[name](name, ctx)
    except BudgetSpent:
        pass
    except ValueError as error:  # ours: no candidate finished within the time limit
        if not (own_limit and "time_limit" in str(error)):
            raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    wall = time.time() - start
    rows = (
        [json.loads(line) for line in ctx["records"].read_text().splitlines()]
        if ctx["records"].exists()
        else []
    )
    result = {
        "search_wall_s": wall,
        "n_models": len(rows),
        "curve": curve(rows, start),
        "models_per_epochs": _count(row["params"].get("epochs") for row in rows),
        "n_candidates": len(
            {
                json.dumps(
                    {k: v for k, v in row["params"].items() if k != "epochs"}, sort_keys=True
                )
                for row in rows
            }
        ),
        "n_searched": len(searched_names(search_space(searched(ctx)))),
    }
    if choice is None and rows:
        choice = choose(rows, CHOICE.get(name, "all"))
    if choice is None:
        return {**result, "final": None}
    model, refit_start = CNNClassifier(random_state=0).set_params(**choice["params"]), time.time()
    model.fit(ctx["X"], ctx["y"])
    final = {
        **choice,
        "test_accuracy": float(model.score(X_test, y_test)),
        "refit_s": time.time() - refit_start,
    }
    return {**result, "final": final}


def _count(values):
    counts = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return dict(
        sorted(counts.items(), key=lambda item: float(item[0]) if item[0] != "None" else -1)
    )


def _budget_spent(signum, frame):
    signal.setitimer(signal.ITIMER_REAL, 0.5)  # again, in case it lands in a __del__ and is ignored
    raise BudgetSpent


# -- the parent: one process per system, then the table --------------------------------------------
def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="fashion")
    parser.add_argument(
        "--budget", type=float, help="minutes per system (default: the task's: 10, 10, 15)"
    )
    parser.add_argument(
        "--systems",
        help=f"comma-separated, from {', '.join(SYSTEMS)} "
        f"(default: all but scikeras-halving; --smoke: {','.join(SMOKE_SYSTEMS)})",
    )
    parser.add_argument(
        "--max-epochs", type=int, help="epochs of the top rung (default: the task's, 9)"
    )
    parser.add_argument("--samples", type=int, help="training images (default: the task's)")
    parser.add_argument(
        "--n-jobs", type=int, help="workers of the scikit-learn-API systems (default 2; --smoke: 1)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"a quick check: {SMOKE['n_train']} training and "
        f"{SMOKE['n_test']} test images, {SMOKE['budget'] * 60:g} s budgets, max epochs "
        f"{SMOKE['max_epochs']}, n_jobs 1, systems {','.join(SMOKE_SYSTEMS)}",
    )
    parser.add_argument("--output", help="default: runs/bench_peers/<task>[-smoke]")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the results already in --output, run the rest"
    )
    parser.add_argument(
        "--system", help=argparse.SUPPRESS
    )  # internal: run one system in this process
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--n-test", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--seed", type=int, default=0, help="random_state of default-budget (its seed spread)"
    )
    args = parser.parse_args()
    task, smoke = TASKS[args.task], SMOKE if args.smoke else {}
    args.budget = args.budget or smoke.get("budget") or task["budget"]
    args.max_epochs = args.max_epochs or smoke.get("max_epochs") or task["max_epochs"]
    args.samples = args.samples or smoke.get("n_train") or task["n_train"]
    args.n_test = args.n_test or smoke.get("n_test")
    args.n_jobs = args.n_jobs or smoke.get("n_jobs") or 2
    args.systems = args.systems or ",".join(SMOKE_SYSTEMS if args.smoke else DEFAULT_SYSTEMS)
    args.output = args.output or str(
        ROOT / "runs" / "bench_peers" / (args.task + ("-smoke" if args.smoke else ""))
    )
    return parser, args


def main():
    parser, args = parse_args()
    if args.system:
        return run_system(args)
    if not data_present(args.task):
        print(
            f"skipped: {TASKS[args.task]['title']} not found at "
            f"{TASKS[args.task]['data'].resolve()}"
        )
        return
    names = [name.strip() for name in args.systems.split(",") if name.strip()]
    unknown = set(names) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; choose from {', '.join(SYSTEMS)}")
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    from peers_tasks import load_task

    X, _, X_test, y_test, classes = load_task(
        args.task, args.samples, args.n_test
    )  # decodes/caches once
    print(
        f"{TASKS[args.task]['title']}: {len(X)} training images {X.shape[1:]} "
        f"(90/10 split for validation), {len(X_test)} test images, {len(classes)} classes, "
        f"curves on {len(curve_rows(y_test))} test images; budget {args.budget:g} min per "
        f"system; epochs 1..{args.max_epochs}; {os.cpu_count()} cores"
    )
    results = {}
    for name in names:
        missing = [
            module for module in SYSTEMS[name][1] if importlib.util.find_spec(module) is None
        ]
        if missing:
            print(f"skipped {name}: {', '.join(missing)} not installed (pip install -e '.[bench]')")
            continue
        result = output / f"{name}.json"
        if args.reuse and result.exists():
            results[name] = json.loads(result.read_text())
            print(f"{name}: reused {result}")
            continue
        command = [
            sys.executable,
            __file__,
            "--system",
            name,
            "--result",
            str(result),
            "--task",
            args.task,
            "--budget",
            str(args.budget),
            "--max-epochs",
            str(args.max_epochs),
            "--n-jobs",
            str(args.n_jobs),
            "--seed",
            str(args.seed),
            *(
                ["--samples", str(args.samples)] if args.samples else []
            ),  # None: the task's own (all of 2-vs-7)
            *(["--n-test", str(args.n_test)] if args.n_test else []),
        ]
        started = time.time()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not result.exists():
            print(f"{name}: failed (exit {done.returncode})\n{done.stderr[-3000:]}")
            continue
        results[name] = json.loads(result.read_text())
        print(
            f"{name}: {results[name]['n_models']} models in "
            f"{results[name]['search_wall_s']:.0f} s, "
            f"process {time.time() - started:.0f} s",
            flush=True,
        )
    if results:
        labels = {name: label for name, (label, _) in SYSTEMS.items()}
        report(
            results,
            dict(
                task=args.task,
                title=TASKS[args.task]["title"],
                budget=args.budget,
                output=output,
                labels=labels,
            ),
        )


if __name__ == "__main__":
    main()
