"""``pk_batches``: P identities x K examples per batch, so every anchor has positives."""

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
