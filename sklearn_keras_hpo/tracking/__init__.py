"""Experiment tracking: MLflow runs and TensorBoard logs of every search.

Runs only in the process that runs the search, fed by the records the fits bring back
with their results (``records``): workers write nothing. ``log_search()`` covers every
searcher; ``HyperbandSearchCV(log_to=...)`` and ``AsyncHalvingSearchCV(log_to=...)`` open
one themselves. MLflow and TensorBoard are imported only when a logger opens.

Layer: below ``search`` (which calls ``hooks`` and builds its fit records with
``records``), beside ``training``; it knows a search only by scikit-learn's
``BaseSearchCV`` and its public attributes, and imports nothing of ours but ``_backend``.
"""

from .logger import SearchLogger, log_search

__all__ = ["SearchLogger", "log_search"]
