"""1×1 convolutions, Inception modules, GoogLeNet's layout and its auxiliary heads."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit import training
from dlkit.errors import ConfigError
from dlkit.models import inception


def _multiplications(model):
    """Multiplications of every Conv2D of ``model`` for one image (the course's cost arithmetic)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width, out_channels = layer.output.shape[1:]
            kernel_height, kernel_width, in_channels, _ = layer.kernel.shape
            total += height * width * out_channels * kernel_height * kernel_width * in_channels
    return total


def test_one_by_one_convolution_is_a_dense_layer_over_channels():
    inputs = keras.Input((28, 28, 192))
    model = keras.Model(inputs, inception.network_in_network_block(inputs, 32, name="shrink"))
    images = np.random.default_rng(0).normal(size=(2, 28, 28, 192)).astype("float32")
    kernel, bias = model.get_layer("shrink_conv").get_weights()
    expected = np.maximum(np.einsum("bhwc,cf->bhwf", images, kernel[0, 0]) + bias, 0.0)
    got = keras.ops.convert_to_numpy(model(images))
    assert got.shape == (2, 28, 28, 32)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_network_in_network_mlpconv_stacks_pointwise_layers():
    inputs = keras.Input((16, 16, 3))
    outputs = inception.network_in_network_block(inputs, 8, kernel_size=3, pointwise_layers=2, name="mlpconv")
    model = keras.Model(inputs, outputs)
    assert [layer.name for layer in model.layers[1:]] == ["mlpconv_conv", "mlpconv_pointwise1", "mlpconv_pointwise2"]
    assert model.count_params() == (3 * 3 * 3 * 8 + 8) + 2 * (8 * 8 + 8)


def test_bottleneck_cuts_the_course_5x5_cost_tenfold():
    inputs = keras.Input((28, 28, 192))
    direct = keras.Model(inputs, keras.layers.Conv2D(32, 5, padding="same")(inputs))
    squeezed = inception.network_in_network_block(inputs, 16, name="bottleneck")
    bottleneck = keras.Model(inputs, keras.layers.Conv2D(32, 5, padding="same")(squeezed))
    assert _multiplications(direct) == 120_422_400  # 28·28·32 · 5·5·192, "about 120 million"
    assert _multiplications(bottleneck) == 12_443_648  # 2.4 M + 10.0 M, "about 12.4 million"


def test_naive_and_reduced_inception_modules():
    inputs = keras.Input((28, 28, 192))
    naive = keras.Model(inputs, inception.inception_module(inputs, 64, 128, 32, name="naive"))
    reduced = keras.Model(
        inputs,
        inception.inception_module(
            inputs, 64, 128, 32, filters_3x3_reduce=96, filters_5x5_reduce=16, filters_pool_projection=32,
            name="inception_3a",
        ),
    )
    assert naive.output.shape == (None, 28, 28, 64 + 128 + 32 + 192)  # the pool branch keeps all 192 channels
    assert reduced.output.shape == (None, 28, 28, 256)  # GoogLeNet's 3a
    assert _multiplications(reduced) < _multiplications(naive) / 2
    with pytest.raises(ConfigError, match="all three reductions"):
        inception.inception_module(inputs, 64, 128, 32, filters_3x3_reduce=96)


def test_googlenet_layer_weights_match_table_1_of_the_paper():
    model = inception.googlenet()
    kernels = {}
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            stage = layer.name.split("_")[0] if not layer.name.startswith("inception") else layer.name[:12]
            kernels[stage] = kernels.get(stage, 0) + int(np.prod(layer.kernel.shape))
    # The paper's "params" column in K = 1024 weights (biases not counted). Rows computed from its own filter
    # counts differ from it by up to 7.5% (4c: 497.5K vs 463K, 5a: 1018K vs 1072K), so each row is checked to 8%
    # and the total to 1%. Its conv1 entry, 2.7K, cannot be the 7×7×3×64 = 9,408 weights: checked directly.
    table = {"conv2": 112, "inception_3a": 159, "inception_3b": 380, "inception_4a": 364, "inception_4b": 437,
             "inception_4c": 463, "inception_4d": 580, "inception_4e": 840, "inception_5a": 1072,
             "inception_5b": 1388, "predictions": 1000}
    for stage, thousands in table.items():
        assert kernels[stage] / 1024 == pytest.approx(thousands, rel=0.08), stage
    assert kernels["conv2"] == 112 * 1024 and kernels["predictions"] == 1000 * 1024
    assert kernels["conv1"] == 7 * 7 * 3 * 64
    assert sum(kernels.values()) == pytest.approx((sum(table.values()) + 2.7) * 1024, rel=0.01)
    assert model.count_params() == sum(int(np.prod(w.shape)) for w in model.weights) == 6_998_552
    assert model.get_layer("inception_5b_concat").output.shape == (None, 7, 7, 1024)


@pytest.fixture(scope="module")
def trained_with_aux_heads():
    keras.utils.set_random_seed(0)
    model = inception.googlenet_tiny(input_shape=(32, 32, 3), num_classes=4, aux_heads=True)
    images = np.random.default_rng(0).uniform(size=(8, 32, 32, 3)).astype("float32")
    labels = np.arange(8) % 4
    targets = {name: labels for name in (inception.MAIN_OUTPUT, *inception.AUX_OUTPUTS)}
    dataset = tf.data.Dataset.from_tensor_slices((images, targets)).batch(8)
    before = [weight.copy() for weight in model.get_weights()]
    # Tracing GoogLeNet's training graph takes 20-50 s on 2 busy cores, so the step runs eagerly: the model is
    # compiled here with fit's own pieces (run_eagerly is the only addition) and trained by fit(compile=False).
    model.compile(
        optimizer=training.make_optimizer("adam", 1e-3),
        loss=inception.auxiliary_losses("sparse_categorical_crossentropy"),
        loss_weights=inception.auxiliary_loss_weights(),
        metrics={inception.MAIN_OUTPUT: ["accuracy"]},
        run_eagerly=True,
    )
    result = training.fit(model, dataset, epochs=1, compile=False, verbose=0)
    return result, before, images


def test_googlenet_aux_heads_train_with_weight_0_3(trained_with_aux_heads):
    result, before, _ = trained_with_aux_heads
    history = result.history
    weighted = (history["predictions_loss"][0]
                + 0.3 * history["aux_1_predictions_loss"][0] + 0.3 * history["aux_2_predictions_loss"][0])
    assert history["loss"][0] == pytest.approx(weighted, rel=1e-4)
    changed = [not np.array_equal(old, new) for old, new in zip(before, result.model.get_weights())]
    assert all(changed[index] for index, weight in enumerate(result.model.weights) if "aux_1_fc" in weight.path)


def test_aux_heads_vanish_at_inference(trained_with_aux_heads):
    result, _, images = trained_with_aux_heads
    model = result.model
    inference = inception.drop_aux_heads(model)
    assert len(model.outputs) == 3 and len(inference.outputs) == 1
    assert not any(layer.name.startswith("aux_") for layer in inference.layers)
    aux_parameters = sum(layer.count_params() for layer in model.layers if layer.name.startswith("aux_"))
    assert inference.count_params() == model.count_params() - aux_parameters
    expected = keras.ops.convert_to_numpy(model(images, training=False)[inception.MAIN_OUTPUT])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(inference(images, training=False)), expected)
    assert inception.drop_aux_heads(inference) is inference
