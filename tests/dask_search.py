"""``python -m tests.dask_search OUT.json [KIND [SCHEDULER]]``: one search run locally and
on a real Dask cluster: a LocalCluster(n_workers=2) on loopback started here, or the
cluster whose scheduler listens at SCHEDULER (started from the ``dask`` command line);
writes both runs' scores. ``SKHPO_FILTERS`` sets the estimator's filters."""

import contextlib
import json
import os
import sys

import joblib
import numpy as np
from sklearn.base import clone

from . import resumable_searches

if __name__ == "__main__":
    from dask import distributed

    search = resumable_searches.make_search(sys.argv[2] if len(sys.argv) > 2 else "grid")
    search.estimator.set_params(filters=int(os.environ.get("SKHPO_FILTERS", 4)))
    local = resumable_searches.scores(clone(search).fit(*resumable_searches.data()))
    if len(sys.argv) > 3:
        cluster = contextlib.nullcontext(sys.argv[3])
    else:
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
        )
    with cluster as address, distributed.Client(address) as client:
        with joblib.parallel_config(backend="dask"):
            on_dask = resumable_searches.scores(clone(search).fit(*resumable_searches.data()))
        worker_pids = list(client.run(os.getpid).values())
        transitions = sum(
            client.run(lambda dask_worker: dask_worker.state.transition_counter).values()
        )
    with open(sys.argv[1], "w") as file:
        json.dump(
            {
                "local": local,
                "dask": on_dask,
                "workers": worker_pids,
                "parent": os.getpid(),
                "transitions": transitions,
            },
            file,
        )
    print(np.abs(np.array(local["folds"]) - np.array(on_dask["folds"])).max())
