"""``scikeras.wrappers`` mapped onto sklearn_keras_hpo: ``KerasClassifier`` is a
``CNNClassifier`` and ``KerasRegressor`` a ``CNNRegressor``, with scikeras 0.13's
defaults where ours differ and scikeras's names for what we call otherwise. Nothing
here trains or validates: every behaviour under test is the library's.
"""

import inspect

from sklearn_keras_hpo import CNNClassifier, CNNRegressor
from sklearn_keras_hpo.estimators._base import _BaseCNN

# scikeras 0.13's constructor defaults that differ from ours (verbose=0 only keeps the log short)
SCIKERAS_DEFAULTS = {"optimizer": "rmsprop", "epochs": 1, "batch_size": None, "verbose": 0}
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class BaseWrapper(_BaseCNN):
    """The common base of the two wrappers (scikeras's generic ``BaseWrapper`` has no
    counterpart here: we offer a classifier and a regressor only)."""

    # scikeras's tables of the keywords bound for Model.fit / predict / compile
    _fit_kwargs = {
        "batch_size",
        "epochs",
        "verbose",
        "validation_split",
        "shuffle",
        "class_weight",
        "sample_weight",
        "initial_epoch",
        "validation_steps",
        "validation_batch_size",
        "validation_freq",
    }
    _predict_kwargs = {"batch_size", "verbose", "steps"}
    _compile_kwargs = {
        "optimizer",
        "loss",
        "metrics",
        "loss_weights",
        "weighted_metrics",
        "run_eagerly",
    }

    def __init__(self, model=None, **kwargs):
        super().__init__(model=model, **{**SCIKERAS_DEFAULTS, **kwargs})

    @classmethod
    def _get_param_names(cls):
        """The parameters every ``__init__`` on the way up names: ours (``threshold``
        included for the classifier) and a subclass's own (scikeras lets subclasses add
        parameters that way)."""
        names = set()
        for klass in cls.__mro__:
            init = vars(klass).get("__init__")
            if init is not None and issubclass(klass, _BaseCNN):
                names |= {
                    p.name
                    for p in inspect.signature(init).parameters.values()
                    if p.kind in _NAMED and p.name != "self"
                }
        return sorted(names)

    def __sklearn_tags__(self):
        """scikeras declares its estimators ``poor_score`` (one epoch by default) through
        ``_more_tags``, which scikit-learn >= 1.6 no longer reads; declared here instead."""
        tags = super().__sklearn_tags__()
        for kind in (tags.classifier_tags, tags.regressor_tags):
            if kind is not None:
                kind.poor_score = True
        return tags

    @property
    def __name__(self):
        """scikeras names its estimators in messages and checks this way."""
        return type(self).__name__

    @property
    def current_epoch(self):
        """scikeras's name for the epochs trained so far."""
        return getattr(self, "n_epochs_", 0)

    @property
    def initialized_(self):
        return hasattr(self, "model_")


class KerasClassifier(BaseWrapper, CNNClassifier):
    """scikeras's ``KerasClassifier``: our ``CNNClassifier``."""


class KerasRegressor(BaseWrapper, CNNRegressor):
    """scikeras's ``KerasRegressor``: our ``CNNRegressor``."""
