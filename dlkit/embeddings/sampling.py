"""Training examples for word2vec, vectorized in TensorFlow (no Python loop per pair).

- ``subsample``: drop frequent words with the word2vec keep-probability.
- ``skipgram_pairs`` / ``cbow_examples``: (center, context) pairs inside
  shrinking windows (a random effective window in ``[1, window]`` per center,
  as in word2vec), never across a sentence boundary.
- ``NegativeSampler``: negatives drawn from counts**0.75 with Walker's alias
  method (exact, O(1) per draw); a negative equal to the positive (an
  "accidental hit", tensorflow #44758) gets weight 0.
- ``epoch_skipgram_pairs``: one epoch's subsampled, shuffled skip-gram pairs in
  vectorized NumPy (the fast path of ``train_word2vec``: one call per epoch, no
  per-element pipeline).
- ``make_chunks`` / ``make_dataset``: the whole pipeline as a ``tf.data.Dataset``
  over all epochs (per corpus chunk, or in batches), with stateless seeds, so a
  run is reproducible and each epoch differs.
"""

import numpy as np
import tensorflow as tf

from dlkit.errors import ConfigError


def subsample(ids, sentence_ids, keep_probabilities, seed):
    """Keeps each token with ``keep_probabilities[id]``.

    Args:
        ids: int32 tensor [N] of word ids.
        sentence_ids: int32 tensor [N], the sentence of each token.
        keep_probabilities: float tensor [V].
        seed: stateless seed, int tensor of shape [2].

    Returns:
        ``(ids, sentence_ids)`` of the kept tokens, in order.
    """
    ids = tf.convert_to_tensor(ids, tf.int32)
    draws = tf.random.stateless_uniform(tf.shape(ids), seed, dtype=tf.float64)
    keep = draws < tf.gather(tf.cast(keep_probabilities, tf.float64), ids)
    return tf.boolean_mask(ids, keep), tf.boolean_mask(sentence_ids, keep)


def _windows(ids, sentence_ids, window, seed, shrink):
    """Context ids [N, 2*window] of every position (-1 where out of window) and the mask."""
    ids = tf.convert_to_tensor(ids, tf.int32)
    sentence_ids = tf.convert_to_tensor(sentence_ids, tf.int32)
    count = tf.shape(ids)[0]
    offsets = tf.constant([d for d in range(-window, window + 1) if d != 0], tf.int32)
    if shrink:
        # word2vec draws b in [0, window) and uses window - b: an effective window in [1, window].
        reduced = tf.random.stateless_uniform([count], seed, minval=1, maxval=window + 1, dtype=tf.int32)
    else:
        reduced = tf.fill([count], tf.constant(window, tf.int32))
    positions = tf.range(count)[:, None] + offsets[None, :]
    inside = (positions >= 0) & (positions < count)
    clipped = tf.clip_by_value(positions, 0, tf.maximum(count - 1, 0))
    same_sentence = tf.gather(sentence_ids, clipped) == sentence_ids[:, None]
    near = tf.abs(offsets)[None, :] <= reduced[:, None]
    valid = inside & same_sentence & near
    contexts = tf.where(valid, tf.gather(ids, clipped), -1)
    return contexts, valid


def skipgram_pairs(ids, sentence_ids, window=5, seed=(0, 0), shrink=True):
    """All (center, context) pairs, center-major, contexts left to right.

    Args:
        ids: int32 [N] word ids (already subsampled).
        sentence_ids: int32 [N] sentence of each token.
        window: maximum distance between center and context.
        seed: stateless seed [2] for the shrinking windows.
        shrink: draw an effective window in ``[1, window]`` per center (word2vec);
            False uses ``window`` everywhere.

    Returns:
        ``(centers, contexts)``: int32 tensors [P].
    """
    ids = tf.convert_to_tensor(ids, tf.int32)
    contexts, valid = _windows(ids, sentence_ids, window, seed, shrink)
    centers = tf.broadcast_to(ids[:, None], tf.shape(contexts))
    return tf.boolean_mask(centers, valid), tf.boolean_mask(contexts, valid)


