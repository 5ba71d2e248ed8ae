"""What the searches over epochs try next: random draws, or a model of the results so far.

A sampler is asked for candidates (``ask(n)``) and told each (candidate, epochs) result
(``tell``); the schedules (``hyperband.HyperbandSchedule``, ``asha.AsyncHalvingSchedule``)
never know which kind they hold, as Optuna's studies never know their sampler.

- ``RandomSampler``: scikit-learn's ``ParameterSampler`` from the search's random state, the
  draws the searches have always made (results unchanged for a seed).
- ``OptunaSampler``: any Optuna sampler (``"tpe"`` is Optuna's ``TPESampler``), through its
  ask/tell interface. Each ask fits the sampler on the results of one budget, BOHB's rule
  (Falkner et al. 2018): the largest number of epochs with at least ``d + 1`` finished
  results, ``d`` the number of searched parameters (else the epochs with the most results).
  A list of one value is a constant, not a searched parameter: it neither counts in ``d``
  nor delays the model by a start-up draw.

Both begin with the starting points (``points_to_evaluate``), which are told like any other
result, so a model-guided sampler learns from the default configuration too.
"""

import sys
import warnings

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler

SAMPLERS = ("random", "tpe")


class RandomSampler:
    """Candidates drawn by a seeded ``ParameterSampler``, after the starting points.

    With ``stream`` (ASHA), one sampler draws every candidate lazily, ``n_candidates`` of
    them after the points (None: the whole grid when every value is a list, else no end); without
    (Hyperband), each ``ask(n)`` draws ``n`` afresh from the same random state.

    >>> sampler = RandomSampler({"a": [1, 2, 3]}, np.random.RandomState(0), points=[{"a": 9}])
    >>> sampler.ask(2)
    [{'a': 9}, {'a': 3}]
    """

    def __init__(
        self, param_distributions, random_state, points=(), n_candidates=None, stream=False
    ):
        self.param_distributions, self.random_state = param_distributions, random_state
        self.points = [dict(point) for point in points]
        self._stream = (
            candidate_stream(param_distributions, n_candidates, random_state) if stream else None
        )

    def ask(self, n):
        """``n`` candidates (fewer when the stream ends)."""
        points, self.points = self.points[:n], self.points[n:]
        n -= len(points)
        if self._stream is not None:
            return points + [params for _, params in zip(range(n), self._stream, strict=False)]
        return points + (
            list(ParameterSampler(self.param_distributions, n, random_state=self.random_state))
            if n
            else []
        )

    def tell(self, params, epochs, score):
        """Random draws learn nothing."""


def candidate_stream(param_distributions, n_candidates, random_state):
    """Candidates drawn by a seeded ``ParameterSampler``: ``n_candidates`` of them, or with
    None, the whole grid when every value is a list and no end otherwise."""
    if n_candidates is None:
        grids = (
            param_distributions if isinstance(param_distributions, list) else [param_distributions]
        )
        finite = not any(hasattr(value, "rvs") for grid in grids for value in grid.values())
        n_candidates = len(ParameterGrid(param_distributions)) if finite else sys.maxsize
    return iter(ParameterSampler(param_distributions, n_candidates, random_state=random_state))


