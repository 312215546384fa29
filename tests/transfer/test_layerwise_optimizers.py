"""LayerwiseAdam / LayerwiseSGD: per-layer learning rates equal the plain optimizer's scaled steps."""

import keras
import numpy as np
import pytest

from dlkit import transfer
from dlkit.errors import ConfigError


def two_layer_model():
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4, name="lower")(inputs)
    outputs = keras.layers.Dense(2, name="upper")(x)
    return keras.Model(inputs, outputs)


def steps(optimizer, count=3):
    """Trains a fixed model a few steps; returns {variable path: total change}."""
    keras.utils.set_random_seed(0)
    model = two_layer_model()
    start = {variable.path: variable.numpy().copy() for variable in model.trainable_variables}
    model.compile(optimizer, "mse")
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")
    for _ in range(count):
        model.train_on_batch(x, y)
    return {variable.path: variable.numpy() - start[variable.path] for variable in model.trainable_variables}


def test_sgd_multipliers_scale_each_layers_step():
    plain = steps(keras.optimizers.SGD(0.1), count=1)
    scaled = steps(transfer.LayerwiseSGD(learning_rate=0.1, layer_multipliers={"lower": 0.5, "upper": 0.0}), count=1)
    for path in plain:
        factor = 0.5 if path.startswith("lower") else 0.0
        np.testing.assert_allclose(scaled[path], factor * plain[path], rtol=1e-5, atol=1e-7)


def test_adam_with_unit_multipliers_is_adam():
    plain = steps(keras.optimizers.Adam(0.01))
    layerwise = steps(transfer.LayerwiseAdam(learning_rate=0.01, layer_multipliers={"lower": 1.0}))
    for path in plain:
        np.testing.assert_allclose(layerwise[path], plain[path], rtol=1e-6, atol=1e-8)
    halved = steps(transfer.LayerwiseAdam(learning_rate=0.01, layer_multipliers={"upper": 0.5}), count=1)
    first = steps(keras.optimizers.Adam(0.01), count=1)
    np.testing.assert_allclose(halved["upper/kernel"], 0.5 * first["upper/kernel"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(halved["lower/kernel"], first["lower/kernel"], rtol=1e-5, atol=1e-8)


def test_blocks_and_decay():
    assert transfer.optimizers.multiplier_for("vgg16/block5_conv1/kernel", {"block5": 0.3}) == 0.3
    assert transfer.optimizers.multiplier_for("vgg16/block5_conv1/kernel", {"block5": 0.3, "block5_conv1": 0.7}) == 0.7
    assert transfer.optimizers.multiplier_for("predictions/kernel", {"block5": 0.3}) == 1.0
    model = transfer.build_classifier("vgg_tiny", 2, input_shape=(32, 32, 3))
    transfer.unfreeze(model, from_layer="block4_conv1")
    assert transfer.layer_decay_multipliers(model, 0.5) == {"block5": 1.0, "block4": 0.5}


def test_config_round_trip_and_saving(tmp_path):
    optimizer = transfer.LayerwiseAdam(learning_rate=0.01, layer_multipliers={"lower": 0.1})
    clone = transfer.LayerwiseAdam.from_config(optimizer.get_config())
    assert clone.layer_multipliers == {"lower": 0.1}
    model = two_layer_model()
    model.compile(optimizer, "mse")
    model.train_on_batch(np.ones((2, 3), "float32"), np.ones((2, 2), "float32"))
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.optimizer, transfer.LayerwiseAdam) and loaded.optimizer.layer_multipliers == {"lower": 0.1}
    np.testing.assert_allclose(loaded.predict(np.ones((1, 3)), verbose=0), model.predict(np.ones((1, 3)), verbose=0))


def test_bad_multipliers():
    with pytest.raises(ConfigError, match="'lower': -1"):
        transfer.LayerwiseAdam(layer_multipliers={"lower": -1})
