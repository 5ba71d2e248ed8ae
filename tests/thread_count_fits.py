"""The fits of the thread-count tests, run in this process, a loky worker and a Dask worker.

``python -m tests.thread_count_fits OUT.json SIZE [PLACES...]`` fits every built-in architecture of
the registry on the first ``StratifiedKFold(3)`` training fold of digits (SIZE "quick":
filters 32 with rotation, 2 epochs; "full": filters 16 and 64, rotation off and on, 3
epochs) in each of PLACES (``parent``, ``loky``, ``dask``; all at once, so the parent and
the workers compute side by side) and writes ``{place: {configuration: predict_proba}}``.
The environment (``SKHPO_DETERMINISTIC``, ``TF_NUM_INTRAOP_THREADS``) is the caller's.
"""

import json
import sys

from sklearn_keras_hpo.model.architectures import ARCHITECTURES
from sklearn_keras_hpo.model.backbones import BACKBONES

BUILT_IN = sorted(
    set(ARCHITECTURES) - set(BACKBONES)
)  # the backbones' cost is not this test's subject

SIZES = {
    "quick": {"filters": [32], "rotation": [15.0], "epochs": 2},
    "full": {"filters": [16, 64], "rotation": [0.0, 15.0], "epochs": 3},
}


def configurations(size):
    grid = SIZES[size]
    return [
        {"architecture": name, "filters": filters, "rotation": rotation, "epochs": grid["epochs"]}
        for name in BUILT_IN
        for filters in grid["filters"]
        for rotation in grid["rotation"]
    ]


def fit_all(size):
    """``{configuration: predict_proba on the held-out fold}`` for every configuration."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold

    from sklearn_keras_hpo import CNNClassifier

    X, y = load_digits(return_X_y=True)
    train, test = next(StratifiedKFold(3).split(X, y))
    out = {}
    for config in configurations(size):
        clf = CNNClassifier(
            image_shape=(8, 8), dense_units=32, dropout=0.2, random_state=0, **config
        )
        out[json.dumps(config, sort_keys=True)] = (
            clf.fit(X[train] / 16, y[train]).predict_proba(X[test] / 16).tolist()
        )
    return out


def main(out, size, places):
    import concurrent.futures

    import joblib

    pending, cluster, client = {}, None, None
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        if "loky" in places:  # as a search's n_jobs=2 runs it: OMP_NUM_THREADS = cores // 2
            pending["loky"] = thread.submit(
                lambda: joblib.Parallel(n_jobs=2)([joblib.delayed(fit_all)(size)])[0]
            )
        if "dask" in places:  # as the guide's cluster runs it: a nanny-started worker, one thread
            from dask import distributed

            cluster = distributed.LocalCluster(
                n_workers=1,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
                processes=True,
            )
            client = distributed.Client(cluster)
            pending["dask"] = client.submit(fit_all, size, pure=False)
        results = {"parent": fit_all(size)} if "parent" in places else {}
        results.update({place: future.result() for place, future in pending.items()})
    if client is not None:
        client.close()
        cluster.close()
    with open(out, "w") as file:
        json.dump(results, file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
