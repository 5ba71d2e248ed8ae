"""The settings of one ``skhpo`` run, read once from the parsed command line.

The commands work from these values, never from the ``argparse.Namespace``: nothing is
added to the namespace on the way, so what each step reads is what the user asked for,
and what a step works out (the streaming parameters, a .csv's label names, the model's
image size in ``predict``) is returned to the caller as a value.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

RUNG_SEARCHERS = ("halving", "hyperband", "asha")
"""The searchers that train over rungs of epochs (``--max-epochs`` is their last)."""

SEARCHERS = ("grid", "random", "bayes", *RUNG_SEARCHERS)
"""Every value of ``--searcher``."""


@dataclass(frozen=True)
class DataSource:
    """Where the images are and how to read them: ``load_source``'s arguments.

    ``color_mode`` None means the file's own channels (``--color-mode auto``).
    """

    path: str
    image_shape: tuple | None = None
    image_size: tuple | None = None
    color_mode: str | None = None
    x_key: str | None = None
    y_key: str | None = None

    @classmethod
    def from_args(cls, args, path):
        """The source ``path`` read with the options of ``args``."""
        return cls(
            path=path,
            image_shape=tuple(args.image_shape) if args.image_shape else None,
            image_size=tuple(args.image_size) if args.image_size else None,
            color_mode=None if args.color_mode == "auto" else args.color_mode,
            x_key=args.x_key,
            y_key=args.y_key,
        )


@dataclass(frozen=True)
class TuneSettings:
    """What ``skhpo tune`` was asked to do, one field per option.

    ``fixed`` holds the ``--set`` parameters with their values read as JSON (else kept as
    text), read-only; ``progress`` is the opposite of ``--no-progress``; ``cv`` the folds
    (3 by default) and ``cv_asked`` the ``--cv`` given, if any (a time limit otherwise sizes
    the validation to the data).
    """

    source: DataSource
    stream: str
    max_samples: int | None
    searcher: str
    space: str
    fixed: MappingProxyType
    cv: int
    cv_asked: int | None
    n_jobs: int
    n_iter: int
    sampler: str
    max_epochs: int
    refit_epochs: object
    time_limit: float | None
    random_state: int
    test_size: float
    output: Path
    resume: bool
    progress: bool
    mlflow: str | None
    experiment: str | None
    tensorboard: str | None

    @classmethod
    def from_args(cls, args):
        """The settings of a parsed ``tune`` command line; ``ValueError`` names a ``--set``
        that is not ``PARAM=VALUE``, or a ``--searcher`` other than asha with a time limit."""
        if args.time_limit and args.searcher != "asha":
            raise ValueError(
                f"--time-limit plans its own search (asha, in a share of the limit): leave out "
                f"--searcher {args.searcher}, or leave out --time-limit to run it to its end."
            )
        return cls(
            source=DataSource.from_args(args, args.data),
            stream=args.stream,
            max_samples=args.max_samples,
            searcher=args.searcher,
            space=args.space,
            fixed=MappingProxyType(parse_assignments(args.set)),
            cv=args.cv or 3,
            cv_asked=args.cv,
            n_jobs=args.n_jobs,
            n_iter=args.n_iter,
            sampler=args.sampler,
            max_epochs=args.max_epochs,
            refit_epochs=args.refit_epochs,
            time_limit=args.time_limit,
            random_state=args.random_state,
            test_size=args.test_size,
            output=Path(args.output),
            resume=args.resume,
            progress=not args.no_progress,
            mlflow=args.mlflow,
            experiment=args.experiment,
            tensorboard=args.tensorboard,
        )

    @property
    def rung_search(self):
        """Whether the searcher trains over rungs of epochs (one of ``RUNG_SEARCHERS``)."""
        return self.searcher in RUNG_SEARCHERS

    @property
    def tracked(self):
        """Whether the run is logged (to MLflow or TensorBoard)."""
        return bool(self.mlflow or self.experiment or self.tensorboard)

    @property
    def refit_rule(self):
        """``--refit-epochs``, or its default, ``searched``."""
        return self.refit_epochs or "searched"


@dataclass(frozen=True)
class PredictSettings:
    """What ``skhpo predict`` was asked to do."""

    model_dir: str
    source: DataSource
    output: str
    trusted: bool

    @classmethod
    def from_args(cls, args):
        """The settings of a parsed ``predict`` command line."""
        return cls(
            model_dir=args.model_dir,
            source=DataSource.from_args(args, args.data),
            output=args.output,
            trusted=args.trusted,
        )


def parse_assignments(items):
    """``{name: value}`` of ``--set PARAM=VALUE`` items, each value read as JSON, else as
    text; a later item wins. ``ValueError`` for an item without ``=``.

    >>> parse_assignments(["epochs=5", "activation=relu", "epochs=7"])
    {'epochs': 7, 'activation': 'relu'}
    """
    fixed = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals:
            raise ValueError(f"--set {item!r}: write PARAM=VALUE, e.g. --set epochs=5.")
        fixed[name.strip()] = _json_or_text(value)
    return fixed


def _json_or_text(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
