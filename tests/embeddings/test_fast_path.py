"""Shared negatives (the fast path) against exact per-pair negatives, and the shared step against NumPy."""

import numpy as np
import pytest
from gensim.test.utils import datapath

from dlkit.embeddings import Word2Vec, read_corpus, shared_negatives_step, train_word2vec
from dlkit.errors import ConfigError


def wordsim(result):
    return result.vectors.evaluate_word_pairs(datapath("wordsim353.tsv"))["spearman"]


def test_shared_and_exact_negatives_give_vectors_of_comparable_quality():
    # Whole head500, a short run (2 epochs at twice gensim's alpha, dim 50): seconds, and both modes learn. At this
    # alpha the default batch (4096 pairs in groups of 1024) diverges: one negative row takes up to 4096 pairs'
    # updates, so the short run takes batches of one group.
    sentences = read_corpus("head500")
    settings = dict(dim=50, epochs=2, alpha=0.05, seed=0, batch_size=1024)
    shared = train_word2vec(sentences, negatives="shared", **settings)
    exact = train_word2vec(sentences, negatives="exact", **settings)
    # Seeds 0, 1, 2 gave WordSim-353 Spearman shared 0.529 / 0.547 / 0.470, exact 0.349 / 0.354 / 0.301:
    # sharing never did worse; the bound lets it fall 0.05 below exact before failing (0.22 of headroom).
    assert wordsim(shared) > wordsim(exact) - 0.05
    assert wordsim(exact) > 0.2
    assert shared.losses[-1] < shared.losses[0]
    assert shared.examples == pytest.approx(exact.examples, rel=0.01)  # the same pairs, drawn two ways


def test_shared_step_equals_a_numpy_reference():
    model = Word2Vec(12, 4, seed=1)
    model.build()
    rng = np.random.default_rng(0)
    model.context.embeddings.assign(rng.normal(size=(12, 4)).astype(np.float32) * 0.3)
    target, context = model.target.embeddings.numpy().copy(), model.context.embeddings.numpy().copy()
    centers = np.array([[1, 2, 2, 5, 1, 6]], np.int32)
    contexts = np.array([[3, 4, 7, 3, 9, 2]], np.int32)
    weights = np.array([[1, 1, 1, 0, 1, 1]], np.float32)  # the fourth pair is padding
    # Two groups of three pairs, each with its own negatives; 7 is the third pair's context (an accidental hit), and
    # both groups draw 2 (their updates to row 2 of the context table add up).
    negatives = np.array([[[7, 2], [2, 11]]], np.int32)
    rate = 0.5
    loss = float(shared_negatives_step(model)(centers, contexts, weights, negatives, np.array([rate], np.float32)))

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    expected_loss = 0.0
    new_target, new_context = target.copy(), context.copy()
    for index, (center, word, weight) in enumerate(zip(centers[0], contexts[0], weights[0])):
        if weight == 0:
            continue
        h = target[center]
        score = h @ context[word]
        expected_loss += np.log1p(np.exp(-score))
        new_target[center] -= rate * (sigmoid(score) - 1) * context[word]
        new_context[word] -= rate * (sigmoid(score) - 1) * h
        for negative in negatives[0, index // 3]:
            if negative == word:
                continue
            score = h @ context[negative]
            expected_loss += np.log1p(np.exp(score))
            new_target[center] -= rate * sigmoid(score) * context[negative]
            new_context[negative] -= rate * sigmoid(score) * h
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    np.testing.assert_allclose(model.target.embeddings.numpy(), new_target, atol=1e-6)
    np.testing.assert_allclose(model.context.embeddings.numpy(), new_context, atol=1e-6)


def test_shared_negatives_refuse_cbow_and_unknown_modes():
    sentences = [["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]] * 20
    with pytest.raises(ConfigError, match="negatives='shared', architecture='cbow'"):
        train_word2vec(sentences, min_count=1, architecture="cbow", negatives="shared")
    with pytest.raises(ConfigError, match="Received: negatives='fast'"):
        train_word2vec(sentences, min_count=1, negatives="fast")
