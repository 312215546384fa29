"""The zoo's shared builder parts (dlkit.models.common): local response normalization and width scaling."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit.errors import ConfigError
from dlkit.models.common import (
    LocalResponseNormalization,
    check_width_multiplier,
    global_pool,
    scale_width,
)


@pytest.mark.parametrize("depth_radius, bias, alpha, beta", [(2, 2.0, 1e-4, 0.75), (1, 1.0, 0.5, 0.5), (0, 1.0, 1.0, 1.0)])
def test_local_response_normalization_equals_tensorflow(depth_radius, bias, alpha, beta):
    values = np.random.default_rng(0).normal(0, 3, (2, 5, 5, 7)).astype("float32")
    layer = LocalResponseNormalization(depth_radius, bias, alpha, beta)
    expected = tf.nn.local_response_normalization(values, depth_radius, bias, alpha, beta).numpy()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(values)), expected, rtol=1e-5, atol=1e-6)


def test_local_response_normalization_config_round_trip():
    layer = LocalResponseNormalization(3, 1.5, 2e-4, 0.5, name="norm")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(clone, LocalResponseNormalization)
    assert clone.get_config() == layer.get_config()


def test_width_scaling():
    assert [scale_width(channels, 1 / 16) for channels in (64, 128, 4096)] == [4, 8, 256]
    assert scale_width(3, 0.01) == 1
    with pytest.raises(ConfigError, match="Received: width_multiplier=-1"):
        check_width_multiplier(-1)


def test_local_response_normalization_is_finite_under_mixed_precision():
    layer = LocalResponseNormalization(dtype="mixed_float16")
    values = np.full((1, 2, 2, 5), 1000.0, "float32")  # 1000² overflows float16
    outputs = keras.ops.convert_to_numpy(layer(values))
    assert outputs.dtype == np.float16
    expected = tf.nn.local_response_normalization(values, 2, 2.0, 1e-4, 0.75).numpy()
    np.testing.assert_allclose(outputs.astype("float32"), expected, rtol=1e-2)


@pytest.mark.parametrize("pooling, shape, name", [(None, (3, 4, 5), None), ("avg", (5,), "avg_pool"),
                                                  ("max", (5,), "max_pool"), ("flatten", (60,), "flatten")])
def test_global_pool_names_its_layer_and_shapes_the_features(pooling, shape, name):
    inputs = keras.Input((3, 4, 5))
    model = keras.Model(inputs, global_pool(inputs, pooling))
    assert model.output_shape[1:] == shape
    assert [layer.name for layer in model.layers[1:]] == ([name] if name else [])
    maps = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype("float32")
    expected = {None: maps, "avg": maps.mean(axis=(1, 2)), "max": maps.max(axis=(1, 2)),
                "flatten": maps.reshape(2, -1)}[pooling]
    np.testing.assert_allclose(np.asarray(model(maps)), expected, rtol=1e-6, atol=1e-6)


def test_small_cnn_standardizes_each_image_and_pools_only_the_first_blocks():
    from dlkit.models import small_cnn

    model = small_cnn((32, 32, 3), include_top=False, filters=(4, 4, 4, 4), standardize=True, pooled_blocks=3)
    names = [layer.name for layer in model.layers[1:]]
    assert names[0] == "standardize" and "block4_pool" not in names and "block3_pool" in names
    assert model.output_shape == (None, 4, 4, 4)
    # A background colour added to every pixel of an image changes nothing after standardization.
    image = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 3)).astype("float32")
    shifted = image + np.array([0.3, -0.2, 0.5], "float32")
    np.testing.assert_allclose(np.asarray(model(shifted)), np.asarray(model(image)), rtol=1e-4, atol=1e-4)
