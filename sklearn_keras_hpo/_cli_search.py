"""The searcher of ``skhpo tune``: the estimator and the search its arguments describe,
and the search run within its share of the time limit."""

import json
import sys

import numpy as np

from .search._stopping import Grace, StopSearch, stop_on_signals, stop_worker_processes
from .search.records import partial_results


def _base_estimator(args, fits):
    from .estimators import CNNClassifier

    params = {"random_state": args.random_state, "validation_fraction": 0.1, "checkpoint_dir": str(fits),
              **getattr(args, "stream_params", {})}  # fmt: skip
    for item in args.set:
        name, equals, value = item.partition("=")
        if not equals:
            raise ValueError(f"--set {item!r}: write PARAM=VALUE, e.g. --set epochs=5.")
        params[name.strip()] = _parse_value(value)
    estimator = CNNClassifier()
    unknown = set(params) - set(estimator.get_params())
    if unknown:
        raise ValueError(f"--set names unknown parameter(s) {sorted(unknown)} of CNNClassifier.")
    return estimator.set_params(**params)


def fixed_names(args):
    """The parameters that --set fixes."""
    return {item.partition("=")[0].strip() for item in args.set}


def _parse_value(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _make_search(args, estimator, scorer, image_shape, n_train):
    """The searcher, the names of the parameters it searches and the longest training it
    considers (``_longest_epochs``). It does not refit: the
    tune command refits the best itself, within the time limit."""
    from .search.hyperband import HyperbandSearchCV
    from .search.spaces import PRESETS, auto_space, read_space_file, search_space

    if args.space == "auto":
        specs = auto_space(image_shape, n_train)
    else:
        specs = dict(PRESETS[args.space]) if args.space in PRESETS else read_space_file(args.space)
    longest = _longest_epochs(specs, args, estimator)
    if args.searcher in ("halving", "hyperband", "asha"):
        specs.pop("epochs", None)  # the resource, set per rung
    for name in fixed_names(args):  # a parameter fixed with --set is not searched (--set architecture=... with weights=)
        specs.pop(name, None)
    kind = {"grid": "grid", "bayes": "bayes"}.get(args.searcher, "random")
    unknown = set(specs) - set(estimator.get_params())
    if unknown:
        raise ValueError(f"The search space names unknown parameter(s) {sorted(unknown)} of CNNClassifier.")
    space = search_space(specs, kind)
    common = {"scoring": scorer, "cv": args.cv, "n_jobs": args.n_jobs, "error_score": np.nan, "refit": False}
    seeded = {**common, "random_state": args.random_state}
    if args.sampler != "random":
        if args.searcher not in ("hyperband", "asha"):
            raise ValueError(f"--sampler {args.sampler} works with --searcher hyperband or asha "
                             f"(got --searcher {args.searcher}).")  # fmt: skip
        seeded["sampler"] = args.sampler
    if args.searcher == "grid":
        from sklearn.model_selection import ParameterGrid

        n_fits = len(ParameterGrid(space)) * args.cv
        if n_fits > 1000:
            print(f"skhpo: the {args.space} grid means {n_fits} fits; --searcher random or hyperband "
                  "samples it instead.", file=sys.stderr)  # fmt: skip
        search = _grid_search_from_the_start()(estimator, space, **common)
    elif args.searcher == "random":
        search = _random_search_from_the_start()(estimator, space, n_iter=args.n_iter, **seeded)
    elif args.searcher == "bayes":
        search = _bayes_search_from_the_start()(estimator, space, n_iter=args.n_iter, **seeded)
    elif args.searcher == "halving":
        search = _halving_search_from_the_start()(estimator, space, resource="epochs", min_resources=1,
                                                  max_resources=args.max_epochs, factor=3, **seeded)  # fmt: skip
    elif args.searcher == "asha":
        from .search.asha import AsyncHalvingSearchCV

        search = AsyncHalvingSearchCV(estimator, space, n_candidates=args.n_iter, max_epochs=args.max_epochs,
                                      factor=3, **seeded)  # fmt: skip
    else:
        search = HyperbandSearchCV(estimator, space, max_epochs=args.max_epochs, factor=3, **seeded)
    return search, list(specs), longest


# The CLI's searchers start from the estimator's own configuration, as our rung searches
# do: a search cut short by a time limit still has the default to fall back on. Each is
# made in a function (sklearn and skopt are imported only when a search is made) and keeps
# its library's class name, which the report and the tracking logs show.
def _own_configuration(estimator, names):
    own = estimator.get_params()
    return {name: own[name] for name in names}


def _random_search_from_the_start():
    """``RandomizedSearchCV`` whose first of ``n_iter`` candidates is the estimator's own
    configuration. The candidates are dispatched at once, so the progress bar's total is
    known from the start."""
    from sklearn import model_selection
    from sklearn.model_selection import ParameterSampler

    class RandomizedSearchCV(model_selection.RandomizedSearchCV):
        def _run_search(self, evaluate_candidates):
            start = _own_configuration(self.estimator, self.param_distributions)
            drawn = ParameterSampler(self.param_distributions, self.n_iter - 1, random_state=self.random_state)
            evaluate_candidates([start, *drawn])

    return RandomizedSearchCV


def _halving_search_from_the_start():
    """``HalvingRandomSearchCV`` whose first candidate is the estimator's own configuration,
    in place of the last of its random draws (so as many candidates as scikit-learn's)."""
    from sklearn import model_selection
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401

    class HalvingRandomSearchCV(model_selection.HalvingRandomSearchCV):
        def _generate_candidate_params(self):
            drawn = list(super()._generate_candidate_params())
            return [_own_configuration(self.estimator, self.param_distributions), *drawn[:-1]]

    return HalvingRandomSearchCV


def _grid_search_from_the_start():
    """``GridSearchCV`` that fits the estimator's own configuration first when the grid
    holds it (the rest in scikit-learn's order); the same grid, only its order changes."""
    from sklearn import model_selection
    from sklearn.model_selection import ParameterGrid

    class GridSearchCV(model_selection.GridSearchCV):
        def _run_search(self, evaluate_candidates):
            grid = list(ParameterGrid(self.param_grid))
            own = [c for c in grid if c == _own_configuration(self.estimator, c)]
            evaluate_candidates(own[:1] + [c for c in grid if c not in own[:1]])

    return GridSearchCV


def _bayes_search_from_the_start():
    """scikit-optimize's ``BayesSearchCV`` whose first point is the estimator's own
    configuration when the space holds it (every value inside its dimension), told to the
    optimizer like any point it asked for."""
    import skopt
    from skopt.utils import dimensions_aslist, point_aslist

    class BayesSearchCV(skopt.BayesSearchCV):
        def _step(self, search_space, optimizer, score_name, evaluate_candidates, n_points=1):
            start = point_aslist(search_space, _own_configuration(self.estimator, search_space))
            inside = all(value in dimension for value, dimension in zip(start, dimensions_aslist(search_space)))
            if optimizer.Xi or not inside:
                return super()._step(search_space, optimizer, score_name, evaluate_candidates, n_points)
            ask = optimizer.ask

            def ask_from_the_start(n_points=1, **kwargs):
                return [start, *(ask(n_points=n_points - 1, **kwargs) if n_points > 1 else [])]

            optimizer.ask = ask_from_the_start
            try:
                return super()._step(search_space, optimizer, score_name, evaluate_candidates, n_points)
            finally:
                del optimizer.ask  # its own method again

    return BayesSearchCV


def _longest_epochs(specs, args, estimator):
    """The longest training the search considers for one model: the space's largest epochs
    (the estimator's own when it names none), or the last rung's when that is longer."""
    spec = specs.get("epochs")
    longest = estimator.get_params()["epochs"] if spec is None else max(spec[1]) if spec[0] == "cat" else spec[2]
    rungs = args.max_epochs if args.searcher in ("halving", "hyperband", "asha") else 0
    return int(max(longest, rungs))


def _run_search(search, X, y, args, budget, records):
    """Fit the search in its share of the time limit (longer, into the refit's reserve,
    while no configuration has finished); the reason it stopped early, or None when it
    finished."""
    from .search.progress import progress_bar
    from .search.recovery import failures_as_scores, lost_workers_retried

    bar = progress_bar(desc=f"{args.searcher} search", disable=args.no_progress)
    limit = budget.search_seconds()
    reason = f"time limit of {args.time_limit:g} s, {limit:.0f} s of it for the search" if limit else None
    grace = Grace(budget.grace_seconds(), lambda: bool(partial_results(records, args.cv)["params"]))
    try:
        with stop_on_signals(limit, reason, grace), bar, failures_as_scores(), lost_workers_retried():
            search.fit(X, y)  # a dead worker's fits run again
    except StopSearch as stop:
        stop_worker_processes()
        return stop.reason
    except KeyboardInterrupt:  # raised in a worker process, before our handler was in place
        stop_worker_processes()
        return "interrupted"
    return None
