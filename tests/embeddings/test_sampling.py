import numpy as np
import pytest
from scipy import stats

from dlkit.embeddings import (
    NegativeSampler,
    cbow_examples,
    epoch_skipgram_pairs,
    make_dataset,
    skipgram_pairs,
)
from dlkit.embeddings.sampling import _alias_tables, chunk_bounds, make_chunks
from dlkit.errors import ConfigError

IDS = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7], np.int32)
SENTENCES = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2], np.int32)


def brute_force_pairs(ids, sentences, window):
    pairs = []
    for i in range(len(ids)):
        for j in range(i - window, i + window + 1):
            if j != i and 0 <= j < len(ids) and sentences[j] == sentences[i]:
                pairs.append((int(ids[i]), int(ids[j])))
    return pairs


@pytest.mark.parametrize("window", [1, 2, 5])
def test_skipgram_pairs_equal_brute_force_with_fixed_windows(window):
    centers, contexts = skipgram_pairs(IDS, SENTENCES, window=window, shrink=False)
    assert list(zip(centers.numpy().tolist(), contexts.numpy().tolist())) == brute_force_pairs(IDS, SENTENCES, window)


@pytest.mark.parametrize("window", [1, 2, 5, 20])
def test_numpy_epoch_pairs_equal_brute_force_with_fixed_windows(window):
    keep_all = np.ones(10)
    centers, contexts = epoch_skipgram_pairs(IDS, SENTENCES, keep_all, window, np.random.default_rng(0),
                                             shrink=False, shuffle=False)
    assert sorted(zip(centers.tolist(), contexts.tolist())) == sorted(brute_force_pairs(IDS, SENTENCES, window))


def test_numpy_epoch_pairs_equal_a_python_loop_over_the_same_draws():
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 30, 400).astype(np.int32)
    sentences = np.sort(rng.integers(0, 40, 400)).astype(np.int32)
    keep = rng.uniform(0.3, 1.0, 30)
    centers, contexts = epoch_skipgram_pairs(ids, sentences, keep, 4, np.random.default_rng(9))
    # The same draws in the same order: keep each token, then an effective window per kept token.
    draws = np.random.default_rng(9)
    kept = draws.random(len(ids)) < keep[ids]
    ids, sentences = ids[kept], sentences[kept]
    reduced = draws.integers(1, 5, len(ids))
    expected = [(int(ids[i]), int(ids[j])) for i in range(len(ids)) for j in range(len(ids))
                if j != i and abs(j - i) <= reduced[i] and sentences[j] == sentences[i]]
    assert sorted(zip(centers.tolist(), contexts.tolist())) == sorted(expected)
    assert list(zip(centers.tolist(), contexts.tolist())) != expected  # shuffled


def test_numpy_negatives_follow_counts_to_the_075_chi_square():
    counts = np.array([5000, 1200, 800, 300, 90, 40, 12, 5, 5, 1])
    draws = NegativeSampler(counts).sample_numpy((400, 1000), np.random.default_rng(3))
    assert draws.shape == (400, 1000) and draws.dtype == np.int32
    observed = np.bincount(draws.ravel(), minlength=len(counts))
    expected = counts**0.75 / np.sum(counts**0.75) * draws.size
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_cbow_examples_equal_brute_force_windows():
    contexts, centers = cbow_examples(IDS, SENTENCES, window=2, shrink=False)
    expected = []
    for i in range(len(IDS)):
        row = [int(IDS[j]) if 0 <= j < len(IDS) and SENTENCES[j] == SENTENCES[i] else -1
               for j in (i - 2, i - 1, i + 1, i + 2)]
        expected.append(row)
    assert contexts.numpy().tolist() == expected
    assert centers.numpy().tolist() == IDS.tolist()


