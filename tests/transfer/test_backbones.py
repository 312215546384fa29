"""build_classifier / load_backbone: names, saved models, weights, errors."""

import harness
import keras
import numpy as np
import pytest

from dlkit import transfer, weights
from dlkit.errors import ConfigError, WeightsError


def small_saved_cnn(path):
    """A plain CNN with a flatten-dense head, as someone else might have saved it."""
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a")(inputs)
    x = keras.layers.MaxPooling2D(name="pool_a")(x)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv_b")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(8, activation="relu", name="fc")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="old_predictions")(x)
    model = keras.Model(inputs, outputs, name="someone_cnn")
    model.save(path)
    return model


def test_keras_applications_name_builds_a_frozen_classifier():
    model = transfer.build_classifier("MobileNetV2", 4, input_shape=(32, 32, 3))
    assert [layer.name for layer in model.layers] == [
        "images",
        "preprocessing",
        "mobilenetv2_1.00_32_inference",
        "avg_pool",
        "head_standardization",
        "head_dropout",
        "predictions",
    ]
    base = transfer.find_base(model)
    assert base.trainable is False and base.output.shape[-1] == 1280
    assert model.get_layer("preprocessing").mode == "tf"
    assert model.output.shape == (None, 4)
    # Only the head trains: 1280 * 4 + 4.
    assert sum(int(np.prod(v.shape)) for v in model.trainable_weights) == 1280 * 4 + 4


def test_dlkit_name_and_grayscale_input():
    model = transfer.build_classifier("vgg_tiny", 2, input_shape=(32, 32, 1), freeze=False)
    assert model.get_layer("preprocessing").mode == "caffe"
    assert transfer.find_base(model).input.shape[-1] == 1  # no pretrained weights: the base keeps 1 channel
    rgb_base = transfer.build_classifier("vgg16", 2, weights="vgg16-hed", input_shape=(32, 32, 1))
    # Pretrained weights are RGB: the grey channel is repeated before the base.
    assert transfer.find_base(rgb_base).input.shape[-1] == 3
    assert rgb_base.get_layer("preprocessing").channels == 3
    assert rgb_base.predict(np.zeros((1, 32, 32, 1), "float32"), verbose=0).shape == (1, 2)


def test_saved_keras_model_is_cut_below_its_head(tmp_path):
    original = small_saved_cnn(tmp_path / "cnn.keras")
    model = transfer.build_classifier(str(tmp_path / "cnn.keras"), 5, input_shape=(16, 16, 1), freeze=True)
    base = transfer.find_base(model)
    assert base.layers[-1].name == "conv_b"  # the last feature map, below flatten/fc/old_predictions
    assert "fc" not in [layer.name for layer in base.layers]
    images = np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 1)).astype("float32")
    reference = keras.Model(original.inputs, original.get_layer("conv_b").output).predict(images / 255.0, verbose=0)
    np.testing.assert_allclose(base(images / 255.0), reference, rtol=1e-5, atol=1e-6)
    assert model.get_layer("preprocessing").mode == "scale"


def test_saved_model_cut_at_a_named_layer(tmp_path):
    small_saved_cnn(tmp_path / "cnn.keras")
    base, _ = transfer.load_backbone(str(tmp_path / "cnn.keras"), cut_at="pool_a")
    assert base.layers[-1].name == "pool_a" and base.output.shape == (None, 8, 8, 4)
    with pytest.raises(ConfigError, match=r"conv_a, pool_a.*Received: cut_at='nope'"):
        transfer.load_backbone(str(tmp_path / "cnn.keras"), cut_at="nope")


def test_saved_classifier_gives_back_its_backbone_and_preprocessing(tmp_path):
    first = transfer.build_classifier("vgg_tiny", 3, input_shape=(32, 32, 3), freeze=False)
    first.save(tmp_path / "classifier.keras")
    second = transfer.build_classifier(str(tmp_path / "classifier.keras"), 7, input_shape=(32, 32, 3))
    base_one, base_two = transfer.find_base(first), transfer.find_base(second)
    assert [layer.name for layer in base_two.layers] == [layer.name for layer in base_one.layers]
    for left, right in zip(base_one.get_weights(), base_two.get_weights()):
        np.testing.assert_array_equal(left, right)
    assert second.get_layer("preprocessing").mode == "caffe" and second.output.shape == (None, 7)


def test_classifier_save_and_load_predict_identically(tmp_path):
    model = transfer.build_classifier("vgg_tiny", 3, input_shape=(32, 32, 1), dropout=0.3)
    images = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 1)).astype("float32")
    harness.assert_round_trip(model, tmp_path / "model.keras", images)


