"""BackbonePreprocessing equals keras.applications' own preprocess_input, per family."""

import keras
import numpy as np
import pytest

from dlkit.errors import ConfigError
from dlkit.transfer import BackbonePreprocessing, mode_for


@pytest.fixture
def pixels():
    return np.random.default_rng(0).uniform(0, 255, (2, 5, 4, 3)).astype("float32")


@pytest.mark.parametrize(
    "mode, reference",
    [
        ("caffe", keras.applications.vgg16.preprocess_input),
        ("caffe", keras.applications.resnet50.preprocess_input),
        ("tf", keras.applications.mobilenet_v2.preprocess_input),
        ("tf", keras.applications.inception_v3.preprocess_input),
        ("torch", keras.applications.densenet.preprocess_input),
        ("none", keras.applications.efficientnet.preprocess_input),
    ],
)
def test_modes_equal_keras_applications(pixels, mode, reference):
    ours = keras.ops.convert_to_numpy(BackbonePreprocessing(mode)(pixels))
    np.testing.assert_allclose(ours, reference(pixels.copy()), rtol=1e-5, atol=1e-4)


def test_scale_mode_gives_unit_range(pixels):
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(BackbonePreprocessing("scale")(pixels)), pixels / 255.0, rtol=1e-6
    )


@pytest.mark.parametrize(
    "name, mode",
    [
        ("vgg16", "caffe"),
        ("VGG19", "caffe"),
        ("resnet50", "caffe"),
        ("ResNet50V2", "tf"),
        ("mobilenet_v2", "tf"),
        ("MobileNetV3Small", "none"),
        ("InceptionV3", "tf"),
        ("googlenet", "tf"),
        ("DenseNet121", "torch"),
        ("EfficientNetB0", "none"),
        ("ConvNeXtTiny", "none"),
        ("lenet5", "scale"),
        ("digits_cnn", "scale"),
    ],
)
def test_family_modes(name, mode):
    assert mode_for(name) == mode


def test_grayscale_feeds_an_rgb_backbone_as_keras_would_see_grey_rgb(pixels):
    grey = pixels[..., :1]
    ours = keras.ops.convert_to_numpy(BackbonePreprocessing("caffe", channels=3)(grey))
    reference = keras.applications.vgg16.preprocess_input(np.repeat(grey, 3, axis=-1))
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-4)


def test_rgb_to_one_channel_is_the_luma(pixels):
    import tensorflow as tf

    ours = keras.ops.convert_to_numpy(BackbonePreprocessing("none", channels=1)(pixels))
    np.testing.assert_allclose(ours, tf.image.rgb_to_grayscale(pixels).numpy(), rtol=1e-4, atol=1e-3)


def test_bad_mode_is_refused():
    with pytest.raises(ConfigError, match="Received: preprocessing='bgr'"):
        BackbonePreprocessing("bgr")