def cbow_examples(ids, sentence_ids, window=5, seed=(0, 0), shrink=True):
    """CBOW examples: the context window of every center that has one.

    Returns:
        ``(contexts, centers)``: int32 [P, 2*window] padded with -1, and int32 [P].
    """
    ids = tf.convert_to_tensor(ids, tf.int32)
    contexts, valid = _windows(ids, sentence_ids, window, seed, shrink)
    has_context = tf.reduce_any(valid, axis=1)
    return tf.boolean_mask(contexts, has_context), tf.boolean_mask(ids, has_context)


class NegativeSampler:
    """Draws negative word ids with probability proportional to ``counts ** exponent``.

    Uses Walker's alias method (Vose's construction): one uniform bucket and one
    uniform number per draw, two lookups in tables of vocabulary size, so a draw
    costs O(1) and the tables stay in cache. The distribution is exact up to
    float64 rounding, unlike word2vec's 1e8-entry unigram table.

    Args:
        counts: word counts by id.
        exponent: 0.75 in word2vec (Mikolov et al. 2013).
    """

    def __init__(self, counts, exponent=0.75):
        counts = np.asarray(counts, np.float64)
        if counts.ndim != 1 or counts.size == 0 or np.any(counts < 0) or counts.sum() <= 0:
            raise ConfigError(f"counts must be a non-empty vector of non-negative counts. Received: {counts[:5]}")
        weights = counts**exponent
        self.probabilities = weights / weights.sum()
        accept, alias = _alias_tables(self.probabilities)
        self.accept, self.alias = accept, alias
        self._accept = tf.constant(accept, tf.float64)
        self._alias = tf.constant(alias, tf.int32)
        self._size = len(accept)

    def sample(self, shape, seed):
        """Returns int32 ids of the given shape (stateless: same seed, same draws)."""
        seed = tf.convert_to_tensor(seed, tf.int64)
        buckets = tf.random.stateless_uniform(shape, seed, maxval=self._size, dtype=tf.int32)
        draws = tf.random.stateless_uniform(shape, seed + [0, 1], dtype=tf.float64)
        return tf.where(draws < tf.gather(self._accept, buckets), buckets, tf.gather(self._alias, buckets))

    def sample_numpy(self, shape, rng):
        """Returns int32 ids of the given shape drawn with a NumPy ``Generator`` (same alias tables)."""
        buckets = rng.integers(0, self._size, shape, dtype=np.int32)
        keep = rng.random(shape) < self.accept[buckets]
        return np.where(keep, buckets, self.alias[buckets]).astype(np.int32)

    def candidates(self, positives, negative, seed):
        """Positive and negatives side by side, with weights that drop accidental hits.

        Args:
            positives: int32 [B] the true context (skip-gram) or center (CBOW) ids.
            negative: negatives per positive.
            seed: stateless seed [2].

        Returns:
            ``(candidates, weights)``: int32 [B, 1 + negative] with the positive
            first, and float32 [B, 1 + negative], 0 where a negative equals its
            positive.
        """
        positives = tf.convert_to_tensor(positives, tf.int32)
        batch = tf.shape(positives)[0]
        negatives = self.sample(tf.stack([batch, negative]), seed)
        hits = tf.equal(negatives, positives[:, None])
        candidates = tf.concat([positives[:, None], negatives], axis=1)
        weights = tf.concat([tf.ones([batch, 1]), tf.cast(~hits, tf.float32)], axis=1)
        return candidates, weights