def test_offline_vgg16_weights_load_into_all_13_conv_layers():
    expected = weights.read_vgg16_hed()
    for backbone in ("vgg16", "VGG16"):  # dlkit builder and keras.applications
        model = transfer.build_classifier(backbone, 3, weights="vgg16-hed", input_shape=(48, 48, 3))
        base = transfer.find_base(model)
        conv_layers = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
        assert [layer.name for layer in conv_layers] == list(weights.VGG16_CONV_LAYERS)
        for layer in conv_layers:
            kernel, bias = layer.get_weights()
            np.testing.assert_array_equal(kernel, expected[layer.name][0])
            np.testing.assert_array_equal(bias, expected[layer.name][1])
    random = transfer.find_base(transfer.build_classifier("vgg16", 3, input_shape=(48, 48, 3)))
    for name in weights.VGG16_CONV_LAYERS:
        assert not np.allclose(random.get_layer(name).get_weights()[0], expected[name][0])


@pytest.mark.parametrize("backbone", ["mobilenet_v2", "DenseNet121"])
def test_imagenet_offline_fails_fast_and_clearly(monkeypatch, tmp_path, backbone):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty Keras cache
    monkeypatch.setattr(weights, "host_reachable", lambda *args, **kwargs: (False, "OSError: offline (test)"))
    # Keras's own download would retry for minutes; the check must stop before any download starts.
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: pytest.fail("a download was attempted"))
    with pytest.raises(WeightsError) as error:
        transfer.build_classifier(backbone, 5, weights="imagenet", input_shape=(96, 96, 3))
    message = str(error.value)
    assert "cannot be reached" in message and str(tmp_path) in message and "Received:" in message
    assert "weights='vgg16-hed'" in message  # the offline alternative is suggested


def test_bad_backbone_name_lists_the_choices():
    with pytest.raises(ConfigError) as error:
        transfer.build_classifier("mobilenet_v9", 3)
    message = str(error.value)
    assert "Did you mean" in message and "mobilenet_v2" in message
    for choice in ("vgg16", "resnet50", "lenet5", "MobileNetV2", "EfficientNetB0", "DenseNet121"):
        assert choice in message
    assert message.endswith("Received: backbone='mobilenet_v9'")


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="num_classes=0"):
        transfer.build_classifier("vgg_tiny", 0, input_shape=(32, 32, 3))
    with pytest.raises(ConfigError, match="Received: backbone="):
        transfer.build_classifier(str(tmp_path / "missing.keras"), 2)
    with pytest.raises(ConfigError, match="pooling='median'"):
        transfer.build_classifier("vgg_tiny", 2, input_shape=(32, 32, 3), pooling="median")


def test_inference_mode_can_be_turned_off_for_training_from_scratch():
    wrapped = transfer.build_classifier("vgg_tiny", 2, input_shape=(32, 32, 3), freeze=False, dropout=0)
    plain = transfer.build_classifier(
        "vgg_tiny", 2, input_shape=(32, 32, 3), freeze=False, dropout=0, inference_mode=False
    )
    assert isinstance(wrapped.layers[2], transfer.InferenceMode) and wrapped.layers[2].base is transfer.find_base(
        wrapped
    )
    assert plain.layers[2] is transfer.find_base(plain) and isinstance(plain.layers[2], keras.Model)
    rng = np.random.default_rng(0)
    for model in (wrapped, plain):  # the head starts at zero (equal logits): give it weights that show the features
        head = model.get_layer("predictions")
        head.kernel.assign(rng.normal(0, 0.1, head.kernel.shape).astype("float32"))
    images = rng.uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    # In training mode the plain base uses batch statistics; the wrapped one ignores the outer mode.
    np.testing.assert_allclose(wrapped(images, training=True), wrapped(images, training=False), rtol=1e-5, atol=1e-6)
    assert not np.allclose(plain(images, training=True), plain(images, training=False), atol=1e-4)


def test_classifier_under_mixed_precision_keeps_a_float32_output():
    keras.config.set_dtype_policy("mixed_float16")  # tests/conftest.py restores float32 afterwards
    model = transfer.build_classifier("vgg_tiny", 3, input_shape=(32, 32, 1))
    assert transfer.find_base(model).layers[1].compute_dtype == "float16"
    assert model.output.dtype == "float32"
    probabilities = model.predict(np.full((2, 32, 32, 1), 128.0, "float32"), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)
