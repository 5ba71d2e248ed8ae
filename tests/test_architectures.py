"""One conformance test over every registered architecture (the keras.applications backbones
have theirs in test_transfer.py)."""

import numpy as np
import pytest

from sklearn_keras_hpo.model.architectures import ARCHITECTURES, build_model
from sklearn_keras_hpo.model.backbones import BACKBONES

BUILT_IN = sorted(set(ARCHITECTURES) - set(BACKBONES))


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("input_shape", [(8, 8, 1), (6, 6, 3), (1, 5, 1), (1, 1, 1)])
def test_every_architecture_builds_for_every_image_size(name, input_shape):
    hp = dict(
        filters=4,
        dense_units=8,
        n_blocks=2,
        activation="swish",
        dropout=0.1,
        batch_norm=True,
        l1=1e-4,
        l2=1e-4,
        output_activation="softmax",
    )
    model = build_model(name, input_shape, 3, **hp)
    out = np.asarray(model(np.zeros((2, *input_shape), np.float32), training=False))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert model.losses, "l1/l2 should add regularisation losses"


def test_builder_must_return_a_keras_model():
    with pytest.raises(TypeError, match="expected a keras.Model"):
        build_model(lambda input_shape, n_outputs: "not a model", (8, 8, 1), 2)


@pytest.mark.parametrize("residual", [False, True])
def test_convnet_weights_do_not_grow_with_the_image(residual):
    """The same parameter count at 32, 64, 96 and 160 px (the stem's strided conv aside,
    which 32 px skips): global average pooling, not a flatten of the map."""
    counts = {
        size: build_model(
            "convnet", (size, size, 3), 10, filters=8, residual=residual
        ).count_params()
        for size in (32, 64, 96, 160)
    }
    # the stem's conv kernel and batch norm (4 vectors of 8), and the first stage then reading
    # 8 channels instead of the image's 3
    # 8 channels instead of the image's 3 (so no 1x1 projection of its residual shortcut)
    stem = 3 * 3 * 3 * 8 + 4 * 8 + 3 * 3 * (8 - 3) * 8 - (3 * 8 if residual else 0)
    assert counts[64] == counts[96] == counts[160] == counts[32] + stem, counts
    tutorial = {
        size: build_model("cnn", (size, size, 3), 10, filters=8).count_params() for size in (32, 96)
    }
    assert tutorial[96] > 8 * tutorial[32]  # the tutorials' flatten grows with the area


@pytest.mark.parametrize(
    "shape, schedule, flip",
    [
        ((28, 28, 1), "constant", None),
        ((32, 32, 1), "cosine", None),
        ((32, 32, 3), "cosine", "horizontal"),
    ],
)
def test_auto_schedule_and_flip_follow_the_net_and_colour(shape, schedule, flip):
    """The convnet anneals (cosine) and flips colour images; the tutorials' nets keep a
    constant rate and no flips, so the seeds' studies reproduce; explicit values are kept."""
    from sklearn_keras_hpo import CNNClassifier

    X = np.random.default_rng(0).integers(0, 255, (16, *shape), dtype=np.uint8)
    clf = CNNClassifier(filters=4, dense_units=8, epochs=3, random_state=0).fit(
        X, np.arange(16) % 2
    )
    rates = clf.history_["learning_rate"]
    assert (rates[0] > rates[1] > rates[2]) if schedule == "cosine" else rates == [rates[0]] * 3
    assert clf._augmentation_settings()["flip"] == flip
    chosen = CNNClassifier(
        filters=4, dense_units=8, epochs=3, random_state=0, lr_schedule="constant", flip=None
    )
    chosen.fit(X, np.arange(16) % 2)
    assert (
        len(set(chosen.history_["learning_rate"])) == 1
        and chosen._augmentation_settings()["flip"] is None
    )


def test_convnet_stem_brings_large_images_to_32_px_or_less():
    from sklearn_keras_hpo.model.architectures import stem_halvings

    assert [stem_halvings((s, s, 3)) for s in (8, 28, 32, 48, 64, 96, 160, 224)] == [
        0,
        0,
        0,
        1,
        1,
        2,
        3,
        3,
    ]
    model = build_model("convnet", (96, 96, 3), 10, filters=8)
    pooled = next(layer for layer in model.layers if "global_average" in layer.name)
    assert pooled.input.shape[1:3] == (3, 3)  # 96 -> 24 by the stem, then three 2x2 pools


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((8, 8, 1), "cnn"),
        ((28, 28, 1), "cnn"),
        ((32, 32, 3), "convnet"),
        ((96, 96, 3), "convnet"),
        ((31, 200, 3), "cnn"),
    ],
)
def test_auto_is_the_convnet_from_32_px(shape, expected):
    from sklearn_keras_hpo import CNNClassifier

    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (8, *shape), dtype=np.uint8)
    clf = CNNClassifier(filters=4, dense_units=8, epochs=1, random_state=0).fit(X, np.arange(8) % 2)
    assert clf.architecture_ == expected
    explicit = CNNClassifier(
        architecture="cnn", filters=4, dense_units=8, epochs=1, random_state=0
    ).fit(X, np.arange(8) % 2)
    assert explicit.architecture_ == "cnn"
