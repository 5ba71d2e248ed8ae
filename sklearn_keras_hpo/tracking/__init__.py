"""Experiment tracking: MLflow runs and TensorBoard logs of every search.

All writing happens in the process that runs the search, fed with one record per fit
(``records``): workers write nothing. Tracking knows a search in two ways, and patches
nothing:

- our searchers (``HyperbandSearchCV``, ``AsyncHalvingSearchCV``) call explicit lifecycle
  hooks (``hooks``: search started, fit finished, candidate finished, search ended), which
  a ``log_search()`` block, or the searcher's ``log_to``, listens to; their fits bring
  their records back with their results;
- any searcher built on scikit-learn's ``BaseSearchCV`` (``GridSearchCV``,
  ``RandomizedSearchCV``, ``Halving*SearchCV``, skopt's ``BayesSearchCV``) is given the
  logger as a scikit-learn callback, ``search.set_callbacks(logger)`` (``callback``); the
  logger's copy in each worker sends the fold's record back (``transport``).

MLflow and TensorBoard are imported only when a logger opens.

Layer: below ``search`` (which calls ``hooks`` and builds its fit records with
``records``), beside ``training``; it imports nothing of ours but ``_backend``.
"""

from .hooks import SearchListener
from .logger import SearchLogger, log_search

__all__ = ["SearchListener", "SearchLogger", "log_search"]
