"""``skhpo``: tune a CNNClassifier from the command line, and predict with the result.

``skhpo tune`` loads the data, holds out a test split, runs the chosen searcher over
a preset or a YAML/JSON search space with a progress bar, and writes to the output
directory: ``best_params.json``, ``cv_results.csv``, ``model/`` (Keras ``.keras``
plus ``estimator.json``), ``report.html`` and ``fits/`` (every finished fit, so
``--resume`` continues a stopped run without retraining them). Ctrl-C, or
``--time-limit``, stops the search and keeps every finished fit: the best fully
cross-validated configuration so far is refitted and reported.

``skhpo predict MODEL_DIR DATA -o predictions.csv`` writes one row per image; DATA
need not have labels (an .npz without a label array, a .csv of pixel columns only, a
folder of image files), and ``--x-key``/``--y-key`` name an .npz's arrays.
"""

import argparse
import functools
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from ._cli_search import _base_estimator, _make_search, _own_configuration, _run_search, fixed_names
from .data.rows import ImageRows
from .reporting.files import json_default, write_label_predictions, write_predictions, write_results_csv
from .search._rung_search import best_at_largest_budget
from .search._stopping import in_fresh_thread
from .search.budget import Budget, refit_rule, refit_within, solo_speedup
from .search.records import RecordingScorer, epoch_seconds, partial_results
from .search.samplers import SAMPLERS

SEARCHERS = ("grid", "random", "bayes", "halving", "hyperband", "asha")
STREAM_ABOVE_BYTES = 256 * 2**20  # decoded pixels of a folder above which tune streams its files


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"skhpo: error: {error}", file=sys.stderr)
        return 2


def _parser():
    parser = argparse.ArgumentParser(prog="skhpo", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True, metavar="{tune,predict}")
    tune = commands.add_parser("tune", help="search hyperparameters and write a report")
    tune.set_defaults(run=run_tune)
    tune.add_argument("--data", default="digits",
                      help="'digits' (default), a folder of MNIST-style IDX files or class subfolders, .npz or .csv")
    tune.add_argument("--image-shape", type=int, nargs="+", help="image shape of a .csv's pixel columns")
    tune.add_argument("--image-size", type=int, nargs=2,
                      help="size images of a folder are read at (default: the first file's own)")
    tune.add_argument("--color-mode", choices=("auto", "grayscale", "rgb"),
                      help="channels of a folder's images (auto: those of the first file)")
    tune.add_argument("--stream", choices=("auto", "always", "never"), default="auto",
                      help="train on a class-subfolder folder's file paths, decoding per batch, instead of "
                      f"decoding it all first (auto: above {STREAM_ABOVE_BYTES // 2**20} MiB of decoded pixels)")
    _add_key_options(tune)
    tune.add_argument("--max-samples", type=int, help="use a stratified subset of this many images")
    tune.add_argument("--searcher", choices=SEARCHERS, default="asha",
                      help="asha (default: asynchronous successive halving over epochs, the estimator's own "
                      "configuration first), hyperband, halving, random, bayes or grid")
    tune.add_argument("--space", default="auto", help="auto (default: built from the data's image size, "
                      "channels and count), a tutorial preset (cnn, mlp_lr, augmentation, hyperband, "
                      "regularisation, transfer) or a YAML/JSON file")
    tune.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                      help="fix an estimator parameter (value read as JSON, else a string; not searched "
                      "even if the space names it), e.g. --set architecture=mobilenet_v3_small --set "
                      "weights=backbone.weights.h5; repeatable")
    tune.add_argument("--cv", type=int, default=3)
    tune.add_argument("--n-jobs", type=int, default=1)
    tune.add_argument("--n-iter", type=int, default=10, help="candidates of random, bayes and asha searches")
    tune.add_argument("--sampler", choices=SAMPLERS, default="random", help="what hyperband and asha try next: "
                      "random draws, or tpe (Optuna's TPE, fit on the results so far; the optuna extra)")
    tune.add_argument("--max-epochs", type=int, default=9, help="epochs of the last rung (halving, hyperband, asha)")
    tune.add_argument("--refit-epochs", type=refit_rule, metavar="searched|scaled|fill|N",
                      help="epochs of the refit on the whole training set: the best's searched epochs (default "
                      "without --time-limit), those scaled by cv/(cv-1) (the validation images join the training "
                      "set), fill (default with --time-limit, unless --set fixes epochs: the epochs the time left "
                      "affords, up to 3 x the search's longest training), or N")
    tune.add_argument("--time-limit", type=float, help="seconds for the whole run: the search (stopped, keeping "
                      "what finished), the refit of the best and the report")
    tune.add_argument("--random-state", type=int, default=0)
    tune.add_argument("--test-size", type=float, default=0.2, help="held-out fraction (0 for none)")
    tune.add_argument("--output", "-o", default="skhpo-run", help="output directory")
    tune.add_argument("--resume", action="store_true", help="reuse the finished fits in OUTPUT/fits")
    tune.add_argument("--no-progress", action="store_true")
    tune.add_argument("--mlflow", metavar="URI", help="log the search to MLflow at this tracking URI, e.g. "
                      "sqlite:///mlflow.db (needs the tracking extra)")
    tune.add_argument("--experiment", metavar="NAME", help="MLflow experiment (default: MLflow's Default)")
    tune.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard logs (HParams) per candidate "
                      "and fold here (needs the tensorboard extra)")
    predict = commands.add_parser("predict", help="predict with a model written by tune")
    predict.set_defaults(run=run_predict)
    predict.add_argument("model_dir")
    predict.add_argument("data")
    predict.add_argument("-o", "--output", default="predictions.csv")
    predict.add_argument("--image-shape", type=int, nargs="+")
    predict.add_argument("--image-size", type=int, nargs=2, help="default: the model's own")
    predict.add_argument("--color-mode", choices=("grayscale", "rgb"), help="default: the model's own channels")
    _add_key_options(predict)
    predict.add_argument("--trusted", action="store_true", help="allow code (Lambda layers) in the model file")
    return parser


