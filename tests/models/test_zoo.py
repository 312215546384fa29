"""Every registered builder (``models.names()``): forward shapes and save/load on small inputs, headless variants."""

import inspect

import harness
import keras
import numpy as np
import pytest

from dlkit import models
from dlkit.errors import ConfigError

SIZE = 32
# One small member per family, and the channels its last feature map has at that width.
FAMILIES = {
    "alexnet_tiny": 32,  # 256 / 8
    "vgg_tiny": 32,  # 512 / 16
    "resnet_tiny": 128,  # 512 / 4 (basic blocks)
    "googlenet_tiny": 256,  # 1024 / 4
    "mobilenet_tiny": 256,  # 1024 × 0.25
    "mobilenet_v2_tiny": 1280,  # the last 1×1 convolution is not thinned below alpha 1
    "lenet5": 16,  # S4
    "small_cnn": 64,  # filters (32, 64)
}
# Per-name arguments of the save/load test: the custom layer and the several named outputs some variants have.
ROUND_TRIP_OVERRIDES = {
    "alexnet_tiny": {"normalization": "lrn"},  # the custom LocalResponseNormalization layer
    "googlenet_tiny": {"aux_heads": True},  # three named outputs
}


def _images(count, shape, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, (count, *shape)).astype("float32")


def _default_input_shape(name):
    return inspect.signature(models.get(name)).parameters["input_shape"].default


#: The CPU-size builders (the families' ``*_tiny`` variants and the small models): they also go through save/load,
#: each paper-size builder through its forward pass (their layers are their family's CPU-size variant's).
CPU_SIZE = [name for name in models.names() if _default_input_shape(name)[0] < 224]


def small_arguments(name):
    """Arguments that keep ``name`` CPU-cheap: 32×32 inputs, 5 classes, 1/8 of the paper's widths where it scales them.

    The paper-size (ImageNet) builders take RGB images, the CPU-size variants
    and the small builders 1-channel (grayscale) ones.
    """
    channels = 1 if name in CPU_SIZE else 3
    arguments = {"input_shape": (SIZE, SIZE, channels), "num_classes": 5}
    if "width_multiplier" in inspect.signature(models.get(name)).parameters:
        arguments["width_multiplier"] = 0.125  # narrow widths keep the paper-size builders cheap; the layout is theirs
    return arguments


def test_every_family_has_a_cpu_size_builder_that_goes_through_save_and_load():
    named = {"lenet5", "mlp", "logistic_regression", "small_cnn", *FAMILIES, *ROUND_TRIP_OVERRIDES}
    assert named <= set(CPU_SIZE)
    families = {models.get(name).__module__ for name in models.names()}
    assert families == {models.get(name).__module__ for name in CPU_SIZE}


@pytest.mark.parametrize("name", models.names())
def test_every_builder_predicts_on_small_inputs(name):
    arguments = small_arguments(name)
    channels = arguments["input_shape"][-1]
    model = models.build(name, **arguments)
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if convolutions:
        assert convolutions[0].kernel.shape[2] == channels
    else:  # a perceptron: the first dense layer sees the flattened image
        dense = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
        assert dense.kernel.shape[0] == SIZE * SIZE * channels
    probabilities = keras.ops.convert_to_numpy(model(_images(2, (SIZE, SIZE, channels)), training=False))
    assert probabilities.shape == (2, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", CPU_SIZE)
def test_save_and_load_round_trip(tmp_path, name):
    arguments = {**small_arguments(name), **ROUND_TRIP_OVERRIDES.get(name, {})}
    model = models.build(name, **arguments)
    loaded = harness.assert_round_trip(model, tmp_path / f"{name}.keras", _images(3, arguments["input_shape"], seed=1))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("name, channels", sorted(FAMILIES.items()))
def test_headless_variants_and_pooling(name, channels):
    features = models.build(name, include_top=False, input_shape=(SIZE, SIZE, 3))
    maps = keras.ops.convert_to_numpy(features(_images(2, (SIZE, SIZE, 3)), training=False))
    assert maps.ndim == 4 and maps.shape[0] == 2 and maps.shape[-1] == channels
    # Alternate the pooling across families: each of avg and max is checked four times.
    pooling, reduce = (("avg", np.mean), ("max", np.max))[sorted(FAMILIES).index(name) % 2]
    pooled_model = models.build(name, include_top=False, pooling=pooling, input_shape=(SIZE, SIZE, 3))
    pooled_model.set_weights(features.get_weights())
    pooled = keras.ops.convert_to_numpy(pooled_model(_images(2, (SIZE, SIZE, 3)), training=False))
    np.testing.assert_allclose(pooled, reduce(maps, axis=(1, 2)), rtol=1e-5, atol=1e-6)


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
        models.build(name, **overrides)
    assert "Received" in str(error.value)


@pytest.mark.parametrize(
    "name, overrides",
    [("mobilenet_tiny", {}), ("googlenet_tiny", {"aux_heads": True}), ("alexnet_tiny", {"normalization": "lrn"})],
)
def test_outputs_stay_float32_under_mixed_precision(name, overrides):
    keras.config.set_dtype_policy("mixed_float16")  # conftest restores float32 after the test
    model = models.build(name, **overrides)
    assert [tensor.dtype for tensor in model.outputs] == ["float32"] * len(model.outputs)
    assert model.get_layer("predictions").dtype_policy.compute_dtype == "float32"
