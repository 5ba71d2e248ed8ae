"""``log_search()``: one way into MLflow and TensorBoard for every searcher.

For each search it hears, a ``SearchLogger`` writes an MLflow parent run and, per
candidate, a child run with the per-epoch curves of its folds (``step`` = the absolute
epoch: a warm-started rung continues its curve) and its cross-validation scores per
budget; and, with ``tensorboard_dir``, keras-tuner's layout ``<dir>/<candidate>/fold_<k>/``
with the HParams plugin's hyperparameters and metrics. It hears our searchers through the
runner's hooks (``hooks``) and scikit-learn's and skopt's through scikit-learn's callbacks
(``callback``: ``search.set_callbacks(logger)``). All writing happens in the process that
runs the search, on one thread.
"""

import hashlib
import json
import math
import os
import queue
import threading
import warnings

from . import hooks
from .callback import SklearnCallback
from .records import plain, score_record, searched_names

EXTRA_HINT = "pip install 'sklearn_keras_hpo[{extra}]'"
SETTINGS = ("tracking_uri", "experiment", "tensorboard_dir", "run_name")


class Candidate:
    """One candidate of a search: its parameters without the resource (epochs of a rung)."""

    def __init__(self, params):
        self.params = params
        self.key = json.dumps(params, sort_keys=True, default=repr)
        self.name = "candidate_" + hashlib.blake2b(self.key.encode(), digest_size=4).hexdigest()


class SearchState:
    """The candidates of the search being logged, and the records already seen.

    A candidate is named by the values of every searched parameter: those a space of a
    list of spaces leaves out are the estimator's own, so a fit's record (which has them
    all) and its ``cv_results_`` row (which has its space's) name the same candidate."""

    def __init__(self, search):
        resource = getattr(search, "resource", None)
        self.resource = resource if isinstance(resource, str) and resource != "n_samples" else None
        estimator = getattr(search, "estimator", None)
        own = estimator.get_params() if hasattr(estimator, "get_params") else {}
        self.epochs = own.get("epochs")
        names = [name for name in searched_names(search) or () if name != self.resource]
        self.own = {name: plain(own[name]) for name in names if name in own}
        self.candidates = {}
        self.seen = set()

    def candidate(self, params):
        plain_params = {k: v for k, v in params.items() if k != self.resource}
        for name, value in self.own.items():
            plain_params.setdefault(name, value)
        found = Candidate(plain_params)
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


