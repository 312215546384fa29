"""``pk_batches``: P identities x K examples per batch, so every anchor has positives.

``augment_batches`` (and ``random_affine``) give every image of a batch its own random affine jitter.
"""

import numpy as np
import tensorflow as tf

from dlkit.errors import ConfigError, DatasetError


def _as_arrays(data):
    """(images, labels) NumPy arrays from a tuple of arrays or an unbatched tf.data.Dataset."""
    if isinstance(data, tf.data.Dataset):
        images, labels = [], []
        for image, label in data.as_numpy_iterator():
            images.append(image)
            labels.append(label)
        if not images:
            raise DatasetError("pk_batches got an empty dataset. Received: 0 examples")
        return np.stack(images), np.asarray(labels)
    try:
        images, labels = data
    except (TypeError, ValueError):
        raise ConfigError(
            f"pk_batches needs a dataset of (image, label) or a tuple (images, labels). Received: {type(data).__name__}"
        ) from None
    return np.asarray(images), np.asarray(labels)


def pk_batches(data, p, k, *, num_batches=100, min_examples=2, seed=0):
    """A ``tf.data.Dataset`` of batches holding P identities x K examples each.

    Every batch draws P distinct identities (among those with at least
    ``min_examples`` examples) and K examples of each: without replacement when
    an identity has K or more, cycling through a shuffled order otherwise.
    Batches are ordered identity by identity. The data is held in memory (resize
    large images before). Iterating again draws new batches; the same seed gives
    the same sequence of epochs.

    Args:
        data: an unbatched ``tf.data.Dataset`` of ``(image, integer label)`` or a
            tuple of arrays ``(images, labels)``.
        p: identities per batch (>= 2, so every anchor has negatives).
        k: examples per identity (>= 2, so every anchor has positives).
        num_batches: batches per pass (one epoch).
        min_examples: identities with fewer examples are never drawn.
        seed: random seed.

    Returns:
        A dataset of ``(images[p * k, ...], labels[p * k])`` with known cardinality.
    """
    checks = (("p", p, 2), ("k", k, 2), ("num_batches", num_batches, 1), ("min_examples", min_examples, 1))
    for flag, value, least in checks:
        if not isinstance(value, (int, np.integer)) or value < least:
            raise ConfigError(f"{flag} must be an integer >= {least}. Received: {flag}={value!r}")
    images, labels = _as_arrays(data)
    if labels.ndim != 1 or len(labels) != len(images):
        raise ConfigError(f"labels must be one integer per image. Received: labels shape {labels.shape}")
    identities, counts = np.unique(labels, return_counts=True)
    eligible = identities[counts >= min_examples]
    if len(eligible) < p:
        raise DatasetError(
            f"pk_batches needs at least p={p} identities with >= {min_examples} examples. "
            f"Received: {len(eligible)} such identities"
        )
    # Examples sorted by identity: identity i owns rows offsets[i] : offsets[i] + counts[i].
    keep = np.isin(labels, eligible)
    images, labels = images[keep], labels[keep]
    order = np.argsort(labels, kind="stable")
    images, labels = images[order], labels[order]
    _, offsets, counts = np.unique(labels, return_index=True, return_counts=True)
    num_identities, widest = len(counts), int(counts.max())

    images = tf.constant(images)
    labels = tf.constant(labels)
    offsets = tf.constant(offsets, tf.int64)
    counts = tf.constant(counts, tf.int64)

    def draw(batch_seed):
        seeds = tf.random.experimental.stateless_split(batch_seed, 2)
        chosen = tf.argsort(tf.random.stateless_uniform([num_identities], seeds[0]))[:p]
        chosen_counts = tf.gather(counts, chosen)
        # Random scores, invalid columns (beyond an identity's count) pushed last.
        scores = tf.random.stateless_uniform([p, widest], seeds[1])
        columns = tf.range(widest, dtype=tf.int64)
        scores = tf.where(columns[None, :] < chosen_counts[:, None], scores, -1.0)
        shuffled = tf.argsort(scores, axis=1, direction="DESCENDING")
        slots = tf.range(k, dtype=tf.int64)[None, :] % chosen_counts[:, None]
        positions = tf.gather(shuffled, slots, batch_dims=1)
        rows = tf.reshape(tf.gather(offsets, chosen)[:, None] + tf.cast(positions, tf.int64), [-1])
        return tf.gather(images, rows), tf.gather(labels, rows)

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2).take(num_batches)
    seeds = seeds.map(lambda pair: tf.cast(pair, tf.int64))
    batches = seeds.map(draw, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return batches.apply(tf.data.experimental.assert_cardinality(num_batches)).prefetch(tf.data.AUTOTUNE)


def random_affine(images, seed, *, shift=0.1, zoom=0.1, rotation=0.025, shear=0.1):
    """Gives each image its own random shift, zoom, rotation and shear about its centre.

    One bilinear projective transform per image
    (``tf.raw_ops.ImageProjectiveTransformV3``), zeros filled in; stateless,
    so the same seed gives the same result.

    Args:
        images: ``(batch, height, width, channels)``.
        seed: a stateless seed, shape ``(2,)`` integers.
        shift: largest shift along each axis, as a fraction of the side.
        zoom: largest scale change: the scale is ``exp(u)``, ``u`` in ``[-zoom, zoom]``.
        rotation: largest rotation, as a fraction of a full turn.
        shear: largest horizontal shear factor.

    Returns:
        float32 images of the same shape.
    """
    _check_amounts(shift=shift, zoom=zoom, rotation=rotation, shear=shear)
    images = tf.cast(images, tf.float32)
    if images.shape.rank != 4:
        raise ConfigError(f"random_affine needs images[batch, height, width, channels]. Received: {images.shape}")
    n = tf.shape(images)[0]
    height = tf.cast(tf.shape(images)[1], tf.float32)
    width = tf.cast(tf.shape(images)[2], tf.float32)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 5)

    def uniform(index, limit):
        return tf.random.stateless_uniform([n], seeds[index], -limit, limit)

    angle = uniform(0, rotation * 2 * np.pi)
    scale = tf.exp(uniform(1, zoom))
    slant = uniform(2, shear)
    dx, dy = uniform(3, shift) * width, uniform(4, shift) * height
    # The transform maps each output pixel to the input pixel it reads:
    # input = A (output - centre) + centre - (dx, dy), A = rotation(-angle) . shear / scale.
    cos, sin = tf.cos(angle), tf.sin(angle)
    a00, a01 = cos / scale, (sin + cos * slant) / scale
    a10, a11 = -sin / scale, (cos - sin * slant) / scale
    cx, cy = (width - 1) / 2, (height - 1) / 2
    b0 = cx - a00 * cx - a01 * cy - dx
    b1 = cy - a10 * cx - a11 * cy - dy
    zeros = tf.zeros_like(a00)
    transforms = tf.stack([a00, a01, b0, a10, a11, b1, zeros, zeros], axis=1)
    jittered = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT",
    )
    return tf.ensure_shape(jittered, images.shape)


