"""Vocabulary: word counts and ids sorted by frequency."""

import collections

import numpy as np

from dlkit.errors import ConfigError, DatasetError


class Vocabulary:
    """Words seen at least ``min_count`` times, with ids sorted by frequency.

    Id 0 is the most frequent word; ties are broken by first appearance in the
    corpus, so the order is deterministic. Samplers rely on this order (the
    log-uniform sampler of the TF tutorial assumes it silently; here it is a
    documented property).

    Args:
        min_count: words seen fewer times are dropped.
        max_size: keep at most this many of the most frequent words (None: all).

    Attributes:
        words: list of words, by id.
        counts: int64 NumPy array of counts, by id.
        index: dict word -> id.
        total_words: tokens in the corpus, kept or not.
    """

    def __init__(self, min_count=5, max_size=None):
        if min_count < 1:
            raise ConfigError(f"min_count must be >= 1. Received: min_count={min_count}")
        if max_size is not None and max_size < 1:
            raise ConfigError(f"max_size must be >= 1 or None. Received: max_size={max_size}")
        self.min_count = int(min_count)
        self.max_size = max_size
        self.words = []
        self.counts = np.zeros(0, np.int64)
        self.index = {}
        self.total_words = 0

    @classmethod
    def build(cls, sentences, min_count=5, max_size=None):
        """Counts the words of ``sentences`` (lists of tokens) and returns the vocabulary.

        Raises:
            DatasetError: no word occurs ``min_count`` times.
        """
        vocabulary = cls(min_count, max_size)
        counter = collections.Counter()
        for sentence in sentences:
            counter.update(sentence)
        vocabulary.total_words = int(sum(counter.values()))
        # Counter keeps first-appearance order, and sorted() is stable: ties keep it.
        kept = [(word, count) for word, count in counter.items() if count >= min_count]
        kept.sort(key=lambda item: -item[1])
        if max_size is not None:
            kept = kept[:max_size]
        if not kept:
            most = counter.most_common(1)
            raise DatasetError(
                f"No word occurs at least min_count={min_count} times in the corpus ({vocabulary.total_words} "
                "tokens); lower min_count or use a larger corpus. Received: most frequent word "
                f"{most[0] if most else None}"
            )
        vocabulary.words = [word for word, _ in kept]
        vocabulary.counts = np.array([count for _, count in kept], np.int64)
        vocabulary.index = {word: i for i, word in enumerate(vocabulary.words)}
        return vocabulary

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    @property
    def retained_words(self):
        """Tokens of the corpus whose word is in the vocabulary."""
        return int(self.counts.sum())

    def encode(self, sentences):
        """Maps sentences to ids, dropping out-of-vocabulary words.

        Returns:
            ``(ids, sentence_ids)``: two int32 arrays of equal length, the word
            ids of the kept tokens in order and the index of their sentence.
        """
        ids, sentence_ids = [], []
        index = self.index
        for number, sentence in enumerate(sentences):
            encoded = [index[word] for word in sentence if word in index]
            ids.extend(encoded)
            sentence_ids.extend([number] * len(encoded))
        return np.asarray(ids, np.int32), np.asarray(sentence_ids, np.int32)

    def keep_probabilities(self, sample=1e-3):
        """Frequent-word subsampling: the probability to keep each word, by id.

        word2vec/gensim's formula: with ``t = sample * retained_words`` and a
        word's count ``c``, keep with probability ``min(1, (sqrt(c / t) + 1) * t / c)``
        (Mikolov et al. 2013, "Distributed Representations of Words and Phrases
        and their Compositionality", in the form of the C code and gensim).

        Args:
            sample: the threshold; 0 keeps every word.
        """
        if not 0 <= sample < 1:
            raise ConfigError(f"sample must be in [0, 1). Received: sample={sample}")
        counts = self.counts.astype(np.float64)
        if sample == 0:
            return np.ones_like(counts)
        threshold = sample * counts.sum()
        return np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)
