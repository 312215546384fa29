"""ImageAdapter: raw pixels of any image to a network's input, checked against tf.image and by construction."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit.data.adapter import ImageAdapter, crop, resize, with_adapter
from dlkit.errors import ConfigError


@pytest.mark.parametrize(
    "shape, size, method",
    [((2, 37, 53, 3), (16, 16), "area"), ((1, 400, 300, 3), (64, 64), "area"), ((1, 90, 30, 2), (45, 20), "area"),
     ((1, 8, 8, 1), (32, 32), "bilinear"), ((2, 20, 13, 3), (41, 64), "bilinear"),
     ((1, 64, 64, 3), (64, 64), "bilinear")],
)
def test_resize_equals_tf_image_resize(shape, size, method):
    images = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
    expected = tf.image.resize(images, size, method=method).numpy()
    np.testing.assert_allclose(np.asarray(resize(images, size)), expected, atol=3e-3)


def test_resize_shrinks_and_enlarges_each_axis_by_its_own_rule():
    images = np.random.default_rng(6).uniform(0, 255, (1, 12, 30, 1)).astype(np.float32)
    tall = tf.image.resize(tf.image.resize(images, (12, 10), method="area"), (36, 10)).numpy()
    np.testing.assert_allclose(np.asarray(resize(images, (36, 10))), tall, atol=3e-3)
    # An image enlarged by an integer factor with nearest neighbours shrinks back to itself.
    large = np.repeat(np.repeat(images, 3, axis=1), 3, axis=2)
    np.testing.assert_allclose(np.asarray(resize(large, (12, 30))), images, atol=1e-3)


def test_crop_equals_affine_transform_with_zero_fill():
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (3, 24, 20, 2)).astype(np.float32)
    top, left = np.array([3.0, -4.0, 0.0], np.float32), np.array([1.5, 2.0, -6.0], np.float32)
    step_y, step_x = np.array([0.5, 1.3, 2.0], np.float32), np.array([0.6, 1.1, 1.5], np.float32)
    zeros = np.zeros(3, np.float32)
    transform = np.stack([step_x, zeros, left + 0.5 * step_x - 0.5, zeros, step_y, top + 0.5 * step_y - 0.5,
                          zeros, zeros], axis=-1)
    expected = keras.ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="constant")
    np.testing.assert_allclose(np.asarray(crop(images, top, left, step_y, step_x)), np.asarray(expected), atol=1e-3)


def test_training_format_inputs_pass_unchanged():
    # Same size and channels, dark background: the adapter only scales, so a trained network can be wrapped.
    images = np.random.default_rng(2).uniform(0, 100, (4, 16, 16, 1)).astype(np.float32)
    out = ImageAdapter((16, 16), channels=1, polarity="light_on_dark")(images)
    np.testing.assert_allclose(np.asarray(out), images / 255.0, atol=1e-6)


def test_channels_alpha_and_luma():
    rgb = np.random.default_rng(3).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    grey = ImageAdapter((8, 8), channels=1, scale=1.0)(rgb)
    np.testing.assert_allclose(np.asarray(grey), tf.image.rgb_to_grayscale(rgb).numpy(), atol=1e-3)
    # Alpha 0 is white paper, alpha 255 the colour itself.
    rgba = np.concatenate([rgb, np.zeros((2, 8, 8, 1), np.float32)], axis=-1)
    rgba[:, :4, :, 3] = 255.0
    out = np.asarray(ImageAdapter((8, 8), channels=3, scale=1.0)(rgba))
    np.testing.assert_allclose(out[:, :4], rgb[:, :4], atol=1e-4)
    np.testing.assert_allclose(out[:, 4:], 255.0, atol=1e-4)
    grey_alpha = np.stack([np.full((1, 8, 8), 40.0), np.full((1, 8, 8), 127.5)], axis=-1).astype(np.float32)
    np.testing.assert_allclose(np.asarray(ImageAdapter((8, 8), 3, scale=1.0)(grey_alpha)), 40 * 0.5 + 127.5, atol=1e-3)


def test_any_channel_count_in_one_traced_graph():
    layer = ImageAdapter((12, 12), channels=3, scale=1.0)
    traced = tf.function(layer.call, input_signature=[tf.TensorSpec([None, None, None, None], tf.float32)])
    base = np.random.default_rng(4).uniform(0, 255, (2, 20, 30, 1)).astype(np.float32)
    opaque = np.full_like(base, 255.0)
    for pixels in (base, np.concatenate([base, opaque], -1), np.repeat(base, 3, -1),
                   np.concatenate([np.repeat(base, 3, -1), opaque], -1)):
        out = traced(pixels)
        assert out.shape == (2, 12, 12, 3)
        np.testing.assert_allclose(out.numpy(), np.asarray(layer(pixels)), atol=1e-3)
        np.testing.assert_allclose(out.numpy(), np.repeat(resize(base, (12, 12)), 3, -1), atol=1e-2)


def test_dark_on_light_is_inverted_only_when_the_border_is_light():
    ink = np.zeros((1, 16, 16, 1), np.float32)
    ink[:, 5:11, 5:11] = 200.0
    layer = ImageAdapter((16, 16), channels=1, scale=1.0, polarity="light_on_dark")
    np.testing.assert_allclose(np.asarray(layer(255.0 - ink)), ink, atol=1e-4)
    np.testing.assert_allclose(np.asarray(layer(ink)), ink, atol=1e-4)


def test_content_framing_finds_a_small_dark_digit_on_paper():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    digits, labels = bunch.images[:20].astype(np.float32) * (255.0 / 16.0), bunch.target[:20]
    layer = ImageAdapter((32, 32), channels=1, polarity="light_on_dark", framing="content", content_size=(8, 8))
    reference = np.asarray(layer(digits[..., None]))
    # The same digits, 12x larger, dark on light paper, off-centre in a wide RGB frame.
    large = tf.image.resize(digits[..., None], (96, 96), method="nearest").numpy()
    photo = np.full((20, 180, 240, 3), 230.0, np.float32)
    photo[:, 30:126, 110:206] = 230.0 - 0.8 * np.repeat(large, 3, -1)
    framed = np.asarray(layer(photo))
    assert framed.shape == (20, 32, 32, 1)
    # Each photo lands close to its own digit: nearer to it than to any digit of another class.
    distances = np.abs(framed[:, None] - reference[None]).mean(axis=(2, 3, 4))
    assert np.all(labels[np.argmin(distances, axis=1)] == labels)
    assert np.mean(np.diag(distances)) < 0.1 < np.mean(distances[labels[:, None] != labels[None, :]])
    # A blank page gives a blank input, not NaN.
    blank = np.asarray(layer(np.full((1, 50, 50, 1), 240.0, np.float32)))
    assert np.all(np.isfinite(blank)) and blank.max() <= 1.0


def test_config_round_trip_and_float32_under_mixed_precision(tmp_path):
    keras.config.set_dtype_policy("mixed_float16")
    layer = ImageAdapter((10, 10), channels=1, polarity="light_on_dark", framing="content", margin=0.1)
    keras.config.set_dtype_policy("float32")
    assert layer.compute_dtype == "float32"
    again = ImageAdapter.from_config(layer.get_config())
    assert again.conventions() == layer.conventions() == {
        "image_size": [10, 10], "channels": 1, "scale": 1 / 255, "polarity": "light_on_dark", "framing": "content",
        "margin": 0.1, "content_size": [10, 10],
    }


@pytest.mark.parametrize(
    "kwargs, message",
    [({"channels": 2}, "channels"), ({"polarity": "dark"}, "polarity"), ({"framing": "crop"}, "framing"),
     ({"margin": 0.5}, "margin"), ({"image_size": 0}, "image_size")],
)
def test_bad_arguments_are_config_errors(kwargs, message):
    arguments = {"image_size": (8, 8), **kwargs}
    with pytest.raises(ConfigError, match=message):
        ImageAdapter(**arguments)


def test_with_adapter_wraps_single_and_paired_inputs(tmp_path):
    inputs = keras.Input((8, 8, 1))
    network = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)), name="tiny")
    model = with_adapter(network)
    pixels = np.random.default_rng(5).uniform(0, 255, (3, 30, 20, 3)).astype(np.float32)
    expected = network(np.asarray(ImageAdapter((8, 8), 1)(pixels)))
    np.testing.assert_allclose(np.asarray(model(pixels)), np.asarray(expected), atol=1e-5)
    model.save(tmp_path / "wrapped.keras")
    np.testing.assert_allclose(np.asarray(keras.models.load_model(tmp_path / "wrapped.keras")(pixels)),
                               np.asarray(expected), atol=1e-5)
    first, second = keras.Input((8, 8, 1), name="first"), keras.Input((8, 8, 1), name="second")
    pair = keras.Model({"first": first, "second": second}, keras.layers.Subtract()([first, second]))
    wrapped = with_adapter(pair)
    out = wrapped({"first": pixels, "second": pixels})
    np.testing.assert_allclose(np.asarray(out), 0.0, atol=1e-6)
    with pytest.raises(ConfigError, match="fixed"):
        with_adapter(keras.Sequential([keras.Input((None, None, 3)), keras.layers.Dense(1)]))