def _add_key_options(command):
    command.add_argument("--x-key", help="the images' array in an .npz (default: x, X, images, x_train or arr_0)")
    command.add_argument("--y-key", help="the labels' array in an .npz (default: y, labels, y_train or arr_1)")


def _load(args, require_labels):
    """Images (uint8 stays uint8: the estimator scales it per batch) and labels."""
    from .data.datasets import load_source

    size = tuple(args.image_size) if args.image_size else None
    return load_source(args.data, image_shape=args.image_shape, image_size=size, color_mode=_color_mode(args),
                       x_key=args.x_key, y_key=args.y_key, require_labels=require_labels)  # fmt: skip


def _color_mode(args):
    return None if args.color_mode == "auto" else args.color_mode


def _folder_data(args):
    """``(X, labels, estimator params)`` of a class-subfolder ``--data`` folder, or None for
    other sources: the file paths and the decoding settings when streaming (``--stream``),
    else the pixels decoded in the folder's colour mode."""
    from .data.datasets import file_image_size, folder_channels, is_class_folder, load_image_folder

    if args.data == "digits" or not is_class_folder(args.data):
        return None
    paths, labels = load_image_folder(args.data, lazy=True)
    channels = {"grayscale": 1, "rgb": 3}.get(args.color_mode) or folder_channels(paths[0])
    size = tuple(args.image_size) if args.image_size else file_image_size(paths[0])
    decoded = len(paths) * size[0] * size[1] * channels
    if args.stream == "always" or (args.stream == "auto" and decoded > STREAM_ABOVE_BYTES):
        return paths, labels, {"image_size": size, "channels": channels}
    X, y = load_image_folder(args.data, size, color_mode="rgb" if channels == 3 else "grayscale")
    return X, y, {}


# -- tune ---------------------------------------------------------------------------
def run_tune(args):
    """``tune``, logged to MLflow/TensorBoard when --mlflow, --experiment or --tensorboard ask."""
    if not (args.mlflow or args.experiment or args.tensorboard):
        return _tune(args)
    from .tracking import log_search

    with log_search(args.mlflow, args.experiment, args.tensorboard, run_name=f"skhpo tune {args.searcher}") as logger:
        code = _tune(args)
        for name in ("report.html", "best_params.json", "model"):  # the outputs of this run, on its parent run
            path = Path(args.output) / name
            if not code and logger.run_id and path.exists():
                logger.log_artifact(path, name if path.is_dir() else None)
    return code