def epoch_skipgram_pairs(ids, sentence_ids, keep_probabilities, window, rng, shrink=True, shuffle=True):
    """One epoch of skip-gram pairs, vectorized in NumPy: subsampling, shrinking windows, shuffling.

    The same draws as word2vec make, per epoch: each token is kept with
    ``keep_probabilities[id]``; each kept center gets an effective window in
    ``[1, window]`` (``shrink``); its contexts are the kept tokens of its
    sentence at most that far away. The loop runs over the ``2 * window``
    offsets, not over tokens, so an epoch of a few hundred thousand tokens
    takes tens of milliseconds.

    Reference: Mikolov et al. 2013, "Distributed Representations of Words and
    Phrases and their Compositionality" (NIPS).

    Args:
        ids: int32 [N] word ids of the corpus.
        sentence_ids: int32 [N] sentence of each token.
        keep_probabilities: float [V] from ``Vocabulary.keep_probabilities``.
        window: maximum distance between center and context.
        rng: a ``numpy.random.Generator`` (one per epoch for reproducible epochs).
        shrink: draw an effective window per center (word2vec); False uses ``window``.
        shuffle: shuffle the pairs (else they come offset by offset, each
            offset's pairs in corpus order).

    Returns:
        ``(centers, contexts)``: int32 arrays [P].
    """
    if window < 1:
        raise ConfigError(f"window must be >= 1. Received: window={window}")
    ids = np.asarray(ids, np.int32)
    sentence_ids = np.asarray(sentence_ids)
    kept = rng.random(len(ids)) < np.asarray(keep_probabilities, np.float64)[ids]
    ids, sentence_ids = ids[kept], sentence_ids[kept]
    count = len(ids)
    reduced = rng.integers(1, window + 1, count) if shrink else np.full(count, window)
    centers, contexts = [], []
    for offset in range(1, min(window, max(count - 1, 0)) + 1):
        same = sentence_ids[offset:] == sentence_ids[:-offset]
        # Center at i, context at i + offset; then center at i + offset, context at i.
        right = np.flatnonzero(same & (reduced[:-offset] >= offset))
        left = np.flatnonzero(same & (reduced[offset:] >= offset))
        centers += [ids[right], ids[left + offset]]
        contexts += [ids[right + offset], ids[left]]
    if not centers:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    centers, contexts = np.concatenate(centers), np.concatenate(contexts)
    if shuffle:
        order = rng.permutation(len(centers))
        centers, contexts = centers[order], contexts[order]
    return centers, contexts


def _alias_tables(probabilities):
    """Vose's alias tables: bucket i keeps i with probability accept[i], else gives alias[i]."""
    size = len(probabilities)
    scaled = np.asarray(probabilities, np.float64) * size
    accept = np.ones(size, np.float64)
    alias = np.arange(size, dtype=np.int32)
    small = [i for i in range(size) if scaled[i] < 1.0]
    large = [i for i in range(size) if scaled[i] >= 1.0]
    while small and large:
        low, high = small.pop(), large.pop()
        accept[low], alias[low] = scaled[low], high
        scaled[high] -= 1.0 - scaled[low]
        (small if scaled[high] < 1.0 else large).append(high)
    # Leftovers are 1 up to rounding: they always keep themselves.
    return accept, alias


def chunk_bounds(sentence_ids, chunk_size):
    """Splits a token stream into chunks of about ``chunk_size`` tokens at sentence boundaries."""
    sentence_ids = np.asarray(sentence_ids)
    total = len(sentence_ids)
    if total == 0:
        return np.zeros((0, 2), np.int64)
    starts_of_sentences = np.flatnonzero(np.r_[True, sentence_ids[1:] != sentence_ids[:-1]])
    bounds, start = [], 0
    while start < total:
        end = min(start + chunk_size, total)
        if end < total:
            # Move the cut back to the start of the sentence it falls in (if that is after start).
            cut = starts_of_sentences[np.searchsorted(starts_of_sentences, end, side="right") - 1]
            end = cut if cut > start else end
        bounds.append((start, end))
        start = end
    return np.asarray(bounds, np.int64)


