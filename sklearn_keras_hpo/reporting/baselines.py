"""Classic scikit-learn classifiers on the same split as the CNN: what the CNN adds.

``LogisticRegression`` and ``SVC`` on the flattened pixels (scaled to [0, 1] as the CNN
sees them) take seconds on small images; their cost grows with the number of pixel values
(the SVC's with the square of the images), so above ``MAX_VALUES`` training pixel values
they are skipped, and the reason is said instead.
"""

import time

import numpy as np

MAX_VALUES = 5_000_000  # e.g. 6,000 images of 28x28: an SVC fit of some seconds on 2 cores


def baseline_scores(X_train, y_train, X_test, y_test):
    """``{name: (held-out accuracy, seconds)}`` of each baseline, or a string saying why
    none ran."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    reason = _skipped(X_train, y_train, y_test)
    if reason:
        return reason
    train, test = _flat(X_train), _flat(X_test)
    scores = {}
    for name, model in (("LogisticRegression", LogisticRegression(max_iter=1000)), ("SVC", SVC())):
        started = time.perf_counter()
        model.fit(train, y_train)
        scores[name] = (float(model.score(test, y_test)), time.perf_counter() - started)
    return scores


def _skipped(X_train, y_train, y_test):
    if y_test is None or len(y_test) == 0:
        return "no held-out split to compare on"
    if np.ndim(y_train) != 1:
        return "multi-label targets"
    if np.ndim(X_train) < 2 or np.asarray(X_train[:1]).dtype.kind in "USO":
        return "images read from files (decoding them all would cost more than the baselines)"
    values = len(y_train) * int(np.prod(np.shape(X_train)[1:]))
    if values > MAX_VALUES:
        return (
            f"{values:,} training pixel values, above {MAX_VALUES:,}: the baselines would cost "
            "more than a few percent of the run"
        )
    return None


def _flat(X):
    X = np.asarray(X)
    scale = 1 / 255 if X.dtype == np.uint8 else 1.0
    return X.reshape(len(X), -1).astype(np.float32) * scale


def baselines_html(scores, cnn_accuracy):
    """The report's section: a table of the baselines beside the CNN, or the reason."""
    import html

    if isinstance(scores, str):
        return f"<p class='note'>Baselines skipped: {html.escape(scores)}.</p>"
    rows = ["<tr><th>model</th><th>held-out accuracy</th><th>fit (s)</th></tr>"]
    rows += [
        f"<tr><td>{n}</td><td>{a:.4f}</td><td>{s:.1f}</td></tr>" for n, (a, s) in scores.items()
    ]
    rows.append(
        f"<tr><td><b>the tuned CNN</b></td><td><b>{cnn_accuracy:.4f}</b></td><td></td></tr>"
    )
    return (
        "<p>Classic classifiers on the flattened pixels of the same training and held-out "
        f"images.</p>\n<table>{''.join(rows)}</table>"
    )
