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

The modules: ``parser`` (the options), ``settings`` (the values the commands read),
``data`` (loading, streaming, splitting), ``searches`` (the estimator and the search),
``tune`` (the run within the time limit, the choice, the refit), ``outputs`` (files and
printed lines), ``predict`` and ``export``. They use only the library's public names.
"""

import sys

from .export import run_export
from .parser import build_parser
from .predict import run_predict
from .tune import run_tune

__all__ = ["main"]

COMMANDS = {"tune": run_tune, "predict": run_predict, "export": run_export}


def main(argv=None):
    """Run ``skhpo`` with ``argv`` (default: the process's arguments); the exit status:
    0, 2 for bad input (the reason on stderr), 130 for a search stopped before any
    configuration finished."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError) as error:
        print(f"skhpo: error: {error}", file=sys.stderr)
        return 2
