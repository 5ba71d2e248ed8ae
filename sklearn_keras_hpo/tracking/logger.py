"""``log_search()``: one way into MLflow and TensorBoard for every searcher.

Inside the block, each search fitted in this process gets an MLflow parent run and, per
candidate, a child run with the per-epoch curves of its folds (``step`` = the absolute
epoch: a warm-started rung continues its curve) and its cross-validation scores per
budget; and, with ``tensorboard_dir``, keras-tuner's layout
``<dir>/<candidate>/fold_<k>/`` with the HParams plugin's hyperparameters and metrics.
All writing happens here, fed by the records the fits bring back (``hooks``).
"""

import hashlib
import json
import queue
import threading
import warnings

from . import hooks

EXTRA_HINT = "pip install 'sklearn_keras_hpo[{extra}]'"


class Candidate:
    """One candidate of a search: its parameters without the resource (epochs of a rung)."""

    def __init__(self, params):
        self.params = params
        self.key = json.dumps(params, sort_keys=True, default=repr)
        self.name = "candidate_" + hashlib.blake2b(self.key.encode(), digest_size=4).hexdigest()


class SearchState:
    """The candidates of the search being logged, and the records already seen."""

    def __init__(self, search):
        resource = getattr(search, "resource", None)
        self.resource = resource if isinstance(resource, str) and resource != "n_samples" else None
        estimator = getattr(search, "estimator", None)
        self.epochs = (
            estimator.get_params().get("epochs") if hasattr(estimator, "get_params") else None
        )
        self.candidates = {}
        self.seen = set()

    def candidate(self, params):
        plain = {k: v for k, v in params.items() if k != self.resource}
        found = Candidate(plain)
        return self.candidates.setdefault(found.key, found)

    def budget(self, params, default=None):
        """The budget a fit or a ``cv_results_`` row had: its resource value, else its
        ``epochs``, else ``default``, else the estimator's ``epochs``."""
        for value in (
            params.get(self.resource) if self.resource else None,
            params.get("epochs"),
            default,
            self.epochs,
        ):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return int(value)
        return 0


class SearchLogger:
    """Log every search fitted inside the block to MLflow and/or TensorBoard.

    ``log_search(...)`` returns one; ``HyperbandSearchCV(log_to=...)`` and
    ``AsyncHalvingSearchCV(log_to=...)`` take one (or its tracking URI, or its keywords as
    a dict). MLflow is used when ``tracking_uri`` or ``experiment`` is given, or when
    ``tensorboard_dir`` is not (MLflow's own defaults then: ``MLFLOW_TRACKING_URI``, else
    its local store). See :func:`log_search`.

    Examples
    --------
    >>> from sklearn_keras_hpo.tracking import SearchLogger
    >>> SearchLogger(tensorboard_dir="tb").uses_mlflow, SearchLogger("sqlite:///mlflow.db").uses_mlflow
    (False, True)
    """

    def __init__(self, tracking_uri=None, experiment=None, tensorboard_dir=None, run_name=None):
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.tensorboard_dir = tensorboard_dir
        self.run_name = run_name

    @property
    def uses_mlflow(self):
        return (
            self.tracking_uri is not None
            or self.experiment is not None
            or self.tensorboard_dir is None
        )

    def __enter__(self):
        self._depth = getattr(self, "_depth", 0) + 1
        if self._depth > 1:  # already open (a log_search() block that is also a search's log_to)
            return self
        self._writers = []
        if self.uses_mlflow:
            from .mlflow_writer import MlflowWriter

            self._writers.append(MlflowWriter(self.tracking_uri, self.experiment, self.run_name))
        if self.tensorboard_dir is not None:
            from .tensorboard_writer import TensorBoardWriter

            self._writers.append(TensorBoardWriter(self.tensorboard_dir))
        self._state = None
        hooks.open_logger(self)
        return self

    def __exit__(self, *exc_info):
        self._depth -= 1
        if self._depth == 0:
            hooks.close_logger(self)
            for writer in self._writers:
                writer.close()
        return False

    @property
    def run_id(self):
        """The MLflow parent run of the last search logged (None without MLflow)."""
        return next((w.run_id for w in getattr(self, "_writers", ()) if hasattr(w, "run_id")), None)

    def search_started(self, search):
        """Open the search's runs here (a bad URI fails before any fit), then write its
        fits on one thread of this process while the search goes on."""
        self._state = SearchState(search)
        for writer in self._writers:
            writer.start(search, self._state)
        self._fits, self._failures = queue.SimpleQueue(), []
        self._thread = threading.Thread(target=self._write_fits, name="skhpo-tracking", daemon=True)
        self._thread.start()

    def fit_finished(self, record):
        state = self._state
        if state is None or record["id"] in state.seen or record.get("fold") is None:
            return
        state.seen.add(record["id"])
        self._fits.put(
            (
                state.candidate(record["params"]),
                record,
                state.budget(record["params"], record["epochs"]),
            )
        )

    def _write_fits(self):
        while (fit := self._fits.get()) is not None:
            for writer in self._writers:
                try:
                    writer.log_fit(*fit)
                except Exception as error:  # reported when the search ends
                    self._failures.append(error)

    def search_ended(self, search, error):
        """Write the fits still queued, then the search's results; close its runs."""
        self._fits.put(None)
        self._thread.join()
        if self._failures:
            failure = self._failures[0]
            warnings.warn(
                f"Experiment tracking failed for {len(self._failures)} fit(s), the search went on: "
                f"{type(failure).__name__}: {failure}",
                RuntimeWarning,
                stacklevel=2,
            )
        for writer in self._writers:
            writer.end(search, self._state, error)

    def log_artifact(self, path, artifact_path=None):
        """Attach ``path`` (a file or a folder) to the last search's MLflow parent run."""
        for writer in getattr(self, "_writers", ()):
            if hasattr(writer, "log_artifact"):
                writer.log_artifact(path, artifact_path)


