"""How many epochs a refit of the best configuration on all the training images trains.

A rung search chose its best at some epochs on a fold's share of the images; the refit
trains the best on all of them for those epochs (``"searched"``), for those scaled by the
whole set's size over a fold's (``"scaled"``), or for a given number. (A time-limited run
does not refit: ``time_limit`` trains its best on from its checkpoint.)
"""


def epochs_for_refit(rule, searched, train_fraction):
    """Epochs of a refit on all the training images, by the rule ``refit_epochs``.

    >>> [epochs_for_refit(rule, 9, 2 / 3) for rule in ("searched", "scaled", 20)]
    [9, 14, 20]
    """
    if rule == "searched":
        return int(searched)
    if rule == "scaled":
        return max(1, int(searched / train_fraction + 0.5))
    return int(rule)


def refit_rule(text):
    """``refit_epochs`` from the command line: "searched", "scaled" or a number >= 1."""
    if text in ("searched", "scaled"):
        return text
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"refit epochs must be searched, scaled or a number >= 1, got {text!r}")
    return int(text)
