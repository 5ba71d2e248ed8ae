"""scikeras's conventions, as pure functions of the parameters.

- Routed beats bare: ``fit__epochs`` overrides ``epochs``, ``compile__loss``
  overrides ``loss`` (``effective_params``); scikeras's ``validation_batch_size``
  keyword is ``fit__validation_batch_size`` here (``FIT_KEYWORDS``).
- A class named by a parameter is built with its routed arguments:
  ``callbacks=[EarlyStopping]`` with ``callbacks__0__patience=2`` (``instantiate``).
- A ``model=`` builder is called with its own arguments and, where its signature
  takes them, ``meta``, ``compile_kwargs`` and ``params`` (``builder_arguments``),
  ``meta`` holding the keys scikeras documents (``meta``).
"""

import inspect

from . import _routing

FIT_OVERRIDES = ("epochs", "batch_size", "validation_split", "shuffle", "class_weight", "verbose")
COMPILE_OVERRIDES = ("optimizer", "loss", "metrics", "run_eagerly")
KERAS_RESOLVED_METRICS = ("acc", "accuracy", "ce", "crossentropy")  # Keras picks these by loss
# scikeras constructor keywords that are Model.fit arguments here, not parameters of our own
# (nor a builder's): a bare one is routed as fit__<name>
FIT_KEYWORDS = ("validation_batch_size",)


def effective_params(params):
    """``params`` with ``fit__<name>``/``compile__<name>`` moved onto ``<name>`` (they win),
    and the bare ``FIT_KEYWORDS`` moved onto ``fit__<name>`` (unless that is given)."""
    out = dict(params)
    for name in FIT_KEYWORDS:
        if name in out:
            out.setdefault(f"fit__{name}", out.pop(name))
    for prefix, names in (("fit", FIT_OVERRIDES), ("compile", COMPILE_OVERRIDES)):
        for name in names:
            if f"{prefix}__{name}" in out:
                out[name] = out.pop(f"{prefix}__{name}")
    return out


def fit_kwargs(params):
    """``fit__*`` parameters left for ``Model.fit`` (callbacks are built apart)."""
    return {
        k: v for k, v in _routing.routed(params, "fit", strict=True).items() if k != "callbacks"
    }


def instantiate(items, routed, base=None):
    """Build ``items`` with routed arguments, as scikeras does.

    A class is called with the arguments in ``routed`` (digit names are positional);
    in a list, tuple or dict, plain names reach every item and ``"<index or key>__name"``
    only that item; values are built the same way, recursively. Anything that is not
    a class is returned as it is, and routed arguments for it are a ``TypeError``.

    >>> class Box:
    ...     def __init__(self, size=1):
    ...         self.size = size
    >>> [b.size for b in instantiate([Box, Box], {"size": 2, "1__size": 3})]
    [2, 3]
    """
    own = {k: v for k, v in routed.items() if "__" not in k}
    arguments = {**(base or {}), **own}
    if isinstance(items, type):
        built = {k: instantiate(v, _under(routed, k)) for k, v in arguments.items()}
        args = [built[k] for k in sorted((k for k in built if k.isdigit()), key=int)]
        return items(*args, **{k: v for k, v in built.items() if not k.isdigit()})
    if isinstance(items, (list, tuple, dict)):
        keys = list(items) if isinstance(items, dict) else range(len(items))
        built = {key: instantiate(items[key], _under(routed, str(key)), base=own) for key in keys}
        return built if isinstance(items, dict) else type(items)(built.values())
    if arguments:
        raise TypeError(
            f"{items!r} does not accept parameters because it's not a class, but it received "
            f"{sorted(arguments)}; pass the class instead to have them applied."
        )
    return items


def _under(routed, key):
    prefix = f"{key}__"
    return {k[len(prefix) :]: v for k, v in routed.items() if k.startswith(prefix)}


def keras_objects(items, routed, module):
    """A user's ``loss`` or ``metrics`` built with their ``loss__*``/``metrics__*``
    arguments; with arguments, Keras names (``"BinaryCrossentropy"``) become classes."""
    if routed:
        items = _names_to_objects(items, module)
    return instantiate(items, routed)