def log_search(tracking_uri=None, experiment=None, tensorboard_dir=None, run_name=None):
    """Log every search fitted in the ``with`` block: ours, scikit-learn's and skopt's.

    Parameters
    ----------
    tracking_uri : str, default=None
        MLflow tracking URI: ``"sqlite:///mlflow.db"`` (a file, no server), or a
        server's ``"http://host:5000"``. None: ``MLFLOW_TRACKING_URI`` or MLflow's default.
    experiment : str, default=None
        MLflow experiment (created when missing); None: MLflow's default experiment.
    tensorboard_dir : str, default=None
        Also write TensorBoard logs here: ``<dir>/<candidate>/fold_<k>/`` with per-epoch
        scalars and the HParams plugin's hyperparameters and metrics. Given alone (no
        ``tracking_uri`` nor ``experiment``), only TensorBoard is written.
    run_name : str, default=None
        Name of the MLflow parent run (default: the searcher's class name).

    Returns
    -------
    SearchLogger
        A context manager; ``run_id`` is the last search's MLflow parent run.

    Notes
    -----
    One parent run per search (searcher, space, cv, budget, seeds; at the end
    ``best_params_``, ``best_score_``, ``cv_results.csv`` and the refitted model), one child
    run per candidate (its parameters; ``mean_test_score`` & co. per budget, ``step`` =
    the budget), and per fold the per-epoch metrics as ``fold_<k>/<metric>`` with
    ``step`` = the absolute epoch. Workers log nothing: each fit's per-epoch history comes
    back with its result and is written here, so SQLite sees one writer and Dask workers
    need no setup. Our searchers log each fit when it is collected; scikit-learn's, each
    batch of fits as it ends (all of ``GridSearchCV`` at once). A search resumed from its
    ``checkpoint_dir`` logs into its earlier parent run, without repeating what is there.
    Needs the ``tracking`` extra (MLflow) and, for ``tensorboard_dir``, the ``tensorboard``
    extra.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_keras_hpo import CNNClassifier
    >>> from sklearn_keras_hpo.tracking import log_search
    >>> X, y = load_digits(return_X_y=True)
    >>> search = GridSearchCV(CNNClassifier(image_shape=(8, 8), filters=4, epochs=1),
    ...                       {"dropout": [0.0, 0.2]}, cv=2)
    >>> with log_search(tensorboard_dir=tempfile.mkdtemp()) as logger:
    ...     _ = search.fit(X[:200] / 16, y[:200])
    """
    return SearchLogger(tracking_uri, experiment, tensorboard_dir, run_name)


def logger_for(log_to):
    """The logger a search's ``log_to`` names: a ``SearchLogger``, a tracking URI, or the
    keywords of ``log_search`` as a dict."""
    if isinstance(log_to, SearchLogger):
        return log_to
    if isinstance(log_to, str):
        return SearchLogger(tracking_uri=log_to)
    if isinstance(log_to, dict):
        return SearchLogger(**log_to)
    raise ValueError(
        f"log_to must be a tracking URI, a dict of log_search keywords or a log_search(); "
        f"got {log_to!r}."
    )


def missing_extra(package, extra, feature):
    """The ImportError for a missing optional package: it names the extra to install."""
    return ImportError(
        f"{feature} needs the {package!r} package, which is not installed: "
        f"{EXTRA_HINT.format(extra=extra)}"
    )