def make_dataset(ids, sentence_ids, keep_probabilities, sampler, *, batch_size=4096, **options):
    """The word2vec training stream over all epochs, in batches.

    Each element is ``(inputs, candidates, weights, progress)``:
    ``inputs`` int32 [B] centers (skip-gram) or [B, 2*window] contexts padded
    with -1 (CBOW); ``candidates`` int32 [B, 1 + negative], the word to predict
    first; ``weights`` float32 [B, 1 + negative]; ``progress`` float32 scalar,
    the fraction of all epochs' tokens processed before this batch (for the
    linear learning-rate decay of word2vec).

    Args:
        ids, sentence_ids: the corpus from ``Vocabulary.encode``.
        keep_probabilities: from ``Vocabulary.keep_probabilities``.
        sampler: a ``NegativeSampler``.
        batch_size: examples per batch.
        **options: ``make_chunks``'s options (window, negative, epochs, ...).
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1. Received: batch_size={batch_size}")

    def batches(inputs, candidates, weights, progress):
        # Slicing whole batches: Dataset.from_tensor_slices(...).batch() copies pair by pair, ~10x slower.
        count = tf.shape(candidates, out_type=tf.int64)[0]

        def cut(number):
            start = number * batch_size
            end = tf.minimum(start + batch_size, count)
            return inputs[start:end], candidates[start:end], weights[start:end], progress[start]

        return tf.data.Dataset.range((count + batch_size - 1) // batch_size).map(cut)

    chunks = make_chunks(ids, sentence_ids, keep_probabilities, sampler, **options)
    return chunks.flat_map(batches).prefetch(tf.data.AUTOTUNE)


def make_chunks(ids, sentence_ids, keep_probabilities, sampler, *, window=5, negative=5, epochs=1,
                architecture="skipgram", seed=0, shrink=True, shuffle=True, chunk_size=1 << 16, first_epoch=0):
    """The word2vec training examples over all epochs, one element per corpus chunk.

    Each chunk of about ``chunk_size`` tokens (cut at sentence boundaries) is
    subsampled, paired, shuffled and given negatives with stateless seeds
    derived from (seed, epoch, chunk), so a run is reproducible and every epoch
    differs. Elements are ``(inputs, candidates, weights, progress)`` as in
    ``make_dataset`` but for all examples of a chunk, with ``progress`` per example.
    ``first_epoch`` starts the stream at that epoch, with the draws an
    uninterrupted stream makes there (to resume a run).
    """
    if architecture not in ("skipgram", "cbow"):
        raise ConfigError(f"architecture must be 'skipgram' or 'cbow'. Received: architecture={architecture!r}")
    for name, value in (("window", window), ("negative", negative), ("epochs", epochs), ("chunk_size", chunk_size)):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1. Received: {name}={value}")
    ids = np.asarray(ids, np.int32)
    sentence_ids = np.asarray(sentence_ids, np.int32)
    bounds = chunk_bounds(sentence_ids, chunk_size)
    chunks = len(bounds)
    total = float(len(ids) * epochs)
    starts = np.tile(bounds[:, 0], epochs)
    ends = np.tile(bounds[:, 1], epochs)
    done = (np.arange(epochs)[:, None] * len(ids) + bounds[None, :, 0]).reshape(-1) / max(total, 1.0)
    share = np.tile(bounds[:, 1] - bounds[:, 0], epochs) / max(total, 1.0)
    numbers = np.arange(epochs * chunks, dtype=np.int64)
    if not 0 <= first_epoch <= epochs:
        raise ConfigError(f"first_epoch must be in [0, epochs]. Received: first_epoch={first_epoch}, epochs={epochs}")
    skip = first_epoch * chunks
    starts, ends, done, share, numbers = (array[skip:] for array in (starts, ends, done, share, numbers))

    ids_tensor = tf.constant(ids)
    sentences_tensor = tf.constant(sentence_ids)
    keep_tensor = tf.constant(np.asarray(keep_probabilities, np.float64))

    def chunk_examples(start, end, done, share, number):
        base = tf.stack([tf.constant(seed, tf.int64), number])
        chunk_ids, chunk_sentences = subsample(ids_tensor[start:end], sentences_tensor[start:end], keep_tensor,
                                               base + [0, 1 << 40])
        if architecture == "skipgram":
            inputs, targets = skipgram_pairs(chunk_ids, chunk_sentences, window, base + [1, 1 << 40], shrink)
        else:
            inputs, targets = cbow_examples(chunk_ids, chunk_sentences, window, base + [1, 1 << 40], shrink)
        count = tf.shape(targets)[0]
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(tf.range(count), base + [2, 1 << 40])
            inputs, targets = tf.gather(inputs, order), tf.gather(targets, order)
        candidates, weights = sampler.candidates(targets, negative, base + [3, 1 << 40])
        progress = done + share * tf.cast(tf.range(count), tf.float64) / tf.cast(tf.maximum(count, 1), tf.float64)
        return inputs, candidates, weights, tf.cast(progress, tf.float32)

    # Examples of the next chunk are made in parallel while the current one is trained on.
    dataset = tf.data.Dataset.from_tensor_slices((starts, ends, done, share, numbers))
    dataset = dataset.map(chunk_examples, num_parallel_calls=2, deterministic=True)
    return dataset.prefetch(1)