def _names_to_objects(items, module):
    if isinstance(items, str):
        if items in KERAS_RESOLVED_METRICS:
            return items
        found = getattr(module, items, None)
        return found if isinstance(found, type) else module.get(items)
    if isinstance(items, (list, tuple)):
        return type(items)(_names_to_objects(item, module) for item in items)
    if isinstance(items, dict):
        return {key: _names_to_objects(item, module) for key, item in items.items()}
    return items


def built_callbacks(params):
    """One fit's callbacks as a flat list: ``callbacks`` then ``fit__callbacks``, each a
    list, dict, single callback or class, classes built with their routed arguments."""
    found = []
    for name in ("callbacks", "fit__callbacks"):
        if params.get(name) is not None:
            found += _flat(instantiate(params[name], _routing.routed(params, name)))
    return found


def _flat(callbacks):
    if isinstance(callbacks, dict):
        callbacks = list(callbacks.values())
    if not isinstance(callbacks, (list, tuple)):
        return [callbacks]
    return [c for item in callbacks for c in _flat(item)]


def builder_arguments(builder, model_args, *, meta, compile_kwargs, params):
    """The keyword arguments of a scikeras-style builder call: all of ``model_args`` (a
    name it does not take is the ``TypeError`` of any Python call), then ``meta``,
    ``compile_kwargs`` and ``params`` where its signature takes them (or ``**kwargs``)."""
    parameters = inspect.signature(builder).parameters.values()
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
    names = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    kwargs = dict(model_args)
    for name, value in (("meta", meta), ("compile_kwargs", compile_kwargs), ("params", params)):
        if takes_any or name in names:
            kwargs[name] = value
    return kwargs


def meta(X_shape, X_dtype, y, *, n_outputs, classes=None, target_encoder=None, target_type=None):
    """What a scikeras builder reads from ``meta``, with scikeras's meanings.

    ``X_shape`` is the shape of X as the model receives it, samples first
    (``n_features_in_`` is its second entry); ``n_outputs_`` counts the columns of
    ``y``; ``n_outputs_expected_`` the model's outputs (always 1 here).
    """
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.utils.multiclass import type_of_target

    found = {
        "n_features_in_": X_shape[1] if len(X_shape) > 1 else 1,
        "X_shape_": tuple(X_shape),
        "X_dtype_": X_dtype,
        "y_dtype_": y.dtype,
        "y_ndim_": y.ndim,
        "n_outputs_": n_outputs,
        "n_outputs_expected_": 1,
        "feature_encoder_": FunctionTransformer(),
        "target_encoder_": target_encoder if target_encoder is not None else FunctionTransformer(),
    }
    if classes is None:
        return {**found, "target_type_": type_of_target(y)}
    kind = target_type or ("binary" if len(classes) <= 2 else "multiclass")
    return {**found, "classes_": classes, "n_classes_": len(classes), "target_type_": kind}


class EncoderAttributes:
    """scikeras's fitted ``target_encoder_`` and ``feature_encoder_``, as views of the
    fitted estimator (properties: nothing more is stored, pickled or saved).

    ``target_encoder_`` is the classifier's ``LabelEncoder`` of ``classes_`` (the same
    object across ``partial_fit`` calls, as in scikeras), an identity transformer for the
    regressor; ``feature_encoder_`` is an identity transformer (X reaches the model as given).
    """

    @property
    def target_encoder_(self):
        """The fitted transformer of y (scikeras's attribute)."""
        from sklearn.preprocessing import FunctionTransformer, LabelEncoder
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        if (
            not hasattr(self, "classes_")
            or getattr(self, "target_type_", None) == "multilabel-indicator"
        ):
            return (
                FunctionTransformer()
            )  # y (a label matrix for a multi-label fit) reaches the model as given
        encoder = getattr(self, "_label_encoder", None)  # None: an estimator loaded from disk
        return encoder if encoder is not None else LabelEncoder().fit(self.classes_)

    @property
    def feature_encoder_(self):
        """The transformer of X: the identity (scikeras's attribute)."""
        from sklearn.preprocessing import FunctionTransformer
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return FunctionTransformer()


def is_keras_model(obj):
    """A ``keras.Model`` instance (duck-typed: no Keras import needed)."""
    return not isinstance(obj, type) and all(
        hasattr(obj, name) for name in ("layers", "compile", "fit")
    )
