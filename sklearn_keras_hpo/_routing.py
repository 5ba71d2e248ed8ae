"""scikeras-style parameter routing: ``model__units=64`` goes to the model builder,
``optimizer__beta_1=0.8`` to the optimizer, ``fit__``/``compile__``/``callbacks__``
likewise. Routed parameters are ordinary estimator parameters, so they survive
``clone`` and can be searched like any other."""

ROUTING_PREFIXES = ("model", "optimizer", "compile", "fit", "callbacks")


def is_routed(name):
    prefix, sep, rest = name.partition("__")
    return bool(sep) and bool(rest) and prefix in ROUTING_PREFIXES


def check_routed_names(estimator_name, names, known=()):
    """Unknown keyword arguments are an error, as for any Python call; a close
    parameter name is suggested."""
    import difflib

    unknown = sorted(name for name in names if not is_routed(name))
    if unknown:
        close = {n: difflib.get_close_matches(n, known, n=1) for n in unknown}
        hints = "".join(f" Did you mean {m[0]!r} for {n!r}?" for n, m in close.items() if m)
        raise TypeError(
            f"{estimator_name} got unexpected parameter(s) {unknown}.{hints} Routed parameters "
            f"must start with one of {[p + '__' for p in ROUTING_PREFIXES]}."
        )


def routed(params, destination):
    """``{name: value}`` of the parameters routed to ``destination`` (prefix stripped)."""
    prefix = destination + "__"
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
