"""to_fully_convolutional: the grid equals the classifier applied crop by crop."""

import keras
import numpy as np
import pytest

from dlkit.errors import ConfigError
from dlkit.models import to_fully_convolutional
from dlkit.models.mobilenet import mobilenet_tiny


def _crops_agree(classifier, grid_model, images, crop, stride):
    grid = keras.ops.convert_to_numpy(grid_model(images, training=False))
    for row in range(grid.shape[1]):
        for column in range(grid.shape[2]):
            window = images[:, row * stride : row * stride + crop, column * stride : column * stride + crop]
            expected = keras.ops.convert_to_numpy(classifier(window, training=False))
            np.testing.assert_allclose(grid[:, row, column], expected, rtol=1e-5, atol=1e-6)
    return grid.shape


def test_course_example_14_to_16_gives_a_2x2_grid():
    # 14×14×3 → 5×5 conv 16 → 2×2 max pool → FC 400 → FC 400 → softmax 4 (the course's sliding-window net).
    classifier = keras.Sequential([
        keras.Input((14, 14, 3)),
        keras.layers.Conv2D(16, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(400, activation="relu"),
        keras.layers.Dense(400, activation="relu"),
        keras.layers.Dense(4, activation="softmax"),
    ])
    grid_model = to_fully_convolutional(classifier)
    kernels = [layer.kernel.shape for layer in grid_model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert kernels == [(5, 5, 3, 16), (5, 5, 16, 400), (1, 1, 400, 400), (1, 1, 400, 4)]
    images = np.random.default_rng(0).uniform(size=(2, 16, 16, 3)).astype("float32")
    assert _crops_agree(classifier, grid_model, images, crop=14, stride=2) == (2, 2, 2, 4)
    assert grid_model.count_params() == classifier.count_params()


def test_global_pooling_head_becomes_a_sliding_pool():
    inputs = keras.Input((12, 12, 2))
    x = keras.layers.Conv2D(6, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    outputs = keras.layers.Dense(3, name="logits")(x)
    classifier = keras.Model(inputs, outputs)
    images = np.random.default_rng(1).uniform(size=(1, 20, 20, 2)).astype("float32")
    assert _crops_agree(classifier, to_fully_convolutional(classifier), images, crop=12, stride=2) == (1, 5, 5, 3)


def test_zoo_model_runs_on_larger_images():
    grid_model = to_fully_convolutional(mobilenet_tiny(input_shape=(32, 32, 3), num_classes=5))
    grid = keras.ops.convert_to_numpy(grid_model(np.zeros((1, 96, 96, 3), "float32"), training=False))
    assert grid.shape == (1, 3, 3, 5)
    np.testing.assert_allclose(grid.sum(axis=-1), 1.0, rtol=1e-5)


def test_needs_a_fixed_size_image_input():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs))
    with pytest.raises(ConfigError, match="fixed height and width"):
        to_fully_convolutional(model)