def _tune(args):
    budget = Budget(args.time_limit)  # the whole run: search, refit and report
    X, y, summary = _load_data(args)
    if X.ndim > 1:  # the split and every fold of the search then copy no images
        X = ImageRows(X)
    X_train, X_test, y_train, y_test = _split(X, y, args.test_size, args.random_state)
    summary.update({"training images": len(X_train), "held-out images": len(y_test)})
    output = Path(args.output)
    fits = output / "fits"
    if fits.exists() and not args.resume:
        shutil.rmtree(fits)
    output.mkdir(parents=True, exist_ok=True)
    records = output / "finished_fits.jsonl"
    if records.exists() and not args.resume:
        records.unlink()
    estimator = _base_estimator(args, fits)
    search, searched, longest = _make_search(args, estimator, RecordingScorer(records), summary["image shape"],
                                             len(X_train))  # fmt: skip
    summary.update({"searcher": type(search).__name__, "search space": args.space, "cv folds": args.cv})

    started = time.monotonic()
    stopped = _run_search(search, X_train, y_train, args, budget, records)
    summary["search time (s)"] = round(time.monotonic() - started, 1)
    if stopped:
        results = partial_results(records, args.cv)
        if not results["params"]:
            print(f"Stopped ({stopped}) before any configuration finished all {args.cv} folds; "
                  f"the finished fits are kept in {fits} for --resume.")  # fmt: skip
            return 130
        best_params = results["params"][_best_of_stopped(results, args, estimator, searched)]
        # a record holds every parameter of its fit, some set by the search for its rungs
        # (lr_schedule_epochs); the refit takes the searched ones and the epochs
        best_params = {name: value for name, value in best_params.items() if name in searched or name == "epochs"}
        print(f"Stopped ({stopped}); the best of {len(results['params'])} finished configurations:")
    else:
        results, best_params = search.cv_results_, search.best_params_
    if args.searcher in ("halving", "hyperband", "asha"):
        summary["best chosen at"] = _budget_note(best_params.get("epochs"), args.max_epochs)
    seconds = epoch_seconds(records, best_params)  # measured while --n-jobs fits shared the cores
    seconds = seconds and seconds / solo_speedup(args.n_jobs)
    rule = args.refit_epochs or ("fill" if args.time_limit and "epochs" not in fixed_names(args) else "searched")
    plan = functools.partial(refit_within, budget, estimator, best_params, (X_train, y_train), cv=args.cv,
                             epoch_seconds=seconds, n_held_out=len(y_test), rule=rule, longest=longest,
                             measure=bool(args.time_limit))  # fmt: skip
    finish = functools.partial(_refit_and_write, args, plan, best_params, (X_train, y_train), (X_test, y_test),
                               output, results, summary, searched)  # fmt: skip
    # a stop can land inside TensorFlow and leave this thread's state half-changed: refit elsewhere
    return in_fresh_thread(finish) if stopped else finish()


def _refit_and_write(args, plan, best_params, train, test, output, results, summary, searched):
    best, summary["refit"] = plan()
    print(f"Refit: {summary['refit']}.")
    if getattr(args, "label_names", None):  # a .csv's label names name the columns (classes_) of the model
        best.classes_ = np.asarray(args.label_names)
    return _write_outputs(output, results, best_params, best, summary, train, test, searched)


def _best_of_stopped(results, args, estimator, searched):
    """The row a stopped search chooses, as its searcher would (``best_at_largest_budget``:
    the largest epochs that finished; a rung searcher stopped before any promotion keeps
    its starting point, the estimator's own configuration)."""
    budgets = [params.get("epochs", 0) for params in results["params"]]
    if args.searcher not in ("halving", "hyperband", "asha"):
        return best_at_largest_budget(results["mean_test_score"], budgets)
    own = _own_configuration(estimator, searched)
    starting = [all(params.get(name) == value for name, value in own.items()) for params in results["params"]]
    chosen = best_at_largest_budget(results["mean_test_score"], budgets, top=args.max_epochs, starting=starting)
    if chosen != best_at_largest_budget(results["mean_test_score"], budgets):
        print(f"Note: no candidate got past {budgets[chosen]} epochs in the time given, so the starting point "
              "(the default configuration) is kept: a first-rung score decides which candidate trains longer, "
              "not which replaces the default.")  # fmt: skip
    return chosen


def _budget_note(epochs, max_epochs):
    note = f"{epochs} of {max_epochs} epochs (the largest that finished)"
    if epochs is not None and epochs < max_epochs:
        note += ": no candidate reached max epochs in the time given, so it is chosen on shorter fits"
        print(f"Note: the best is chosen at {note}.")
    return note