class SearchLogger(SklearnCallback):
    """Log searches to MLflow and/or TensorBoard.

    ``log_search(...)`` returns one. It hears a search in one of three ways:

    - opened with ``with``: every ``HyperbandSearchCV`` and ``AsyncHalvingSearchCV``
      fitted in the block;
    - as their ``log_to`` (or its tracking URI, or its keywords as a dict);
    - as a scikit-learn callback, for any searcher built on ``BaseSearchCV``
      (``GridSearchCV``, ``RandomizedSearchCV``, ``Halving*SearchCV``, skopt's
      ``BayesSearchCV``, ours): ``search.set_callbacks(logger)``.

    Given to a search only as a callback, it opens itself when the search starts and
    closes when it ends. It logs one search at a time. MLflow is used when
    ``tracking_uri`` or ``experiment`` is given, or when ``tensorboard_dir`` is not
    (MLflow's own defaults then: ``MLFLOW_TRACKING_URI``, else its local store). See
    :func:`log_search`.

    Examples
    --------
    >>> from sklearn_keras_hpo.tracking import SearchLogger
    >>> SearchLogger(tensorboard_dir="tb").uses_mlflow, SearchLogger("sqlite:///m.db").uses_mlflow
    (False, True)
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        tensorboard_dir: str | os.PathLike | None = None,
        run_name: str | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.tensorboard_dir = tensorboard_dir
        self.run_name = run_name
        self._depth = 0  # nested ``with`` blocks
        self._writers = []
        self._opened = False
        self._closes_itself = False  # opened by a search, not by ``with``
        self._search = None  # the search being logged
        self._state = None
        self._lock = threading.Lock()
        SklearnCallback.__init__(self)

    def __getstate__(self):
        """A copy (a worker's, or a clone's ``log_to``) keeps the settings and where to send
        each search's fits; the writers and threads stay here."""
        return {**{name: getattr(self, name) for name in SETTINGS}, **self._callback_state()}

    def __setstate__(self, state):
        self.__init__(**{name: state.pop(name) for name in SETTINGS})
        vars(self).update(state)

    @property
    def uses_mlflow(self):
        return (
            self.tracking_uri is not None
            or self.experiment is not None
            or self.tensorboard_dir is None
        )

    def __enter__(self):
        self._depth += 1
        if self._depth == 1:
            try:
                self._open()
            except BaseException:
                self._depth = 0
                raise
            hooks.open_logger(self)
        return self

    def __exit__(self, *exc_info):
        self._depth -= 1
        if self._depth == 0:
            hooks.close_logger(self)
            self._close()
        return False

    def _open(self):
        """Open the writers unless they are; whether this call opened them."""
        if self._opened:
            return False
        writers = []
        if self.uses_mlflow:
            from .mlflow_writer import MlflowWriter

            writers.append(MlflowWriter(self.tracking_uri, self.experiment, self.run_name))
        if self.tensorboard_dir is not None:
            from .tensorboard_writer import TensorBoardWriter

            writers.append(TensorBoardWriter(self.tensorboard_dir))
        self._writers, self._opened = writers, True
        return True

    def _close(self):
        if self._opened:
            self._opened = False
            for writer in self._writers:
                writer.close()

    @property
    def run_id(self):
        """The MLflow parent run of the last search logged (None without MLflow)."""
        return next((w.run_id for w in self._writers if hasattr(w, "run_id")), None)

    # -- hooks.SearchListener ----------------------------------------------------------
    def search_started(self, search):
        """Open the search's runs here (a bad URI fails before any fit), then write its
        fits on one thread of this process while the search goes on."""
        if search is self._search:
            return
        if self._search is not None:
            raise RuntimeError(
                f"This SearchLogger is logging a {type(self._search).__name__} already; "
                "give each search fitted at the same time a logger of its own."
            )
        state = SearchState(search)
        closes_itself = self._open()
        try:
            for writer in self._writers:
                writer.start(search, state)
        except BaseException:
            if closes_itself:
                self._close()
            raise
        self._search, self._state, self._closes_itself = search, state, closes_itself
        self._fits, self._failures = queue.SimpleQueue(), []
        self._thread = threading.Thread(target=self._write_fits, name="skhpo-tracking", daemon=True)
        self._thread.start()

    def fit_finished(self, record):
        with self._lock:
            state = self._state
            if self._search is None or record["id"] in state.seen or record.get("fold") is None:
                return
            state.seen.add(record["id"])
            self._fits.put(
                (
                    state.candidate(record["params"]),
                    record,
                    state.budget(record["params"], record["epochs"]),
                )
            )

    def candidate_finished(self, params, score):
        """Nothing: each candidate's scores are written with ``cv_results_`` at the end."""

    def search_ended(self, search, error):
        """Write the fits still queued, then the search's results; close its runs."""
        if search is not self._search:
            return
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
        try:
            for writer in self._writers:
                writer.end(search, self._state, error)
        finally:
            self._search = None
            if self._closes_itself:
                self._close()

    def _write_fits(self):
        while (fit := self._fits.get()) is not None:
            for writer in self._writers:
                try:
                    writer.log_fit(*fit)
                except Exception as error:  # reported when the search ends
                    self._failures.append(error)

    def _fold_scores_from(self, search):
        """Queue each fold's test score from ``search.cv_results_`` (scikit-learn's
        searches: a fit reports before it is scored)."""
        results, state = getattr(search, "cv_results_", None), self._state
        if results is None or search is not self._search:
            return
        resources = results.get("n_resources")
        for i, params in enumerate(results["params"]):
            row = plain(params)
            budget = state.budget(row, None if resources is None else plain(resources[i]))
            for fold in range(getattr(search, "n_splits_", 0)):
                scores = results.get(f"split{fold}_test_score")
                score = None if scores is None else plain(scores[i])
                if isinstance(score, (int, float)) and math.isfinite(score):
                    self._fits.put((state.candidate(row), score_record(fold, score), budget))

    def log_artifact(self, path, artifact_path=None):
        """Attach ``path`` (a file or a folder) to the last search's MLflow parent run."""
        for writer in self._writers:
            if hasattr(writer, "log_artifact"):
                writer.log_artifact(path, artifact_path)


