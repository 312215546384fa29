"""The steps every source shares: image conversion, caching, shuffling, batching."""

import tensorflow as tf

from dlkit.data.adapter import resize


def prepare_image(image, image_size=None, channels=None, normalize=True, input_scale=255.0):
    """Converts one image tensor to float32 with the requested size, channels and range.

    Args:
        image: an image tensor ``(height, width, channels)`` of any numeric dtype.
        image_size: ``(height, width)`` to resize to, or ``None``. Area
            averaging when shrinking, bilinear when enlarging: the function the
            models' :class:`~dlkit.data.adapter.ImageAdapter` uses, so a model
            sees a user's file as it saw its training images.
        channels: 1 or 3 to convert to, or ``None`` to keep.
        normalize: scale to ``[0, 1]`` (else ``[0, 255]``).
        input_scale: the value of a white pixel in ``image`` (255 for uint8).

    Returns:
        A float32 image tensor.
    """
    image = tf.cast(image, tf.float32) * (255.0 / input_scale)
    if channels == 3 and image.shape[-1] == 1:
        image = tf.image.grayscale_to_rgb(image)
    elif channels == 1 and image.shape[-1] == 3:
        image = tf.image.rgb_to_grayscale(image)
    if image_size is not None:
        image = resize(image[None], image_size)[0]
        image = tf.clip_by_value(image, 0.0, 255.0)
    if normalize:
        image = image / 255.0
    return image


def finish(dataset, *, batch_size, shuffle, seed, cache, num_examples=None):
    """Caches, shuffles (seeded, reshuffled each epoch), batches and prefetches."""
    if cache:
        dataset = dataset.cache()
    if shuffle:
        buffer = min(num_examples or 10_000, 10_000)
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    return dataset.prefetch(tf.data.AUTOTUNE)
