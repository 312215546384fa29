"""Every registered zoo builder: forward shapes on small inputs, headless variants, 1-channel input, save/load."""

import keras
import numpy as np
import pytest

from dlkit.errors import ConfigError
from dlkit.models import build, names

ZOO = [
    "alexnet", "alexnet_tiny", "googlenet", "googlenet_tiny", "mobilenet", "mobilenet_tiny", "mobilenet_v2",
    "mobilenet_v2_tiny", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet_tiny",
    "vgg11", "vgg13", "vgg16", "vgg19", "vgg_tiny",
]
# One small member per family, and the channels its last feature map has at that width.
FAMILIES = {
    "alexnet_tiny": 32,  # 256 / 8
    "vgg_tiny": 32,  # 512 / 16
    "resnet_tiny": 128,  # 512 / 4 (basic blocks)
    "googlenet_tiny": 256,  # 1024 / 4
    "mobilenet_tiny": 256,  # 1024 × 0.25
    "mobilenet_v2_tiny": 1280,  # the last 1×1 convolution is not thinned below alpha 1
}


def _images(count, shape, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, (count, *shape)).astype("float32")


def test_every_zoo_builder_is_registered():
    assert set(ZOO) <= set(names())


@pytest.mark.parametrize("name", ZOO)
def test_forward_shape_on_small_inputs(name):
    # Narrow widths keep the paper-size builders CPU-cheap; the layout is theirs. The CPU-size
    # variants take 1-channel (grayscale) images, the others RGB.
    channels = 1 if name.endswith("_tiny") else 3
    model = build(name, input_shape=(32, 32, channels), num_classes=5, width_multiplier=0.125)
    first_convolution = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert first_convolution.kernel.shape[2] == channels
    probabilities = keras.ops.convert_to_numpy(model(_images(2, (32, 32, channels)), training=False))
    assert probabilities.shape == (2, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name, channels", sorted(FAMILIES.items()))
def test_headless_variants_and_pooling(name, channels):
    features = build(name, include_top=False, input_shape=(32, 32, 3))
    maps = keras.ops.convert_to_numpy(features(_images(2, (32, 32, 3)), training=False))
    assert maps.ndim == 4 and maps.shape[0] == 2 and maps.shape[-1] == channels
    # Alternate the pooling across families: each of avg and max is checked three times.
    pooling, reduce = (("avg", np.mean), ("max", np.max))[sorted(FAMILIES).index(name) % 2]
    pooled_model = build(name, include_top=False, pooling=pooling, input_shape=(32, 32, 3))
    pooled_model.set_weights(features.get_weights())
    pooled = keras.ops.convert_to_numpy(pooled_model(_images(2, (32, 32, 3)), training=False))
    np.testing.assert_allclose(pooled, reduce(maps, axis=(1, 2)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name, overrides",
    [
        ("alexnet_tiny", {"normalization": "lrn"}),  # the custom LocalResponseNormalization layer
        ("vgg_tiny", {}),
        ("resnet_tiny", {}),
        ("googlenet_tiny", {"aux_heads": True}),  # three named outputs
        ("mobilenet_tiny", {}),
        ("mobilenet_v2_tiny", {}),
    ],
)
def test_save_and_load_round_trip(tmp_path, name, overrides):
    model = build(name, input_shape=(32, 32, 3), num_classes=4, **overrides)
    images = _images(3, (32, 32, 3), seed=1)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    expected = keras.tree.map_structure(keras.ops.convert_to_numpy, model(images, training=False))
    got = keras.tree.map_structure(keras.ops.convert_to_numpy, loaded(images, training=False))
    keras.tree.map_structure(np.testing.assert_array_equal, got, expected)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize(
    "name, overrides, fragment",
    [
        ("vgg16", {"input_shape": (16, 16, 3)}, "must be >= 32"),
        ("resnet50", {"num_classes": 0}, "num_classes must be >= 1"),
        ("mobilenet_v2", {"pooling": "mean"}, "pooling must be"),
        ("alexnet", {"normalization": "group"}, "normalization must be"),
        ("googlenet", {"aux_heads": True, "include_top": False}, "aux_heads=True needs include_top=True"),
        ("resnet18", {"width_multiplier": 0}, "width_multiplier must be"),
        ("mobilenet", {"alpha": 0.5, "width_multiplier": 0.75}, "same setting"),
    ],
)
def test_bad_arguments_raise_config_error(name, overrides, fragment):
    with pytest.raises(ConfigError, match=fragment) as error:
        build(name, **overrides)
    assert "Received" in str(error.value)


@pytest.mark.parametrize(
    "name, overrides",
    [("mobilenet_tiny", {}), ("googlenet_tiny", {"aux_heads": True}), ("alexnet_tiny", {"normalization": "lrn"})],
)
def test_outputs_stay_float32_under_mixed_precision(name, overrides):
    keras.config.set_dtype_policy("mixed_float16")  # conftest restores float32 after the test
    model = build(name, **overrides)
    assert [tensor.dtype for tensor in model.outputs] == ["float32"] * len(model.outputs)
    assert model.get_layer("predictions").dtype_policy.compute_dtype == "float32"
