"""Tests of dlkit.style: gram matrix, losses, image I/O, stylize with both optimizers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit import style
from dlkit.errors import ConfigError, ImageError

SKIMAGE = __import__("pathlib").Path(__import__("skimage").__file__).parent / "data"


@pytest.fixture(scope="module")
def extractor():
    return style.feature_extractor()


@pytest.fixture(scope="module")
def images():
    content = style.resize_longest(style.load_image(SKIMAGE / "chelsea.png"), 64)
    style_image = style.resize_longest(style.load_image(SKIMAGE / "ihc.png"), 64)
    return content, style_image


def test_gram_matrix_equals_numpy():
    features = np.random.default_rng(0).normal(size=(2, 5, 7, 4)).astype("float32")
    flat = features.reshape(2, 35, 4)
    expected = np.einsum("bpc,bpd->bcd", flat, flat) / (35 * 4)
    np.testing.assert_allclose(np.asarray(style.gram_matrix(features)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(style.gram_matrix(features[0])), expected[0], rtol=1e-5, atol=1e-6)


def test_total_variation_equals_tf_image_and_handles_one_pixel():
    images = np.random.default_rng(1).uniform(size=(1, 6, 9, 3)).astype("float32")
    expected = tf.image.total_variation(tf.constant(images))[0].numpy()
    vertical, horizontal = 5 * 9 * 3, 6 * 8 * 3
    ours = float(style.total_variation_loss(images))
    vertical_sum = np.abs(np.diff(images, axis=1)).sum()
    horizontal_sum = np.abs(np.diff(images, axis=2)).sum()
    np.testing.assert_allclose(vertical_sum + horizontal_sum, expected, rtol=1e-4)  # tf.image's sums
    np.testing.assert_allclose(ours, vertical_sum / vertical + horizontal_sum / horizontal, rtol=1e-4)
    assert float(style.total_variation_loss(np.ones((1, 1, 1, 3), "float32"))) == 0.0


def test_preprocess_matches_keras_and_deprocess_inverts_it():
    image = np.random.default_rng(2).uniform(0, 255, (4, 5, 3)).astype("float32")
    np.testing.assert_allclose(style.preprocess(image), keras.applications.vgg16.preprocess_input(image.copy()),
                               atol=1e-4)
    np.testing.assert_allclose(style.deprocess(style.preprocess(image)), image, atol=1e-4)


def test_style_loss_zero_for_style_image_and_content_loss_zero_for_content(extractor, images):
    content, style_image = images
    objective = style.Objective(extractor, content, [style_image], [1.0], style.DEFAULT_STYLE_LAYERS,
                                style.DEFAULT_CONTENT_LAYER, 1.0, 1.0, 0.0)
    assert float(objective(style.preprocess(content)[None])["content"]) == 0.0
    assert float(objective(style.preprocess(content)[None])["style"]) > 1.0
    features = extractor(style.preprocess(style_image)[None])
    assert float(style.style_loss(features, objective.style_targets, style.DEFAULT_STYLE_LAYERS)) < 1e-6


def test_style_loss_of_an_image_and_its_2x_upscale_are_comparable(extractor, images):
    # Normalized gram matrices make style statistics size-independent: the style loss
    # (against a third image) of an image and of its 2x bicubic upscale stay within 2x
    # of each other (measured at 64 px: 1.67x, the upscale being blurrier), whereas
    # grams summed over positions would grow 4x and the loss ~16x.
    content, style_image = images
    big = style.resize(content, (content.shape[0] * 2, content.shape[1] * 2))
    targets = {layer: style.gram_matrix(extractor(style.preprocess(style_image)[None])[layer])[0]
               for layer in style.DEFAULT_STYLE_LAYERS}
    small = extractor(style.preprocess(content)[None])
    large = extractor(style.preprocess(big)[None])
    small_loss = float(style.style_loss(small, targets, style.DEFAULT_STYLE_LAYERS))
    big_loss = float(style.style_loss(large, targets, style.DEFAULT_STYLE_LAYERS))
    assert 0.5 < big_loss / small_loss < 2.0
    gram_ratio = float(np.mean(style.gram_matrix(large["block1_conv1"]))) / float(
        np.mean(style.gram_matrix(small["block1_conv1"])))
    assert 0.5 < gram_ratio < 2.0


@pytest.mark.parametrize("optimizer,steps,fraction", [("adam", 15, 0.5), ("lbfgs", 8, 0.5)])
def test_short_run_lowers_total_loss(extractor, images, optimizer, steps, fraction):
    content, style_image = images
    result = style.stylize(content, style_image, steps=steps, size=64, optimizer=optimizer, extractor=extractor)
    assert result.steps == steps == len(result.log["style"])
    assert result.log["total"][-1] < (1 - fraction) * result.log["total"][0]
    assert result.image.shape == content.shape
    assert 0.0 <= result.image.min() and result.image.max() <= 255.0
    totals = np.array(result.log["content"]) + result.log["style"] + result.log["tv"]
    np.testing.assert_allclose(totals, result.log["total"], rtol=1e-4)


def test_preserve_color_keeps_the_content_chroma(extractor, images):
    content, style_image = images
    result = style.stylize(content, style_image, steps=10, size=64, preserve_color=True, extractor=extractor)
    content_yuv, result_yuv = style.rgb_to_yuv(content), style.rgb_to_yuv(result.image)
    chroma_change = np.abs(content_yuv[..., 1:] - result_yuv[..., 1:])
    assert chroma_change.mean() < 0.1 and np.percentile(chroma_change, 99) < 1.0  # only clipping moves it
    assert np.abs(content_yuv[..., 0] - result_yuv[..., 0]).mean() > 2.0  # luminance was stylized


def test_blend_scales_and_noise_init(extractor, images):
    content, style_image = images
    result = style.stylize(content, [style_image, content], steps=6, size=64, style_blend=[0.7, 0.3],
                           scales=(0.5, 1.0), init="noise", extractor=extractor)
    assert result.log["size"] == [32] * 3 + [64] * 3
    assert result.log["total"][-1] < result.log["total"][0]


def test_bad_arguments_raise(extractor, images, tmp_path):
    content, style_image = images
    with pytest.raises(ConfigError, match="optimizer"):
        style.stylize(content, style_image, optimizer="sgd", extractor=extractor)
    with pytest.raises(ConfigError, match="style_blend"):
        style.stylize(content, [style_image], style_blend=[1, 2], extractor=extractor)
    with pytest.raises(ConfigError, match="not a vgg16 layer"):
        style.feature_extractor(["block9_conv1"])
    with pytest.raises(ImageError, match="not found"):
        style.load_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ImageError, match="Cannot read"):
        style.load_image(tmp_path / "bad.png")


def test_load_image_makes_rgba_and_grayscale_rgb(tmp_path):
    from PIL import Image

    Image.new("RGBA", (5, 3), (10, 20, 30, 0)).save(tmp_path / "a.png")
    Image.new("L", (4, 6), 77).save(tmp_path / "g.png")
    rgba = style.load_image(tmp_path / "a.png")
    assert rgba.shape == (3, 5, 3) and np.all(rgba == 255)  # transparent over white
    gray = style.load_image(tmp_path / "g.png", size=12)
    assert gray.shape == (12, 8, 3) and np.allclose(gray, 77, atol=0.5)
    style.save_png(gray, tmp_path / "out.png")
    assert np.asarray(Image.open(tmp_path / "out.png")).shape == (12, 8, 3)


def test_imagenet_offline_fails_fast_and_hed_is_vgg16_only(tmp_path, monkeypatch):
    from dlkit import weights
    from dlkit.errors import WeightsError

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def unreachable(address, timeout=None):
        raise OSError("network unreachable")

    monkeypatch.setattr(weights.socket, "create_connection", unreachable)
    with pytest.raises(WeightsError, match="vgg16-hed"):
        style.vgg_base("vgg19", weights="imagenet")
    with pytest.raises(ConfigError, match="VGG16 only"):
        style.vgg_base("vgg19", weights="vgg16-hed")


def test_fused_style_layer_loss_equals_autodiff_of_the_loss():
    # The step's style term has its gradient written out (one matmul); value and gradient
    # must equal automatic differentiation of losses.style_layer_loss, batch of 2 included.
    from dlkit.style import transfer

    rng = np.random.default_rng(3)
    features = tf.constant(rng.normal(size=(2, 5, 7, 6)).astype("float32"))
    target = tf.constant(style.gram_matrix(rng.normal(size=(5, 7, 6)).astype("float32")))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(features)
        fused = 3.0 * transfer.fused_style_layer_loss(features, target)
        reference = 3.0 * style.style_layer_loss(features, target)
    np.testing.assert_allclose(float(fused), float(reference), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(fused, features).numpy(), tape.gradient(reference, features).numpy(),
                               rtol=1e-4, atol=1e-7)
