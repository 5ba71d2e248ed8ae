"""A tqdm progress bar over the fits of a search: ours, scikit-learn's and skopt's.

``progress_bar()`` returns a ``FitProgress``, a context manager whose block shows one
``tqdm.auto`` bar (a terminal bar, or a widget in notebooks) of fits done / total, elapsed
time and ETA. ``HyperbandSearchCV`` and ``AsyncHalvingSearchCV`` start each fit themselves
and report it to every open bar (``count_fits``). Any searcher built on scikit-learn's
``BaseSearchCV`` is counted by the bar's scikit-learn callback, ``bar.callback``, which the
search is given: ``search.set_callbacks(bar.callback)`` (with any other callbacks in the
same call). The total grows by a batch's fits when the search announces them (the
``max_subtasks`` of its "search" or per-iteration task, in the search's process), the
count by one as each fold's fit task ends, wherever it ran (a worker sends it back,
``tracking.transport``). Nothing of scikit-learn or joblib is changed. Off unless asked
for; the CLI turns it on.

Examples
--------
>>> from sklearn.datasets import load_digits
>>> from sklearn.model_selection import GridSearchCV
>>> from sklearn_keras_hpo import CNNClassifier, progress_bar
>>> X, y = load_digits(return_X_y=True)
>>> search = GridSearchCV(CNNClassifier(image_shape=(8, 8), filters=4, epochs=1),
...                       {"dropout": [0.0, 0.2]}, cv=2)
>>> with progress_bar(disable=True) as bar:
...     _ = search.set_callbacks(bar.callback).fit(X[:200] / 16, y[:200])
>>> bar.n, bar.total
(4, 4)
"""

import threading
import warnings
from typing import Any

from ..tracking import hooks, transport

EVALUATION = "candidate-split-evaluation"  # scikit-learn's name of one fold's fit task

_open_bars: list["FitProgress"] = []  # the bars of the progress_bar() blocks now open


def count_fits(started: int = 0, finished: int = 0) -> None:
    """Add fits started (to the total) and finished (to the count) to every open bar."""
    for bar in list(_open_bars):
        bar.add(started, finished)


class FitProgress:
    """Fits done / total of the searches it hears, shown as a tqdm bar inside its block.

    Use :func:`progress_bar` to make one. ``n`` and ``total`` keep their values after the
    block; ``callback`` is the scikit-learn callback that counts a ``BaseSearchCV``'s
    fits; ``bar`` is the tqdm bar (None outside the block).
    """

    def __init__(self, desc: str = "fits", **tqdm_kwargs: Any) -> None:
        self.desc = desc
        self.tqdm_kwargs = tqdm_kwargs
        self.n = 0
        self.total = 0
        self.bar = None
        self.callback = FitCounter(self)
        self._lock = threading.Lock()

    def __enter__(self) -> "FitProgress":
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=self.total, initial=self.n, desc=self.desc, unit="fit", **self.tqdm_kwargs
        )
        _open_bars.append(self)
        return self

    def __exit__(self, *exc_info: Any) -> bool:
        _open_bars.remove(self)
        self.bar.close()
        self.bar = None
        return False

    def add(self, started: int = 0, finished: int = 0) -> None:
        """Count ``started`` more fits in the total and ``finished`` more as done."""
        with self._lock:
            self.total += started
            self.n += finished
            if self.bar is not None:
                self.bar.total, self.bar.n = self.total, self.n
                self.bar.refresh()


class FitCounter:
    """The scikit-learn callback of a ``FitProgress`` (``sklearn.callback.FitCallback``).

    Not propagated to the searched estimator: it hears the search's own tasks only. A
    search our runner fits (``tracking.hooks.is_observed``) counts through ``count_fits``
    instead, and is skipped here.
    """

    def __init__(self, progress: FitProgress) -> None:
        self._progress = progress
        self._channels: dict[Any, transport.Channel] = {}  # root task's uuid -> channel

    def __getstate__(self) -> dict[str, Any]:
        """A worker's copy keeps where to send its counts."""
        return {"_progress": None, "_channels": dict(self._channels)}

    def setup(self, estimator: Any, context: Any) -> None:
        if context.parent is None and not hooks.is_observed(estimator):
            self._channels[context.root_uuid] = transport.open_channel(self._counted)

    def on_fit_task_begin(self, estimator: Any, context: Any) -> None:
        # the task whose subtasks are the fits numbers them itself: scikit-learn's "search"
        # (Grid, Randomized) or "halving-iteration" task
        if context.max_subtasks and not context.sequential_subtasks:
            self._send(context, (context.max_subtasks, 0))

    def on_fit_task_end(self, estimator: Any, context: Any) -> None:
        if context.task_name == EVALUATION:
            self._send(context, (0, 1))

    def teardown(self, estimator: Any, context: Any) -> None:
        channel = self._channels.pop(context.root_uuid, None)
        if channel is not None:
            transport.close_channel(channel)

    def _counted(self, message: tuple[int, int]) -> None:
        self._progress.add(*message)

    def _send(self, context: Any, message: tuple[int, int]) -> None:
        channel = self._channels.get(context.root_uuid)
        if channel is None:
            return
        try:
            transport.send(channel, message)
        except (OSError, EOFError) as error:  # a worker on another machine: no bar, no harm
            warnings.warn(
                f"The progress bar cannot count this fit: {error}", RuntimeWarning, stacklevel=2
            )


def progress_bar(desc: str = "fits", **tqdm_kwargs: Any) -> FitProgress:
    """Show fits done / total, elapsed time and ETA for the searches run in the block.

    Parameters
    ----------
    desc : str, default="fits"
        The bar's label.
    **tqdm_kwargs
        Passed to ``tqdm.auto.tqdm`` (``disable=True``, ``leave=False``, ...).

    Returns
    -------
    FitProgress
        A context manager. ``HyperbandSearchCV`` and ``AsyncHalvingSearchCV`` fitted in its
        block are counted; give any other search its ``callback``:
        ``search.set_callbacks(bar.callback)``.
    """
    return FitProgress(desc, **tqdm_kwargs)