def test_shrinking_windows_draw_distances_like_word2vec():
    # Effective window b uniform in [1, W]: a context at distance k is used with probability (W - k + 1) / W.
    ids = np.arange(20000, dtype=np.int32)
    centers, contexts = skipgram_pairs(ids, np.zeros_like(ids), window=5, seed=[1, 2])
    distances = np.abs(contexts.numpy() - centers.numpy())
    observed = np.bincount(distances, minlength=6)[1:]
    expected = 2 * 20000 * (5 - np.arange(1, 6) + 1) / 5
    expected = expected / expected.sum() * observed.sum()
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    fixed = set(brute_force_pairs(ids[:300], np.zeros(300), 5))
    small_c, small_x = skipgram_pairs(ids[:300], np.zeros(300, np.int32), window=5, seed=[5, 6])
    assert set(zip(small_c.numpy().tolist(), small_x.numpy().tolist())) < fixed


def test_alias_tables_reproduce_probabilities_exactly():
    probabilities = np.random.default_rng(0).dirichlet(np.ones(50) * 0.3)
    accept, alias = _alias_tables(probabilities)
    rebuilt = accept.copy()
    np.add.at(rebuilt, alias, 1.0 - accept)
    np.testing.assert_allclose(rebuilt / len(probabilities), probabilities, atol=1e-12)


def test_negatives_follow_counts_to_the_075_chi_square():
    counts = np.array([5000, 1200, 800, 300, 90, 40, 12, 5, 5, 1])
    sampler = NegativeSampler(counts)
    draws = sampler.sample([400000], seed=[7, 8]).numpy()
    observed = np.bincount(draws, minlength=len(counts))
    expected = counts**0.75 / np.sum(counts**0.75) * len(draws)
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    # ... and not from the raw counts.
    raw = counts / counts.sum() * len(draws)
    assert stats.chisquare(observed, raw).pvalue < 1e-12


def test_accidental_hits_get_zero_weight():
    sampler = NegativeSampler([10, 9])
    positives = np.array([0, 1] * 500, np.int32)
    candidates, weights = sampler.candidates(positives, 5, seed=[1, 1])
    candidates, weights = candidates.numpy(), weights.numpy()
    assert np.all(candidates[:, 0] == positives) and np.all(weights[:, 0] == 1)
    hits = candidates[:, 1:] == positives[:, None]
    assert hits.sum() > 1000  # two words: hits are common here
    np.testing.assert_array_equal(weights[:, 1:], (~hits).astype(np.float32))


def test_dataset_batches_cover_an_epoch_with_monotone_progress():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 30, 3000).astype(np.int32)
    sentences = np.repeat(np.arange(30), 100).astype(np.int32)
    sampler = NegativeSampler(np.bincount(ids, minlength=30))
    keep = np.ones(30)
    dataset = make_dataset(ids, sentences, keep, sampler, window=3, negative=4, epochs=2, batch_size=512,
                           chunk_size=1000, shrink=False)
    batches = list(dataset)
    assert all(batch[1].shape[1] == 5 and batch[0].shape[0] == batch[1].shape[0] <= 512 for batch in batches)
    progress = np.array([float(batch[3]) for batch in batches])
    assert np.all(np.diff(progress) >= 0) and progress[0] == 0 and progress[-1] < 1
    total = sum(int(batch[0].shape[0]) for batch in batches)
    assert total == 2 * len(brute_force_pairs(ids, sentences, 3))
    # The positive of every pair is a real context of its center.
    first = batches[0]
    fixed = set(brute_force_pairs(ids, sentences, 3))
    assert all((int(c), int(x)) in fixed for c, x in zip(first[0].numpy(), first[1].numpy()[:, 0]))


def test_chunks_are_cut_at_sentence_boundaries():
    sentences = np.repeat(np.arange(10), 7)
    bounds = chunk_bounds(sentences, 20)
    assert bounds[0, 0] == 0 and bounds[-1, 1] == 70
    assert all(sentences[start] != sentences[start - 1] for start in bounds[1:, 0])
    chunks = list(make_chunks(np.zeros(70, np.int32), sentences.astype(np.int32), np.ones(1),
                              NegativeSampler([1]), window=2, shrink=False, chunk_size=20))
    assert sum(int(chunk[0].shape[0]) for chunk in chunks) == len(brute_force_pairs(np.zeros(70), sentences, 2))


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match="Received"):
        NegativeSampler([])
    with pytest.raises(ConfigError, match="architecture"):
        make_dataset(IDS, SENTENCES, np.ones(10), NegativeSampler(np.ones(10)), architecture="glove")
