"""Presets: every configuration a searcher can draw from a preset trains with a schedule
that changes the learning rate (no "exponential" at lr_decay=0, no step longer than the fit)."""

import pytest
from sklearn.model_selection import ParameterGrid, ParameterSampler

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.model.schedules import ESTIMATOR_PARAMS, inert_schedule_message
from sklearn_keras_hpo.search.spaces import PRESETS, search_space

RUNG_EPOCHS = (3, 9)  # the CLI's halving and Hyperband rungs above one epoch (--max-epochs 9)


def _configurations(name, kind):
    space = search_space(name, kind)
    if kind == "grid":
        return list(ParameterGrid(space))
    if kind == "random":
        return list(ParameterSampler(space, 60, random_state=0))
    return [{param: dim.rvs(n_samples=1, random_state=i)[0] for param, dim in space.items()} for i in range(60)]


def _schedule(params, epochs):
    return dict(name=params["lr_schedule"], lr0=params["learning_rate"], epochs=epochs,
                **{short: params[long] for short, long in ESTIMATOR_PARAMS.items()})  # fmt: skip


@pytest.mark.parametrize("kind", ["random", "bayes", "grid"])
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_configuration_has_a_schedule_that_acts(name, kind):
    defaults = CNNClassifier().get_params()
    schedules, checked = set(), {}
    for config in _configurations(name, kind):
        params = {**defaults, **config}
        schedules.add(params["lr_schedule"])
        for epochs in {params["epochs"], *RUNG_EPOCHS}:
            schedule = _schedule(params, epochs)
            key = tuple(sorted(schedule.items()))
            if key not in checked:
                checked[key] = inert_schedule_message(**schedule)
    inert = [message for message in checked.values() if message]
    assert not inert, f"{len(inert)} of {len(checked)} schedules are inert, e.g. {inert[0]}"
    if "lr_schedule" in PRESETS[name]:  # the check saw every schedule the preset offers
        assert schedules == set(PRESETS[name]["lr_schedule"][1])