class OptunaSampler:
    """Candidates from an Optuna sampler fit on the results of one budget (BOHB's rule).

    Lists become categorical choices (by position, so any value works), scipy's
    ``uniform``, ``loguniform`` and ``randint`` become Optuna's float, log-float and int
    distributions.
    """

    def __init__(self, sampler, param_distributions, random_state, points=(), n_candidates=None):
        optuna = import_optuna()
        if isinstance(param_distributions, list):
            if len(param_distributions) != 1:
                raise ValueError(
                    "A model-guided sampler searches one space: give param_distributions as one "
                    f"dict (got a list of {len(param_distributions)}), or use sampler='random'."
                )
            param_distributions = param_distributions[0]
        self.names = list(param_distributions)
        self.fixed = {
            name: _Choice(spec) for name, spec in param_distributions.items() if _one_value(spec)
        }
        self.space = {
            name: _distribution(optuna, name, spec)
            for name, spec in param_distributions.items()
            if name not in self.fixed
        }
        if sampler == "tpe":
            seed = int(random_state.randint(np.iinfo(np.int32).max))
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=len(self.space) + 1)
        self.sampler, self.points = sampler, [dict(point) for point in points]
        self.left = n_candidates
        self.results = {}  # epochs -> [(internal params or None, score)]

    def ask(self, n):
        """``n`` candidates: starting points first, then the sampler's."""
        points, self.points = self.points[:n], self.points[n:]
        n_drawn = n - len(points) if self.left is None else min(n - len(points), self.left)
        if self.left is not None:
            self.left -= n_drawn
        return points + [self._ask_one() for _ in range(n_drawn)]

    def tell(self, params, epochs, score):
        """Record one (candidate, epochs) result; failed fits (NaN) are not told."""
        if np.isfinite(score):
            self.results.setdefault(epochs, []).append((self._internal(params), float(score)))

    def _ask_one(self):
        optuna = import_optuna()
        study = optuna.create_study(direction="maximize", sampler=self.sampler)
        distributions = {name: dist for name, (dist, _) in self.space.items()}
        for internal, score in self._model_results():
            study.add_trial(
                optuna.trial.create_trial(params=internal, distributions=distributions, value=score)
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            trial = study.ask(distributions)
        drawn = {name: decode(trial.params[name]) for name, (_, decode) in self.space.items()}
        return {
            name: self.fixed[name](0) if name in self.fixed else drawn[name] for name in self.names
        }

    def _model_results(self):
        """The results of the largest budget with at least d + 1 of them, else of the fullest."""
        scored_by_epochs = {
            epochs: [r for r in results if r[0] is not None]
            for epochs, results in self.results.items()
        }
        if not any(scored_by_epochs.values()):
            return []
        enough = [
            epochs for epochs, results in scored_by_epochs.items() if len(results) > len(self.space)
        ]
        epochs = (
            max(enough)
            if enough
            else max(scored_by_epochs, key=lambda e: (len(scored_by_epochs[e]), e))
        )
        return scored_by_epochs[epochs]

    def _internal(self, params):
        """``params`` in the sampler's terms, or None when a value lies outside the space."""
        if any(
            constant.position(params.get(name)) is None for name, constant in self.fixed.items()
        ):
            return None
        internal = {}
        for name, (dist, decode) in self.space.items():
            value = params.get(name)
            if isinstance(decode, _Choice):
                internal[name] = decode.position(value)
            elif value is not None and dist._contains(dist.to_internal_repr(value)):
                internal[name] = value
            else:
                return None
            if internal[name] is None:
                return None
        return internal


def make_sampler(
    sampler, param_distributions, random_state, points=(), n_candidates=None, stream=False
):
    """The sampler object for a search's ``sampler`` parameter."""
    if sampler == "random":
        return RandomSampler(param_distributions, random_state, points, n_candidates, stream)
    if sampler == "tpe" or hasattr(sampler, "sample_relative"):
        return OptunaSampler(sampler, param_distributions, random_state, points, n_candidates)
    raise ValueError(
        f"sampler must be 'random', 'tpe' or an Optuna sampler instance; got {sampler!r}."
    )


def import_optuna():
    """Optuna, or an ImportError naming the extra that installs it."""
    try:
        import optuna
    except ImportError as error:
        raise ImportError(
            "sampler='tpe' (or an Optuna sampler) needs Optuna: "
            "pip install 'sklearn_keras_hpo[optuna]'"
        ) from error
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _distribution(optuna, name, spec):
    """``(optuna distribution, decode)`` for one searched parameter."""
    if isinstance(spec, (list, tuple, np.ndarray)):
        choices = list(spec)
        return optuna.distributions.CategoricalDistribution(list(range(len(choices)))), _Choice(
            choices
        )
    kind = getattr(getattr(spec, "dist", None), "name", None)
    if kind in ("uniform", "loguniform", "reciprocal"):
        low, high = (float(bound) for bound in spec.support())
        return optuna.distributions.FloatDistribution(low, high, log=kind != "uniform"), float
    if kind == "randint":
        low, high = (int(bound) for bound in spec.support())
        return optuna.distributions.IntDistribution(low, high), int
    raise ValueError(
        f"param_distributions[{name!r}]: a model-guided sampler takes lists and scipy's uniform, "
        f"loguniform and randint distributions; got {spec!r}. Use sampler='random' for others."
    )


def _one_value(spec):
    return isinstance(spec, (list, tuple, np.ndarray)) and len(spec) == 1


def searched_names(param_distributions):
    """The names a model-guided sampler searches (d in BOHB's d + 1): a one-value list is a
    constant, not a dimension.

    >>> searched_names({"a": [1], "b": [1, 2], "c": (0.5,)})
    ['b']
    """
    return [name for name, spec in param_distributions.items() if not _one_value(spec)]


class _Choice:
    """Decode a categorical position into its value (and back)."""

    def __init__(self, choices):
        self.choices = choices

    def __call__(self, position):
        return self.choices[position]

    def position(self, value):
        for position, choice in enumerate(self.choices):
            same_kind = isinstance(choice, bool) == isinstance(value, bool)
            if same_kind and _equal(choice, value):
                return position
        return None


def _equal(a, b):
    if np.shape(a) != np.shape(b):
        return False
    try:
        return bool(np.all(np.asarray(a, dtype=object) == np.asarray(b, dtype=object)))
    except (TypeError, ValueError):
        return False