def _check_amounts(**amounts):
    for flag, value in amounts.items():
        if not 0 <= value <= 1:
            raise ConfigError(f"{flag} must be in [0, 1]. Received: {flag}={value}")


def augment_batches(batches, *, shift=0.1, zoom=0.1, rotation=0.025, shear=0.1, seed=0):
    """Random affine jitter of every image of a batched ``(images, labels)`` dataset (training only).

    Each image gets its own random shift, zoom, rotation and shear
    (:func:`random_affine`). Labels pass unchanged, so the P x K structure of
    :func:`pk_batches` is kept; everything stays in tf.data (no NumPy), and the
    same seed gives the same sequence of epochs.

    Args:
        batches: a batched dataset of ``(images[batch, height, width, channels], labels)``.
        shift: largest shift along each axis, as a fraction of the side.
        zoom: largest scale change: the scale is ``exp(u)``, ``u`` in ``[-zoom, zoom]``.
        rotation: largest rotation, as a fraction of a full turn.
        shear: largest horizontal shear factor.
        seed: random seed.

    Returns:
        A dataset like ``batches`` (same cardinality) with jittered float32 images.
    """
    amounts = {"shift": shift, "zoom": zoom, "rotation": rotation, "shear": shear}
    _check_amounts(**amounts)
    if not isinstance(batches, tf.data.Dataset):
        raise ConfigError(f"augment_batches needs a batched tf.data.Dataset. Received: {type(batches).__name__}")

    cardinality = int(batches.cardinality())
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    seeds = seeds.map(lambda pair: tf.cast(pair, tf.int64))
    jittered = tf.data.Dataset.zip(batches, seeds).map(
        lambda batch, pair: (random_affine(batch[0], pair, **amounts), batch[1]),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
    )
    if cardinality >= 0:
        jittered = jittered.apply(tf.data.experimental.assert_cardinality(cardinality))
    return jittered.prefetch(tf.data.AUTOTUNE)
