import collections

import numpy as np
import pytest
from gensim.models import Word2Vec as GensimWord2Vec

from dlkit.embeddings import Vocabulary, read_corpus, subsample
from dlkit.errors import ConfigError, DatasetError


@pytest.fixture(scope="module")
def head500():
    return read_corpus("head500")


def test_ids_sorted_by_frequency_with_counts(head500):
    vocabulary = Vocabulary.build(head500, min_count=5)
    counter = collections.Counter(word for sentence in head500 for word in sentence)
    expected = {word: count for word, count in counter.items() if count >= 5}
    assert dict(zip(vocabulary.words, vocabulary.counts.tolist())) == expected
    assert np.all(np.diff(vocabulary.counts) <= 0)
    assert vocabulary.total_words == sum(counter.values())
    assert [vocabulary.index[word] for word in vocabulary.words] == list(range(len(vocabulary)))


def test_max_size_keeps_most_frequent():
    sentences = [["a"] * 5 + ["b"] * 4 + ["c"] * 3]
    vocabulary = Vocabulary.build(sentences, min_count=1, max_size=2)
    assert vocabulary.words == ["a", "b"]
    ids, sentence_ids = vocabulary.encode([["c", "b", "a", "zzz", "a"]])
    assert ids.tolist() == [1, 0, 0] and sentence_ids.tolist() == [0, 0, 0]


def test_nothing_above_min_count_is_a_clear_error():
    with pytest.raises(DatasetError, match="min_count=5.*Received"):
        Vocabulary.build([["one", "two", "two"]], min_count=5)
    with pytest.raises(ConfigError, match="Received: min_count=0"):
        Vocabulary(min_count=0)


def test_keep_probabilities_equal_formula_and_gensim(head500):
    vocabulary = Vocabulary.build(head500, min_count=5)
    keep = vocabulary.keep_probabilities(1e-3)
    threshold = 1e-3 * vocabulary.counts.sum()
    for count, probability in zip(vocabulary.counts[:50], keep[:50]):
        assert probability == pytest.approx(min(1.0, (np.sqrt(count / threshold) + 1) * threshold / count), rel=1e-12)
    gensim = GensimWord2Vec(min_count=5, sample=1e-3, sg=1)
    gensim.build_vocab(head500)
    reference = np.array([gensim.wv.get_vecattr(word, "sample_int") / 2**32 for word in vocabulary.words])
    np.testing.assert_allclose(keep, reference, atol=1e-9)
    assert keep.min() < 0.7 and keep.max() == 1.0
    np.testing.assert_array_equal(vocabulary.keep_probabilities(0), np.ones(len(vocabulary)))


def test_subsampling_keeps_words_at_their_probability(head500):
    vocabulary = Vocabulary.build(head500, min_count=5)
    ids, sentence_ids = vocabulary.encode(head500)
    keep = vocabulary.keep_probabilities(1e-3)
    kept, kept_sentences = subsample(ids, sentence_ids, keep, seed=[3, 4])
    kept = kept.numpy()
    assert len(kept) == len(kept_sentences)
    observed = np.bincount(kept, minlength=len(vocabulary))[:20]
    expected = vocabulary.counts[:20] * keep[:20]
    # Binomial counts: within 5 standard deviations of their mean.
    sigma = np.sqrt(vocabulary.counts[:20] * keep[:20] * (1 - keep[:20])) + 1
    assert np.all(np.abs(observed - expected) < 5 * sigma)
