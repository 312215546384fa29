"""Distribution shift on purpose: the course notes' train-dev case, built from one dataset.

The notes' situation: the training set comes from one distribution (web photos,
plentiful) and the dev/test sets from the one that matters (the users' phone
photos). A *train-dev* set, held out from the training distribution, then
splits the dev error into variance (train-dev − train) and data mismatch
(dev − train-dev). :func:`train_dev_split` carves that set; :func:`shift_images`
makes the second distribution from the first (blurred, noisy, low-contrast,
or on a brighter background), so the case can be reproduced on digits or any
``data.load`` set.

Reference: Ng, "Machine Learning Yearning" (2018), chapters 36-43; Deep
Learning Specialization, course 3 week 2 ("Mismatched training and dev/test set").
"""

import math

import tensorflow as tf

from dlkit.errors import ConfigError

#: What :func:`shift_images` can do to images.
SHIFTS = {
    "blur": "Gaussian blur (sigma 2.5 px at 32 px, scaled with the image)",
    "noise": "Gaussian pixel noise (standard deviation 90 of 255), clipped",
    "contrast": "contrast reduced to a third around the image's mean",
    "background": "a bright, smooth left-to-right gradient added behind the content",
}


def _gaussian_kernel(sigma, channels):
    radius = max(1, int(math.ceil(3 * sigma)))
    positions = tf.range(-radius, radius + 1, dtype=tf.float32)
    weights = tf.exp(-0.5 * (positions / sigma) ** 2)
    weights /= tf.reduce_sum(weights)
    kernel = weights[:, None] * weights[None, :]
    return tf.tile(kernel[:, :, None, None], [1, 1, channels, 1])


def shift_images(images, kind, seed=0):
    """Returns ``images`` (float, 0-255, ``(H, W, C)`` or ``(N, H, W, C)``) from a shifted distribution.

    Args:
        images: float images in ``[0, 255]``.
        kind: one of :data:`SHIFTS`.
        seed: seed of the noise (``"noise"`` only; a stateless draw per image content).

    Raises:
        ConfigError: an unknown kind.
    """
    if kind not in SHIFTS:
        raise ConfigError(f"the shift must be one of {', '.join(SHIFTS)}. Received: {kind!r}")
    images = tf.convert_to_tensor(images, tf.float32)
    single = images.shape.rank == 3
    batch = images[None] if single else images
    height, width, channels = batch.shape[1], batch.shape[2], batch.shape[3]
    if kind == "blur":
        sigma = 2.5 * max(height, width) / 32.0
        shifted = tf.nn.depthwise_conv2d(batch, _gaussian_kernel(sigma, channels), [1, 1, 1, 1], "SAME")
    elif kind == "noise":
        key = tf.stack([tf.cast(seed, tf.int32), tf.cast(tf.reduce_sum(batch) % 2**30, tf.int32)])
        shifted = batch + 90.0 * tf.random.stateless_normal(tf.shape(batch), key)
    elif kind == "contrast":
        mean = tf.reduce_mean(batch, axis=[1, 2, 3], keepdims=True)
        shifted = mean + (batch - mean) / 3.0
    else:
        ramp = tf.linspace(0.0, 150.0, width)[None, None, :, None]
        shifted = batch + ramp
    shifted = tf.clip_by_value(shifted, 0.0, 255.0)
    return shifted[0] if single else shifted


def train_dev_split(examples, count):
    """Splits an unshuffled, unbatched dataset of ``(image, label)`` into ``(train, train_dev)``.

    The first ``count`` examples become the train-dev set; shuffle and batch
    each part afterwards (shuffling first would move examples between them
    every epoch).

    Raises:
        ConfigError: ``count`` < 1.
    """
    if count < 1:
        raise ConfigError(f"a train-dev set needs at least one example. Received: count={count}")
    return examples.skip(count), examples.take(count)
