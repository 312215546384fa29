"""Character vocabulary, language-model windows, bits per character against NumPy, compressor figures."""

import bz2

import numpy as np
import pytest

from dlkit.errors import ConfigError
from dlkit.sequence import (
    CharVocabulary,
    bits_per_character,
    compressor_bits_per_character,
    language_model,
    language_model_batches,
)
from dlkit.sequence.text import split_text

ENGLISH = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it "
    "was the season of Darkness, it was the spring of hope, it was the winter of despair, we had everything "
    "before us, we had nothing before us, we were all going direct to Heaven, we were all going direct the "
    "other way. "
)


def test_vocabulary_round_trip(tmp_path):
    vocabulary = CharVocabulary.from_text("hello world")
    assert vocabulary.chars == " dehlorw" and vocabulary.size == 10
    ids = vocabulary.encode("hello world")
    assert ids.dtype == np.int32 and ids.min() >= 2 and ids[0] == 2 + vocabulary.chars.index("h")
    assert vocabulary.decode(ids) == "hello world"
    assert list(vocabulary.encode("hex")) == [ids[0], ids[1], 1]
    assert vocabulary.decode([0, 0] + list(vocabulary.encode("hex")) + [0]) == "he\ufffd"
    assert CharVocabulary.from_json(vocabulary.to_json()) == vocabulary
    vocabulary.save(tmp_path / "vocabulary.json")
    loaded = CharVocabulary.load(tmp_path / "vocabulary.json")
    assert loaded == vocabulary and loaded.decode(ids) == "hello world"
    unicode = CharVocabulary.from_text("naïve café ☕")
    assert CharVocabulary.from_json(unicode.to_json()).decode(unicode.encode("café ☕")) == "café ☕"
    with pytest.raises(ConfigError, match="Received: ids from 0 to 10"):
        vocabulary.decode([0, 10])
    with pytest.raises(ConfigError, match="not a dlkit character vocabulary"):
        CharVocabulary.from_json('{"chars": "ab"}')
    with pytest.raises(ConfigError, match="cannot read the vocabulary file"):
        CharVocabulary.load(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="must not repeat. Received"):
        CharVocabulary("abca")
    with pytest.raises(ConfigError, match="non-empty"):
        CharVocabulary.from_text("")


def test_language_model_windows_are_shifted_by_one():
    ids = np.arange(23)
    batches = list(language_model_batches(ids, sequence_length=5, batch_size=3, shuffle=False))
    inputs = np.concatenate([np.asarray(x) for x, _ in batches])
    targets = np.concatenate([np.asarray(y) for _, y in batches])
    assert [len(x) for x, _ in batches] == [3, 1] and inputs.dtype == np.int32
    np.testing.assert_array_equal(inputs, np.arange(20).reshape(4, 5))
    np.testing.assert_array_equal(targets, inputs + 1)
    shuffled = np.concatenate([np.asarray(x) for x, _ in language_model_batches(ids, 5, 4, shuffle=True, seed=1)])
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, inputs))
    with pytest.raises(ConfigError, match="at least 6 ids"):
        language_model_batches(np.arange(5), 5, 2)
    with pytest.raises(ConfigError, match="Received: batch_size=0"):
        language_model_batches(ids, 5, 0)


def numpy_bits(model, ids):
    """Mean -log2 p(next id) from one pass of the model over the whole sequence."""
    probabilities = np.asarray(model(np.array([ids[:-1]], "int32")), np.float64)[0]
    return -np.log2(probabilities[np.arange(len(ids) - 1), ids[1:]])


def test_bits_per_character_equals_numpy_cross_entropy():
    model = language_model(7, embedding_dim=4, units=6, cell="lstm", num_layers=2)
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(rng.normal(scale=0.7, size=weight.shape).astype("float32"))
    ids = rng.integers(0, 7, size=41)
    # One stream, states chained across 5 windows of 8 steps: exactly one pass over the text.
    np.testing.assert_allclose(bits_per_character(model, ids, sequence_length=8, batch_size=1),
                               numpy_bits(model, ids).mean(), rtol=1e-5)
    # Three streams of 14, 14 and 12 predictions, each one pass from zero states.
    streams = [numpy_bits(model, ids[start:start + 15]) for start in (0, 14, 28)]
    np.testing.assert_allclose(bits_per_character(model, ids, sequence_length=4, batch_size=3),
                               np.concatenate(streams).mean(), rtol=1e-5)


def test_a_uniform_model_costs_log2_of_the_vocabulary():
    model = language_model(16, embedding_dim=3, units=3, cell="simple")
    predictions = model.get_layer("predictions")
    predictions.set_weights([np.zeros_like(weight) for weight in predictions.get_weights()])
    assert bits_per_character(model, np.arange(16).repeat(2), sequence_length=5, batch_size=2) == pytest.approx(4.0)
    with pytest.raises(ConfigError, match="Received: ids from 0 to 16"):
        bits_per_character(model, np.arange(17))


def test_compressor_figures():
    figures = compressor_bits_per_character(ENGLISH * 4)
    assert set(figures) == {"bzip2", "xz", "gzip"}
    assert all(0 < value < 8 for value in figures.values())
    assert figures["bzip2"] == pytest.approx(8 * len(bz2.compress((ENGLISH * 4).encode(), 9)) / len(ENGLISH * 4))
    letters = "".join(np.random.default_rng(0).choice(list("abcdefghijklmnopqrstuvwxyz "), size=len(ENGLISH) * 4))
    noise = compressor_bits_per_character(letters)
    # Random letters cannot go below their entropy, log2(27) = 4.75 bits; English repeats and compresses far better.
    assert min(noise.values()) > 4.5 and max(figures.values()) < min(noise.values())
    with pytest.raises(ConfigError):
        compressor_bits_per_character("")


def test_compressors_on_news_text():
    utils = pytest.importorskip("gensim.test.utils")
    with open(utils.datapath("lee_background.cor"), encoding="utf-8") as handle:
        text = handle.read(30000)
    figures = compressor_bits_per_character(text)
    # Measured 2.98 / 3.18 / 3.32: English news compresses to about 3 bits a character, bzip2 best.
    assert 2.0 < figures["bzip2"] < 3.5 and figures["bzip2"] < figures["gzip"] < 4.0


def test_split_keeps_the_parts_apart():
    text = "".join(chr(97 + index % 26) * 1000 for index in range(400))  # 400,000 characters
    train, dev, test = split_text(text, None)
    assert (len(train), len(dev), len(test)) == (360_000, 20_000, 20_000)
    assert train + dev + test != text and sorted(train + dev + test) == sorted(text)
    names = [f"n{index}" for index in range(100)]
    parts = split_text(None, names)
    seen = [set(part.split()) for part in parts]
    assert [len(part) for part in seen] == [90, 5, 5] and not (seen[0] & seen[1] or seen[0] & seen[2])
