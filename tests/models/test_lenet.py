"""LeNet-5, the MLP and logistic regression."""

import keras
import numpy as np
import pytest

from dlkit import models
from dlkit.errors import ConfigError, WeightsError


def test_lenet5_has_the_classic_parameter_count_and_layer_names():
    model = models.lenet5()
    assert model.count_params() == 61_706
    names = [layer.name for layer in model.layers]
    assert names == ["input", "c1", "s2", "c3", "s4", "flatten", "c5", "f6", "predictions"]
    assert model.get_layer("c5").count_params() == 48_120  # = the paper's 5x5 convolution on 5x5x16


def test_lenet5_save_load_round_trip_gives_identical_predictions(tmp_path):
    model = models.lenet5(activation="relu")
    x = np.random.default_rng(0).random((3, 32, 32, 1)).astype("float32")
    model.save(tmp_path / "lenet.keras")
    loaded = keras.models.load_model(tmp_path / "lenet.keras")
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_lenet5_weights_file_and_headless_variants(tmp_path):
    model = models.lenet5(input_shape=(28, 28, 1), num_classes=5)
    model.save_weights(tmp_path / "w.weights.h5")
    again = models.lenet5(input_shape=(28, 28, 1), num_classes=5, weights=str(tmp_path / "w.weights.h5"))
    x = np.ones((1, 28, 28, 1), "float32")
    np.testing.assert_allclose(model(x), again(x))
    assert models.lenet5(include_top=False).output_shape == (None, 5, 5, 16)
    assert models.lenet5(include_top=False, pooling="max").output_shape == (None, 16)
    assert models.lenet5(input_shape=(32, 32, 3), subsampling="max").get_layer("s2").__class__.__name__ == "MaxPooling2D"


def test_lenet5_argument_errors(tmp_path):
    with pytest.raises(ConfigError, match="Received: num_classes=0"):
        models.lenet5(num_classes=0)
    with pytest.raises(ConfigError, match=">= 12"):
        models.lenet5(input_shape=(8, 8, 1))
    with pytest.raises(ConfigError, match="pooling"):
        models.lenet5(include_top=False, pooling="mean")
    with pytest.raises(WeightsError, match="not found"):
        models.lenet5(weights=str(tmp_path / "missing.weights.h5"))
    models.mlp(input_shape=(4,), num_classes=3).save_weights(tmp_path / "other.weights.h5")
    with pytest.raises(WeightsError, match="do not fit"):
        models.lenet5(weights=str(tmp_path / "other.weights.h5"))


def test_mlp_options_build_the_expected_layers():
    model = models.mlp(input_shape=(8, 8, 1), hidden_units=(32, 16, 8), dropout=0.3, batch_norm=True, l2=1e-3)
    names = [layer.name for layer in model.layers]
    for index in (1, 2, 3):
        assert {f"dense{index}", f"bn{index}", f"act{index}", f"dropout{index}"} <= set(names)
    assert model.get_layer("dense1").use_bias is False  # batch norm supplies the shift
    # 64*32 + 32*16 + 16*8 kernels, 4 BN params per unit, 8*10+10 output.
    assert model.count_params() == 64 * 32 + 32 * 16 + 16 * 8 + 4 * (32 + 16 + 8) + 8 * 10 + 10
    model(np.ones((2, 8, 8, 1), "float32"))
    assert len(model.losses) == 4  # an L2 penalty per kernel, output included


def test_mlp_initializers_and_errors():
    assert models.mlp(initializer="glorot").get_layer("dense1").kernel_initializer.__class__.__name__ == "GlorotUniform"
    assert models.mlp(initializer="he").get_layer("dense1").kernel_initializer.__class__.__name__ == "HeNormal"
    with pytest.raises(ConfigError, match="dropout"):
        models.mlp(dropout=1.0)


def test_logistic_regression_is_one_dense_layer():
    model = models.logistic_regression(input_shape=(8, 8, 1), num_classes=10)
    assert model.count_params() == 64 * 10 + 10
    binary = models.logistic_regression(input_shape=(5,), num_classes=1, classifier_activation="sigmoid")
    assert binary.output_shape == (None, 1)