def log_search(
    tracking_uri: str | None = None,
    experiment: str | None = None,
    tensorboard_dir: str | os.PathLike | None = None,
    run_name: str | None = None,
) -> SearchLogger:
    """A logger of searches to MLflow and TensorBoard: ours, scikit-learn's and skopt's.

    Inside ``with log_search(...) as logger:``, every ``HyperbandSearchCV`` and
    ``AsyncHalvingSearchCV`` fitted is logged. Any other searcher built on scikit-learn's
    ``BaseSearchCV`` is logged when given the logger as a callback:
    ``search.set_callbacks(logger).fit(X, y)`` (with other callbacks in the same call).

    Parameters
    ----------
    tracking_uri : str, default=None
        MLflow tracking URI: ``"sqlite:///mlflow.db"`` (a file, no server), or a
        server's ``"http://host:5000"``. None: ``MLFLOW_TRACKING_URI`` or MLflow's default.
    experiment : str, default=None
        MLflow experiment (created when missing); None: MLflow's default experiment.
    tensorboard_dir : str or path, default=None
        Also write TensorBoard logs here: ``<dir>/<candidate>/fold_<k>/`` with per-epoch
        scalars and the HParams plugin's hyperparameters and metrics. Given alone (no
        ``tracking_uri`` nor ``experiment``), only TensorBoard is written.
    run_name : str, default=None
        Name of the MLflow parent run (default: the searcher's class name).

    Returns
    -------
    SearchLogger
        A context manager and a scikit-learn callback; ``run_id`` is the last search's
        MLflow parent run.

    Notes
    -----
    One parent run per search (searcher, space, cv, budget, seeds; at the end
    ``best_params_``, ``best_score_``, ``cv_results.csv`` and the refitted model), one child
    run per candidate (its parameters; ``mean_test_score`` & co. per budget, ``step`` =
    the budget), and per fold the per-epoch metrics as ``fold_<k>/<metric>`` with
    ``step`` = the absolute epoch, and ``fold_<k>/test_score`` per budget. Workers write
    nothing: each fit's record (its per-epoch history) comes back to the search's process,
    which writes it, so SQLite sees one writer. Our searchers' records come back with the
    fits' results, from any worker (Dask clusters too), and are written as each fit is
    collected. scikit-learn's searches send them from the worker through a local socket
    as each fold's fit ends (workers on other machines cannot reach it: their curves are
    missing, with a warning in the worker; the scores are still logged); each fold's test
    score is written when the search ends. A search resumed from its ``checkpoint_dir``
    logs into its earlier parent run, without repeating what is there. Needs the
    ``tracking`` extra (MLflow) and, for ``tensorboard_dir``, the ``tensorboard`` extra.

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
    ...     _ = search.set_callbacks(logger).fit(X[:200] / 16, y[:200])
    """
    return SearchLogger(tracking_uri, experiment, tensorboard_dir, run_name)


def logger_for(log_to: SearchLogger | str | dict) -> SearchLogger:
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