def _load_data(args):
    folder = _folder_data(args)
    X, y, args.stream_params = folder if folder is not None else (*_load(args, require_labels=True), {})
    streamed = bool(args.stream_params)
    if args.max_samples and args.max_samples < len(X):
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(X, y, train_size=args.max_samples, stratify=_strata(y),
                                      random_state=args.random_state)  # fmt: skip
    shape = (*args.stream_params["image_size"], args.stream_params["channels"]) if streamed else X.shape[1:]
    summary = {"source": args.data, "images": len(X), "image shape": shape, **_label_counts(y, args)}
    return X, y, summary


def _strata(y):
    """Stratify on the class; a multi-label y (2-D) is split shuffled, not by label combination."""
    return None if np.ndim(y) == 2 else y


def _label_counts(y, args):
    """The classes and their images; for a multi-label y (an .npz's 2-D y, a .csv's
    ``label_<name>`` columns) the labels and the images that have each."""
    if np.ndim(y) == 2:
        from .data.datasets import csv_label_names

        args.label_names = csv_label_names(args.data) if str(args.data).lower().endswith(".csv") else None
        names = args.label_names or range(y.shape[1])
        return {"labels (multi-label: images with each)": dict(zip(names, y.sum(axis=0).tolist()))}
    classes, counts = np.unique(y, return_counts=True)
    return {"classes": dict(zip(classes.tolist(), counts.tolist()))}


def _split(X, y, test_size, random_state):
    if not test_size:
        return X, X[:0], y, y[:0]
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, stratify=_strata(y), random_state=random_state)


def _write_outputs(output, results, best_params, best, summary, train, test, searched):
    from .reporting.report import build_report

    (X_train, y_train), (X_test, y_test) = train, test

    (output / "best_params.json").write_text(json.dumps(best_params, indent=1, default=json_default))
    write_results_csv(output / "cv_results.csv", results)
    best.save(output / "model")
    page = build_report(title="skhpo tune report", data_summary=summary, results=results, best_estimator=best,
                        X_test=X_test, y_test=y_test, X_preview=_decoded(X_train[:8], best), y_preview=y_train[:8],
                        searched=searched)  # fmt: skip
    (output / "report.html").write_text(page)
    if len(y_test):
        multi = f"; multi-label: subset accuracy at threshold {best.threshold:g}" if np.ndim(y_test) == 2 else ""
        print(f"Held-out accuracy: {best.score(X_test, y_test):.4f} ({len(y_test)} images{multi})")
    print(f"Best parameters: {json.dumps(best_params, default=json_default)}")
    print(f"Report: {(output / 'report.html').resolve()}")
    return 0


def _decoded(images, estimator):
    """Pixels for the report's previews: file paths decoded as the estimator reads them."""
    if images.ndim != 1 or images.dtype.kind not in "USO":
        return np.asarray(images)
    from .training.sources import decode_all

    shape = tuple(estimator.image_shape_)
    out = decode_all(np.asarray(images, dtype=str), shape, np.empty((len(images), *shape), np.uint8))
    return out[..., 0] if shape[-1] == 1 else out


# -- predict ------------------------------------------------------------------------
def run_predict(args):
    from .estimators import load

    estimator = load(args.model_dir, trusted=args.trusted)
    height, width, *channels = estimator.image_shape_  # files are read at the model's own shape
    args.image_size = args.image_size or (height, width)
    args.color_mode = args.color_mode or ("rgb" if channels == [3] else "grayscale")
    X, y = _load(args, require_labels=False)
    proba = estimator.predict_proba(X)
    if getattr(estimator, "target_type_", None) == "multilabel-indicator":
        predicted = write_label_predictions(args.output, estimator.classes_, proba, estimator.threshold, y)
        subset = "" if y is None else f"; subset accuracy: {float(np.mean((predicted == y).all(axis=1))):.4f}"
        print(f"Wrote {len(proba)} predictions ({len(estimator.classes_)} labels each) to {args.output}{subset}")
        return 0
    predicted = write_predictions(args.output, estimator.classes_, proba, y)
    accuracy = "" if y is None else f"; accuracy against the file's labels: {float(np.mean(predicted == y)):.4f}"
    print(f"Wrote {len(X)} predictions to {args.output}{accuracy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
