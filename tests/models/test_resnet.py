"""The public residual blocks."""

import keras
import numpy as np
import pytest

from dlkit.errors import ConfigError
from dlkit.models import conv_block, identity_block


def test_identity_block_adds_its_input():
    inputs = keras.Input((8, 8, 16))
    model = keras.Model(inputs, identity_block(inputs, 4, name="block"))
    assert model.output.shape == (None, 8, 8, 16)
    # With the last batch norm scaled to zero the residual branch vanishes: the block is relu(x).
    gamma = model.get_layer("block_3_bn").gamma
    gamma.assign(np.zeros(gamma.shape, "float32"))
    values = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
    outputs = keras.ops.convert_to_numpy(model(values, training=False))
    np.testing.assert_allclose(outputs, np.maximum(values, 0.0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("block, channels", [("bottleneck", 64), ("basic", 16)])
def test_conv_block_projects_the_shortcut(block, channels):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, conv_block(inputs, 16, strides=2, block=block, name="down"))
    assert model.output.shape == (None, 4, 4, channels)
    assert model.get_layer("down_0_conv").kernel.shape == (1, 1, 3, channels)


def test_identity_block_refuses_mismatched_channels():
    with pytest.raises(ConfigError, match="use conv_block"):
        identity_block(keras.Input((8, 8, 3)), 16, block="basic")
