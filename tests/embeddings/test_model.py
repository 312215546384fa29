import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit.embeddings import NegativeSamplingLoss, Word2Vec
from dlkit.embeddings.training import sparse_sgd_step
from dlkit.errors import ConfigError


def batch(architecture="skipgram"):
    rng = np.random.default_rng(1)
    inputs = rng.integers(0, 20, size=(32,) if architecture == "skipgram" else (32, 4)).astype(np.int32)
    if architecture == "cbow":
        inputs[:, -1] = -1  # padding
    candidates = rng.integers(0, 20, size=(32, 4)).astype(np.int32)
    weights = (rng.random((32, 4)) > 0.1).astype(np.float32)
    weights[:, 0] = 1
    return inputs, candidates, weights


def randomize(model):
    rng = np.random.default_rng(2)
    model.target.embeddings.assign(rng.normal(size=(20, 8)).astype(np.float32) * 0.3)
    model.context.embeddings.assign(rng.normal(size=(20, 8)).astype(np.float32) * 0.3)


@pytest.mark.parametrize("architecture", ["skipgram", "cbow"])
def test_logits_are_dot_products(architecture):
    model = Word2Vec(20, 8, architecture)
    model.build()
    randomize(model)
    inputs, candidates, _ = batch(architecture)
    target, context = model.target.embeddings.numpy(), model.context.embeddings.numpy()
    if architecture == "skipgram":
        vectors = target[inputs]
    else:
        vectors = np.stack([target[row[row >= 0]].mean(axis=0) for row in inputs])
    expected = np.einsum("bd,bcd->bc", vectors, context[candidates])
    np.testing.assert_allclose(model((inputs, candidates)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_save_and_load_give_identical_predictions(tmp_path):
    model = Word2Vec(20, 8, "cbow")
    model.build()
    randomize(model)
    inputs, candidates, _ = batch("cbow")
    model.save(tmp_path / "word2vec.keras")
    loaded = keras.models.load_model(tmp_path / "word2vec.keras")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded((inputs, candidates)).numpy(), model((inputs, candidates)).numpy())


def test_loss_equals_numpy_and_stays_finite():
    logits = np.array([[40.0, -40.0, 0.5], [-3.0, 2.0, 100.0]], np.float32)
    labels = np.array([[1, 0, 0], [1, 0, 0]], np.float32)
    weights = np.array([[1, 1, 0], [1, 1, 1]], np.float32)
    loss = NegativeSamplingLoss()(labels, logits, sample_weight=weights)
    x = logits.astype(np.float64)
    expected = np.sum(weights * (labels * np.logaddexp(0, -x) + (1 - labels) * np.logaddexp(0, x)))
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert NegativeSamplingLoss.from_config(NegativeSamplingLoss().get_config()).reduction == "sum"


def test_embedding_gradients_are_sparse_indexed_slices():
    model = Word2Vec(1000, 8)
    model.build()
    inputs, candidates, weights = batch()
    labels = tf.one_hot(tf.zeros(32, tf.int32), 4)
    with tf.GradientTape() as tape:
        loss = NegativeSamplingLoss()(labels, model((inputs, candidates)), sample_weight=weights)
    gradients = tape.gradient(loss, [model.target.embeddings, model.context.embeddings])
    assert all(isinstance(gradient, tf.IndexedSlices) for gradient in gradients)
    # Only the rows of the batch, not the 1000-row table.
    assert gradients[0].values.shape == (32, 8) and gradients[1].values.shape == (32 * 4, 8)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_sparse_sgd_step_equals_dense_numpy_update(jit_compile):
    model = Word2Vec(20, 8)
    model.build()
    randomize(model)
    target, context = model.target.embeddings.numpy(), model.context.embeddings.numpy()
    inputs, candidates, weights = batch()
    step = sparse_sgd_step(model, alpha=0.5, min_alpha=0.1, jit_compile=jit_compile)
    loss = step(inputs, candidates, weights, tf.constant(0.5))
    rate = 0.5 - 0.4 * 0.5
    labels = np.zeros((32, 4))
    labels[:, 0] = 1
    logits = np.einsum("bd,bcd->bc", target[inputs], context[candidates])
    error = (1 / (1 + np.exp(-logits)) - labels) * weights  # d loss / d logits
    expected_target, expected_context = target.copy(), context.copy()
    np.add.at(expected_target, inputs, -rate * np.einsum("bc,bcd->bd", error, context[candidates]))
    np.add.at(expected_context, candidates, -rate * error[:, :, None] * target[inputs][:, None, :])
    np.testing.assert_allclose(model.target.embeddings.numpy(), expected_target, atol=1e-5)
    np.testing.assert_allclose(model.context.embeddings.numpy(), expected_context, atol=1e-5)
    assert float(loss) > 0


def test_bad_sizes_raise():
    with pytest.raises(ConfigError, match="Received: vocabulary_size=0"):
        Word2Vec(0, 8)
    with pytest.raises(ConfigError, match="architecture"):
        Word2Vec(5, 8, "glove")


def test_cbow_context_words_get_the_full_gradient_like_word2vec():
    model = Word2Vec(20, 8, "cbow")
    model.build()
    randomize(model)
    inputs, candidates, weights = batch("cbow")
    labels = tf.one_hot(tf.zeros(32, tf.int32), 4)
    with tf.GradientTape() as tape:
        loss = NegativeSamplingLoss()(labels, model((inputs, candidates)), sample_weight=weights)
    gradient = tf.convert_to_tensor(tape.gradient(loss, model.target.embeddings)).numpy()
    logits = model((inputs, candidates)).numpy()
    error = (1 / (1 + np.exp(-logits)) - labels.numpy()) * weights
    hidden_gradient = np.einsum("bc,bcd->bd", error, model.context.embeddings.numpy()[candidates])
    expected = np.zeros((20, 8))
    for row, words in enumerate(inputs):
        for word in words[words >= 0]:
            expected[word] += hidden_gradient[row]  # not divided by the number of context words
    np.testing.assert_allclose(gradient, expected, atol=1e-5)
