"""Where a warning of ours points: at the user's line, however deep the call.

A fixed ``stacklevel`` counts the frames between ``warnings.warn`` and the user's call, and
goes wrong whenever a wrapper (scikit-learn's callback support, a search's fit) adds one.
``user_stacklevel`` counts them instead.
"""

import sys

LIBRARY_PACKAGES = ("sklearn_keras_hpo", "sklearn", "joblib", "skopt")


def user_stacklevel():
    """``stacklevel`` that points a warning at the first frame outside this package,
    scikit-learn, joblib and scikit-optimize: the user's ``fit`` line."""
    frame, level = sys._getframe(1), 1  # 1: the function that calls warnings.warn
    while (
        frame is not None
        and frame.f_globals.get("__name__", "").partition(".")[0] in LIBRARY_PACKAGES
    ):
        frame, level = frame.f_back, level + 1
    return level
