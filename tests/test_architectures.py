"""One conformance test over every registered architecture."""

import numpy as np
import pytest

from sklearn_keras_hpo.model.architectures import ARCHITECTURES, build_model


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
@pytest.mark.parametrize("input_shape", [(8, 8, 1), (6, 6, 3), (1, 5, 1), (1, 1, 1)])
def test_every_architecture_builds_for_every_image_size(name, input_shape):
    hp = dict(filters=4, dense_units=8, n_blocks=2, activation="swish", dropout=0.1,
              batch_norm=True, l1=1e-4, l2=1e-4, output_activation="softmax")  # fmt: skip
    model = build_model(name, input_shape, 3, **hp)
    out = np.asarray(model(np.zeros((2, *input_shape), np.float32), training=False))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert model.losses, "l1/l2 should add regularisation losses"


def test_builder_must_return_a_keras_model():
    with pytest.raises(TypeError, match="expected a keras.Model"):
        build_model(lambda input_shape, n_outputs: "not a model", (8, 8, 1), 2)
