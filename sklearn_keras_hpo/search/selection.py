"""Where a search starts and which rows of its results win: what the rung searchers, the
starting searchers of ``starting`` and the CLI's stopped searches share."""

import numpy as np


def top_k(scores, k):
    """Indices of the ``k`` best scores; failed (NaN) scores rank last."""
    scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
    return list(np.argsort(-scores, kind="stable")[:k])


def best_at_largest_budget(scores, budgets, top=None, starting=None):
    """Index of the best finite score among those of the largest budget that has one.

    Where that budget is the smallest one too and below ``top`` (the search stopped before
    any candidate was promoted), the best of the ``starting`` rows (a mask: the points the
    search began from) when one has a finite score: a first-rung score decides which
    candidate trains longer, not which replaces the configuration the search started from.

    >>> best_at_largest_budget([0.9, 0.7, 0.8, float("nan")], [1, 3, 3, 9])
    2
    >>> best_at_largest_budget([0.5, 0.6, 0.4], [1, 1, 1], top=9, starting=[True, False, False])
    0
    >>> best_at_largest_budget([0.5, 0.6, 0.4], [9, 9, 9], top=9, starting=[True, False, False])
    1
    """
    scores, budgets = np.asarray(scores, dtype=float), np.asarray(budgets)
    finite = np.isfinite(scores)
    largest = budgets[finite].max()
    rows = finite & (budgets == largest)
    if (
        top is not None
        and starting is not None
        and largest < top
        and budgets[finite].min() == largest
    ):
        kept = rows & np.asarray(starting, dtype=bool)
        rows = kept if kept.any() else rows
    return int(np.flatnonzero(rows)[np.argmax(scores[rows])])


def own_configuration(estimator, names):
    """The estimator's own values of the parameters ``names``: its configuration as the
    user would fit it, restricted to what a search varies.

    Names that are not parameters of ``estimator`` are left out (the search reports them
    itself when it sets them on a candidate).

    Parameters
    ----------
    estimator : estimator
        Its ``get_params()`` (deep) gives the values.
    names : iterable of str
        Parameter names, such as the keys of a search space.

    Returns
    -------
    dict
        ``{name: value}`` in the order of ``names``.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> own_configuration(DecisionTreeClassifier(max_depth=3), ["max_depth", "criterion"])
    {'max_depth': 3, 'criterion': 'gini'}
    """
    own = estimator.get_params()
    return {name: own[name] for name in names if name in own}
