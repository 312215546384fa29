"""Data augmentation as Keras preprocessing layers, active only in training.

The classic list: mirroring, random cropping, rotation and colour shifting
(Krizhevsky et al., 2012, "ImageNet Classification with Deep Convolutional
Neural Networks", section 4.1). Put the returned ``Sequential`` at the start of
a model: Keras runs these layers only when ``training=True``, so evaluation and
inference see the original images.
"""

import keras
from keras import ops

from dlkit.errors import ConfigError


@keras.saving.register_keras_serializable(package="dlkit")
class RandomColorShift(keras.layers.Layer):
    """Adds a random offset to each colour channel of each image (training only).

    Args:
        factor: the largest offset, as a fraction of ``value_range``'s width.
        value_range: ``(low, high)`` pixel range of the inputs; outputs are
            clipped to it.
        seed: optional seed.
    """

    def __init__(self, factor=0.1, value_range=(0.0, 1.0), seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= factor <= 1:
            raise ConfigError(f"factor must be in [0, 1]. Received: factor={factor}")
        self.factor = float(factor)
        self.value_range = tuple(float(value) for value in value_range)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training or self.factor == 0:
            return images
        low, high = self.value_range
        shape = ops.shape(images)
        offsets = keras.random.uniform(
            (shape[0], 1, 1, shape[-1]),
            minval=-self.factor,
            maxval=self.factor,
            seed=self.seed_generator,
            dtype=images.dtype,
        )
        return ops.clip(images + offsets * (high - low), low, high)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


def augmentation(flip="horizontal", crop=0.1, rotation=0.05, color=0.1, value_range=(0.0, 1.0), seed=None):
    """Returns a ``keras.Sequential`` of random augmentations (identity at inference).

    Args:
        flip: ``"horizontal"``, ``"vertical"``, ``"horizontal_and_vertical"`` or
            ``None`` (no mirroring; right for digits, where a flipped 2 is no 2).
        crop: largest fraction cut off by a random crop that is resized back to
            the input size (a zoom in), or 0.
        rotation: largest rotation as a fraction of a full turn, or 0.
        color: largest per-channel colour shift as a fraction of the pixel range, or 0.
        value_range: the inputs' pixel range.
        seed: optional seed.
    """
    layers = []
    if flip:
        layers.append(keras.layers.RandomFlip(flip, seed=seed, name="random_flip"))
    if crop:
        layers.append(keras.layers.RandomZoom((-crop, 0.0), fill_mode="reflect", seed=seed, name="random_crop"))
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="reflect", seed=seed, name="random_rotation"))
    if color:
        layers.append(RandomColorShift(color, value_range, seed=seed, name="random_color_shift"))
    return keras.Sequential(layers, name="augmentation")
