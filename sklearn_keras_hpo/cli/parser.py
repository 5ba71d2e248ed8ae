"""The ``skhpo`` command line: its commands and options, parsed by argparse.

Parsing only reads the text; ``settings`` turns the result into the values the commands
use, and the commands check what needs the data or the estimator.
"""

import argparse

from ..search.refit_rules import refit_rule
from ..search.samplers import SAMPLERS
from .data import STREAM_ABOVE_BYTES
from .settings import SEARCHERS

DESCRIPTION = (
    "``skhpo``: tune a CNNClassifier from the command line, predict with the result, export it."
)


def build_parser():
    """The ``skhpo`` parser: ``tune``, ``predict`` and ``export``, the command's name in
    ``command``."""
    parser = argparse.ArgumentParser(prog="skhpo", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{tune,predict,export}")
    tune = commands.add_parser("tune", help="search hyperparameters and write a report")
    _add_data_options(tune)
    _add_search_options(tune)
    _add_run_options(tune)
    predict = commands.add_parser("predict", help="predict with a model written by tune")
    _add_predict_options(predict)
    export = commands.add_parser(
        "export", help="export a model written by tune: SavedModel, ONNX or LiteRT"
    )
    _add_export_options(export)
    return parser


def _add_data_options(tune):
    tune.add_argument(
        "--data",
        default="digits",
        help="'digits' (default), a folder of MNIST-style IDX files or class subfolders, .npz "
        "or .csv",
    )
    tune.add_argument(
        "--image-shape", type=int, nargs="+", help="image shape of a .csv's pixel columns"
    )
    tune.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        help="size images of a folder are read at (default: the first file's own)",
    )
    tune.add_argument(
        "--color-mode",
        choices=("auto", "grayscale", "rgb"),
        help="channels of a folder's images (auto: those of the first file)",
    )
    tune.add_argument(
        "--stream",
        choices=("auto", "always", "never"),
        default="auto",
        help="train on a class-subfolder folder's file paths, decoding per batch, instead of "
        f"decoding it all first (auto: above {STREAM_ABOVE_BYTES // 2**20} MiB of decoded "
        "pixels)",
    )
    _add_key_options(tune)
    tune.add_argument("--max-samples", type=int, help="use a stratified subset of this many images")


def _add_search_options(tune):
    tune.add_argument(
        "--searcher",
        choices=SEARCHERS,
        default="asha",
        help="asha (default: asynchronous successive halving over epochs, the estimator's own "
        "configuration first), hyperband, halving, random, bayes or grid",
    )
    tune.add_argument(
        "--space",
        default="auto",
        help="auto (default: built from the data's image size, "
        "channels and count), a tutorial preset (cnn, mlp_lr, augmentation, hyperband, "
        "regularisation, transfer) or a YAML/JSON file",
    )
    tune.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="fix an estimator parameter (value read as JSON, else a string; not searched "
        "even if the space names it), e.g. --set architecture=mobilenet_v3_small --set "
        "weights=backbone.weights.h5; repeatable",
    )
    tune.add_argument(
        "--cv",
        type=int,
        help="folds of the search (default 3; with --time-limit, one holdout of 10%% for "
        "10,000 images or more, else 3 folds)",
    )
    tune.add_argument("--n-jobs", type=int, default=1)
    tune.add_argument(
        "--n-iter", type=int, default=10, help="candidates of random, bayes and asha searches"
    )
    tune.add_argument(
        "--sampler",
        choices=SAMPLERS,
        default="random",
        help="what hyperband and asha try next: "
        "random draws, or tpe (Optuna's TPE, fit on the results so far; the optuna extra)",
    )
    tune.add_argument(
        "--max-epochs",
        type=int,
        default=9,
        help="epochs of the last rung (halving, hyperband, asha)",
    )


def _add_run_options(tune):
    tune.add_argument(
        "--refit-epochs",
        type=refit_rule,
        metavar="searched|scaled|N",
        help="epochs of the refit on the whole training set without --time-limit: the best's "
        "searched epochs (default), those scaled by cv/(cv-1) (the validation images join the "
        "training set), or N",
    )
    tune.add_argument(
        "--time-limit",
        type=float,
        help="seconds for the whole run, spent on the model you keep: one epoch is timed, "
        "then either the starting configuration trains for the whole limit, or an asha "
        "search runs in a share of it and its best trains on to the end (no refit)",
    )
    tune.add_argument("--random-state", type=int, default=0)
    tune.add_argument("--test-size", type=float, default=0.2, help="held-out fraction (0 for none)")
    tune.add_argument("--output", "-o", default="skhpo-run", help="output directory")
    tune.add_argument(
        "--resume", action="store_true", help="reuse the finished fits in OUTPUT/fits"
    )
    tune.add_argument("--no-progress", action="store_true")
    tune.add_argument(
        "--mlflow",
        metavar="URI",
        help="log the search to MLflow at this tracking URI, e.g. "
        "sqlite:///mlflow.db (needs the tracking extra)",
    )
    tune.add_argument(
        "--experiment", metavar="NAME", help="MLflow experiment (default: MLflow's Default)"
    )
    tune.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="write TensorBoard logs (HParams) per candidate "
        "and fold here (needs the tensorboard extra)",
    )


def _add_predict_options(predict):
    predict.add_argument("model_dir")
    predict.add_argument("data")
    predict.add_argument("-o", "--output", default="predictions.csv")
    predict.add_argument("--image-shape", type=int, nargs="+")
    predict.add_argument("--image-size", type=int, nargs=2, help="default: the model's own")
    predict.add_argument(
        "--color-mode", choices=("grayscale", "rgb"), help="default: the model's own channels"
    )
    _add_key_options(predict)
    predict.add_argument(
        "--trusted", action="store_true", help="allow code (Lambda layers) in the model file"
    )


def _add_export_options(export):
    export.add_argument("model_dir")
    export.add_argument("out", help="a folder for saved_model, a file for onnx and litert")
    export.add_argument(
        "--format", choices=("saved_model", "onnx", "litert"), default="saved_model"
    )
    export.add_argument(
        "--input-dtype",
        choices=("uint8", "float32"),
        default="uint8",
        help="the images the graph takes: uint8 pixels (scaled in the graph) or float32",
    )
    export.add_argument(
        "--trusted", action="store_true", help="allow code (Lambda layers) in the model file"
    )


def _add_key_options(command):
    command.add_argument(
        "--x-key", help="the images' array in an .npz (default: x, X, images, x_train or arr_0)"
    )
    command.add_argument(
        "--y-key", help="the labels' array in an .npz (default: y, labels, y_train or arr_1)"
    )
