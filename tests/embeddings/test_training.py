import keras
import numpy as np
import pytest

from dlkit.embeddings import embedding_layer, embedding_matrix, train_word2vec
from dlkit.errors import ConfigError, DatasetError

TOPICS = {"animals": [f"animal{i}" for i in range(8)], "tools": [f"tool{i}" for i in range(8)]}


def topic_corpus(sentences=600, length=12, seed=0):
    """Sentences drawn from one topic each: words of a topic share contexts."""
    rng = np.random.default_rng(seed)
    corpus, labels = [], []
    for number in range(sentences):
        label = number % 2
        words = TOPICS["animals"] if label == 0 else TOPICS["tools"]
        corpus.append(list(rng.choice(words, length)) + ["the", "a"])
        labels.append(label)
    return corpus, np.array(labels)


@pytest.fixture(scope="module")
def trained():
    corpus, _ = topic_corpus()
    # Shared negatives (the default): a negative's row gets the summed update of the batch's 256 pairs, which
    # diverges at alpha 0.05 on this 18-word vocabulary; gensim's 0.025 does not.
    return train_word2vec(corpus, dim=16, window=3, negative=3, min_count=2, sample=0, epochs=3, batch_size=256,
                          alpha=0.025)


def mean_similarity(vectors, first, second):
    return np.mean([vectors.similarity(a, b) for a in first for b in second if a != b])


def test_words_of_a_topic_end_up_together(trained):
    vectors = trained.vectors
    within = mean_similarity(vectors, TOPICS["animals"], TOPICS["animals"])
    across = mean_similarity(vectors, TOPICS["animals"], TOPICS["tools"])
    assert within > across + 0.3
    assert trained.losses[-1] < trained.losses[0]
    assert trained.train_words == 600 * 14 * 3 and trained.words_per_second > 0
    assert len(vectors) == 18 and vectors.words[:2] in (["the", "a"], ["a", "the"])


def test_cbow_trains_too():
    corpus, _ = topic_corpus(300)
    result = train_word2vec(corpus, dim=16, window=3, negative=3, min_count=2, sample=0, epochs=3,
                            architecture="cbow", batch_size=256, alpha=0.05, jit_compile=False)
    vectors = result.vectors
    assert mean_similarity(vectors, TOPICS["tools"], TOPICS["tools"]) > mean_similarity(
        vectors, TOPICS["tools"], TOPICS["animals"])


def test_nothing_above_min_count_and_bad_arguments():
    with pytest.raises(DatasetError, match="min_count=5"):
        train_word2vec([["rare", "words", "only"]] * 4, min_count=5)
    with pytest.raises(ConfigError, match="Received: window=0"):
        train_word2vec([["a", "b"]] * 10, window=0, min_count=1)


def test_embedding_matrix_rows_come_from_vectors(trained):
    vocabulary = ["", "[UNK]", "tool3", "animal1", "unseen"]
    matrix, found = embedding_matrix(trained.vectors, vocabulary)
    assert found == 2
    np.testing.assert_array_equal(matrix[2], trained.vectors["tool3"])
    np.testing.assert_array_equal(matrix[[0, 1, 4]], np.zeros((3, 16)))
    layer = embedding_layer(trained.vectors, vocabulary)
    assert not layer.trainable
    np.testing.assert_array_equal(layer.embeddings.numpy(), matrix)


def test_transfer_sentence_classifier_from_frozen_vectors(trained):
    # A new task (which topic is a sentence about?) starting from the word2vec vectors.
    sentences, labels = topic_corpus(200, length=4, seed=1)
    texts = np.array([" ".join(sentence) for sentence in sentences])
    vectorizer = keras.layers.TextVectorization(output_sequence_length=6, standardize=None)
    vectorizer.adapt(texts)
    tokens = vectorizer(texts).numpy()
    embedding = embedding_layer(trained.vectors, vectorizer.get_vocabulary(), mask_zero=True)
    before = embedding.embeddings.numpy().copy()
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.GlobalAveragePooling1D()(embedding(inputs))
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    classifier = keras.Model(inputs, outputs)
    classifier.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    classifier.fit(tokens[:150], labels[:150], epochs=15, batch_size=32, verbose=0)
    accuracy = classifier.evaluate(tokens[150:], labels[150:], verbose=0)[1]
    assert accuracy >= 0.95
    np.testing.assert_array_equal(embedding.embeddings.numpy(), before)  # frozen
