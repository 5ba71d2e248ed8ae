"""scikeras-style routed parameters (``model__*``, ``optimizer__*``, ...) as real parameters.

A mixin of the estimators: the names beyond the constructor's signature are stored on
the estimator like any parameter, so ``get_params``, ``set_params`` and ``clone`` keep
them and every searcher can tune them.
"""

from . import _routing, _scikeras


class RoutedParameters:
    """``get_params``/``set_params`` that include the routed parameters."""

    def _routed_params(self):
        """Parameters beyond the signature: scikeras-style ``model__*`` & co., and a
        ``model=`` builder's bare arguments.

        Like ``__init__``, ``set_params`` only stores them; ``fit`` rejects any whose
        name starts with no routing prefix unless a builder takes them.
        """
        named = set(self._get_param_names())
        return {
            k: v
            for k, v in vars(self).items()
            if k not in named and not k.endswith("_") and not k.startswith("_")
        }

    def get_params(self, deep=True):
        return {**super().get_params(deep=deep), **self._routed_params()}

    def set_params(self, **params):
        named, extra = (
            set(self._get_param_names()),
            {*self._routed_params(), *_scikeras.FIT_KEYWORDS},
        )
        for name in [name for name in params if name not in named]:
            if not _routing.is_routed(name) and name not in extra:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}: set a new "
                    f"builder argument in the constructor, or route it (model__{name}=...)."
                )
            setattr(self, name, params.pop(name))
        return super().set_params(**params)
