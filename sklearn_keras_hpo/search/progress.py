"""A tqdm progress bar over the fits of any search (or any joblib ``Parallel`` work).

scikit-learn's searchers hand their fits to joblib, which reports each finished
task in the parent process through ``Parallel.print_progress``. Inside
``progress_bar()`` we count those reports into one ``tqdm.auto`` bar (a terminal
bar, or a widget in notebooks). Each ``Parallel`` call's tasks are listed before
dispatch so the total, and so the ETA, is known. ``HyperbandSearchCV`` and
``AsyncHalvingSearchCV`` start each fit themselves, as soon as a worker is free, and
report through ``count_fits`` instead. Off unless asked for; the CLI turns it on.
Everything is restored when the block ends.

Examples
--------
>>> from sklearn.datasets import load_digits
>>> from sklearn.model_selection import GridSearchCV
>>> from sklearn_keras_hpo import CNNClassifier, progress_bar
>>> X, y = load_digits(return_X_y=True)
>>> search = GridSearchCV(CNNClassifier(image_shape=(8, 8), filters=4, epochs=1),
...                       {"dropout": [0.0, 0.2]}, cv=2)
>>> with progress_bar(disable=True) as bar:
...     _ = search.fit(X[:200] / 16, y[:200])
>>> bar.n, bar.total
(4, 4)
"""

import contextlib

import joblib

_open_bars = []  # the bars of the progress_bar() blocks now open


def count_fits(started=0, finished=0):
    """Add fits started (to the total) and finished (to the count) to every open bar."""
    for bar in _open_bars:
        bar.total += started
        bar.n += finished
        bar.refresh()


@contextlib.contextmanager
def progress_bar(desc="fits", **tqdm_kwargs):
    """Show fits done / total, elapsed time and ETA for every search run in the block."""
    from tqdm.auto import tqdm

    bar = tqdm(total=0, desc=desc, unit="fit", **tqdm_kwargs)
    original_call, original_progress = joblib.Parallel.__call__, joblib.Parallel.print_progress

    def call(parallel, iterable):
        tasks = list(iterable)  # a known length gives the bar its total
        parallel._skhpo_done_before = bar.n
        bar.total += len(tasks)
        bar.refresh()
        return original_call(parallel, tasks)

    def print_progress(parallel):
        bar.n = getattr(parallel, "_skhpo_done_before", 0) + parallel.n_completed_tasks
        bar.refresh()

    joblib.Parallel.__call__, joblib.Parallel.print_progress = call, print_progress
    _open_bars.append(bar)
    try:
        yield bar
    finally:
        _open_bars.remove(bar)
        joblib.Parallel.__call__, joblib.Parallel.print_progress = original_call, original_progress
        bar.close()
