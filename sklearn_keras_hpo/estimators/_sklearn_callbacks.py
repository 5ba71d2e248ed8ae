"""Our estimators' fits as scikit-learn callback tasks (``sklearn.callback``, 1.9).

An estimator that inherits ``sklearn.callback.CallbackSupportMixin`` takes callbacks
(``set_callbacks``) and receives those a meta-estimator propagates: a search's
auto-propagated callbacks reach each fold's estimator inside ``_fit_and_score``. For them
to hear the fit, the fit must open its callback context and report its one task, which
``reports_to_callbacks`` does around the method that every fit goes through. So a
``tracking.SearchLogger`` given to a ``GridSearchCV`` gets each fold's fitted estimator
(its ``history_``) where the fold was fitted.

>>> from sklearn.base import BaseEstimator
>>> from sklearn.callback import CallbackSupportMixin
>>> class Seen:
...     def setup(self, estimator, context): print("setup", context.task_name)
...     def on_fit_task_begin(self, estimator, context): print("begin")
...     def on_fit_task_end(self, estimator, context): print("end", estimator.fitted_)
...     def teardown(self, estimator, context): print("teardown")
>>> class Fits(CallbackSupportMixin, BaseEstimator):
...     @reports_to_callbacks
...     def fit(self, X, y=None):
...         self.fitted_ = True
...         return self
>>> _ = Fits().set_callbacks(Seen()).fit([[0]])
setup fit
begin
end True
teardown
"""

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from sklearn.callback import with_callbacks

Fit = TypeVar("Fit", bound=Callable[..., Any])


def reports_to_callbacks(fit: Fit) -> Fit:
    """Decorate ``fit(self, X, y, ...)`` of a ``CallbackSupportMixin`` estimator so that
    its callbacks hear it as one task: set up before, ``on_fit_task_begin``, the fit,
    ``on_fit_task_end`` once it succeeded (with the fitted estimator), torn down after,
    also when the fit raises (``sklearn.callback.with_callbacks``)."""

    @with_callbacks
    @functools.wraps(fit)
    def fit_reported(self, X, y=None, *args, **kwargs):
        context = self._init_callback_context()
        context.call_on_fit_task_begin(estimator=self, X=X, y=y)
        fitted = fit(self, X, y, *args, **kwargs)
        context.call_on_fit_task_end(estimator=self, X=X, y=y)
        return fitted

    return fit_reported
