"""Augmentation layers: active in training, identity at inference, serializable."""

import keras
import numpy as np
import pytest

from dlkit.data import augment
from dlkit.errors import ConfigError


def images():
    rng = np.random.default_rng(0)
    return rng.random((4, 16, 16, 3)).astype("float32")


def test_augmentation_is_identity_at_inference_and_changes_training_images():
    layers = augment.augmentation(flip="horizontal", crop=0.2, rotation=0.1, color=0.2, seed=1)
    x = images()
    np.testing.assert_array_equal(np.asarray(layers(x, training=False)), x)
    augmented = np.asarray(layers(x, training=True))
    assert augmented.shape == x.shape
    assert np.abs(augmented - x).mean() > 0.01


def test_color_shift_moves_each_channel_by_one_offset_and_clips():
    layer = augment.RandomColorShift(0.2, seed=3)
    x = np.full((2, 5, 5, 3), 0.5, "float32")
    shifted = np.asarray(layer(x, training=True))
    offsets = shifted - x
    assert np.allclose(offsets, offsets[:, :1, :1, :])  # one offset per image and channel
    assert np.abs(offsets).max() <= 0.2 + 1e-6 and np.abs(offsets).max() > 0
    clipped = np.asarray(augment.RandomColorShift(1.0, seed=0)(np.ones((8, 2, 2, 3), "float32"), training=True))
    assert clipped.max() <= 1.0


def test_color_shift_round_trips_through_keras_saving(tmp_path):
    model = keras.Sequential([keras.Input((4, 4, 3)), augment.RandomColorShift(0.3, value_range=(0, 255))])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert tuple(loaded.layers[0].value_range) == (0.0, 255.0)
    with pytest.raises(ConfigError, match="factor"):
        augment.RandomColorShift(2.0)
