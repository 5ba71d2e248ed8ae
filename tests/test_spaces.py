"""Presets: every configuration a searcher can draw from a preset trains with a schedule
that changes the learning rate (no "exponential" at lr_decay=0, no step longer than the fit)."""

import pytest
from sklearn.model_selection import ParameterGrid, ParameterSampler

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.estimators._planning import resolve_auto
from sklearn_keras_hpo.model.schedules import ESTIMATOR_PARAMS, inert_schedule_message
from sklearn_keras_hpo.search.spaces import PRESETS, search_space

RUNG_EPOCHS = (3, 9)  # the CLI's halving and Hyperband rungs above one epoch (--max-epochs 9)


def _configurations(name, kind):
    space = search_space(name, kind)
    if kind == "grid":
        return list(ParameterGrid(space))
    if kind == "random":
        return list(ParameterSampler(space, 60, random_state=0))
    return [
        {param: dim.rvs(n_samples=1, random_state=i)[0] for param, dim in space.items()}
        for i in range(60)
    ]


def _schedule(params, epochs):
    return dict(
        name=params["lr_schedule"],
        lr0=params["learning_rate"],
        epochs=epochs,
        **{short: params[long] for short, long in ESTIMATOR_PARAMS.items()},
    )


@pytest.mark.parametrize("kind", ["random", "bayes", "grid"])
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_configuration_has_a_schedule_that_acts(name, kind):
    defaults = CNNClassifier().get_params()
    schedules, checked = set(), {}
    for config in _configurations(name, kind):
        params = resolve_auto(
            {**defaults, **config}, (28, 28, 1)
        )  # the presets' MNIST-sized images
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


AUTO_CASES = {
    "digits": ((8, 8), 1_500),
    "mnist": ((28, 28, 1), 60_000),
    "cifar": ((32, 32, 3), 10_000),
    "photos96": ((96, 96, 3), 10_000),
    "few photos": ((160, 160, 3), 400),
}


@pytest.mark.parametrize("case", AUTO_CASES)
@pytest.mark.parametrize("kind", ["random", "bayes"])
def test_every_auto_configuration_can_learn(case, kind):
    """No sigmoid hidden layer, no plain SGD, batch-normalised nets only where the image
    allows the convnet, a schedule that acts at every rung, flips only for colour images."""
    import numpy as np

    from sklearn_keras_hpo.search.spaces import auto_space

    shape, n = AUTO_CASES[case]
    specs = auto_space(shape, n)
    space = search_space(specs, kind)
    draws = (
        list(ParameterSampler(space, 60, random_state=0))
        if kind == "random"
        else [
            {p: d.rvs(n_samples=1, random_state=i)[0] for p, d in space.items()} for i in range(60)
        ]
    )
    defaults = CNNClassifier().get_params()
    colour = len(shape) == 3 and shape[-1] == 3
    for config in draws:
        params = resolve_auto(
            {**defaults, **config}, shape
        )  # "auto" as a fit on these images settles it
        assert params["activation"] in ("relu", "swish") and params["optimizer"] == "adam"
        assert 3e-4 <= params["learning_rate"] <= 3e-3 and params["batch_norm"] is True
        assert params["architecture"] == "convnet" or (
            min(shape[:2]) < 32 and params["architecture"] == "cnn"
        )
        assert params["flip"] in ((None, "horizontal") if colour else (None,))
        assert params["batch_size"] <= max(64, n // 20)
        for epochs in {params["epochs"], *RUNG_EPOCHS}:
            assert inert_schedule_message(**_schedule(params, epochs)) is None, (config, epochs)
    assert len({c["lr_schedule"] for c in draws}) == 2 and len({c["residual"] for c in draws}) == 2
    assert np.isfinite([c["dropout"] for c in draws]).all()


def test_auto_space_needs_the_data_and_reads_its_shape():
    import numpy as np

    with pytest.raises(ValueError, match="pass X=the training images"):
        search_space("auto")
    rgb = search_space("auto", X=np.zeros((3000, 96, 96, 3), np.uint8))
    assert rgb["architecture"] == ["convnet"] and rgb["filters"] == [24, 32, 48] and "zoom" in rgb
    gray = search_space("auto", X=np.zeros((500, 8, 8), np.float32))
    assert (
        gray["architecture"] == ["cnn", "convnet"]
        and "flip" not in gray
        and gray["batch_size"] == [16, 32, 64]
    )
    paths = search_space("auto", X=np.array(["a.jpg"] * 50), image_shape=(64, 64, 3))
    assert paths["architecture"] == ["convnet"] and "flip" in paths
    with pytest.raises(ValueError, match="image_shape"):
        search_space("auto", X=np.array(["a.jpg"] * 50))
