"""scikeras-style parameter routing: ``model__units=64`` goes to the model builder,
``optimizer__beta_1=0.8`` to the optimizer, ``loss__*``/``metrics__*`` to loss and
metric classes, ``fit__``/``compile__``/``callbacks__``/``predict__`` likewise.
Routed parameters are ordinary estimator parameters, so they survive ``clone`` and
can be searched like any other."""

ROUTING_PREFIXES = (
    "model",
    "optimizer",
    "loss",
    "metrics",
    "compile",
    "fit",
    "callbacks",
    "predict",
)


def is_routed(name):
    prefix, sep, rest = name.partition("__")
    return bool(sep) and bool(rest) and prefix in ROUTING_PREFIXES


def check_routed_names(estimator_name, names, known=(), *, builder=False):
    """Unknown keyword arguments are an error, as for any Python call; a close
    parameter name is suggested. With a ``model=`` builder (``builder=True``),
    unrouted extra names are the builder's arguments, as in scikeras."""
    import difflib

    unknown = sorted(name for name in names if not is_routed(name) and not builder)
    if unknown:
        close = {n: difflib.get_close_matches(n, known, n=1) for n in unknown}
        hints = "".join(f" Did you mean {m[0]!r} for {n!r}?" for n, m in close.items() if m)
        raise TypeError(
            f"{estimator_name} got an unexpected keyword argument: "
            f"{', '.join(map(repr, unknown))}.{hints} "
            f"Routed parameters must start with one of {[p + '__' for p in ROUTING_PREFIXES]}; "
            "other extra names are the arguments of a model= builder."
        )


def routed(params, destination, *, strict=False):
    """``{name: value}`` of the parameters routed to ``destination`` (prefix stripped);
    ``strict`` leaves out names routed further on (``optimizer__a__b``)."""
    prefix = destination + "__"
    found = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
    return {k: v for k, v in found.items() if "__" not in k} if strict else found


def unrouted(names):
    """The extra names that carry no routing prefix (a builder's bare arguments)."""
    return [name for name in names if not is_routed(name)]
