"""tokenize and WordVocabulary: tokens, ids, JSON round trip, errors."""

import collections

import numpy as np
import pytest

from dlkit.errors import ConfigError
from dlkit.sequence import WordVocabulary, tokenize


def test_tokenize_keeps_inner_hyphens_and_apostrophes():
    assert tokenize("Mr O'Brien said it's 4:00pm, south-west of Sydney.") == [
        "Mr", "O'Brien", "said", "it's", "4", ":", "00pm", ",", "south-west", "of", "Sydney", "."]
    assert tokenize('  "Yes"  -- no ') == ['"', "Yes", '"', "-", "-", "no"]
    assert tokenize("") == [] and tokenize("Zoë’s café") == ["Zoë’s", "café"]
    with pytest.raises(ConfigError, match="must be a string"):
        tokenize(["a"])


def test_word_vocabulary_orders_by_count_and_round_trips(tmp_path):
    sentences = [["the", "cat", "sat"], ["the", "dog", "sat"], ["the", "end"]]
    vocabulary = WordVocabulary.from_tokens(sentences, min_count=2)
    assert vocabulary.words == ["the", "sat"] and vocabulary.size == 4 and len(vocabulary) == 4
    assert "the" in vocabulary and "cat" not in vocabulary
    ids = vocabulary.encode(["the", "cat", "sat"])
    assert ids.dtype == np.int32 and list(ids) == [2, 1, 3]
    assert vocabulary.decode([0, 2, 1, 3, 0]) == ["the", "<unk>", "sat"]
    flat = WordVocabulary.from_tokens(["b", "a", "b", "c", "a"])
    assert flat.words == ["a", "b", "c"]  # ties alphabetical
    counted = WordVocabulary.from_counts(collections.Counter({"x": 5, "y": 3, "z": 1}), max_size=2)
    assert counted.words == ["x", "y"]
    assert WordVocabulary.from_json(vocabulary.to_json()) == vocabulary
    vocabulary.save(tmp_path / "vocabulary.json")
    loaded = WordVocabulary.load(tmp_path / "vocabulary.json")
    assert loaded == vocabulary and list(loaded.encode(["sat", "?"])) == [3, 1]
    assert loaded != WordVocabulary(["the", "sat", "mat"])
    unicode = WordVocabulary(["naïve", "café"])
    assert WordVocabulary.from_json(unicode.to_json()).decode(unicode.encode(["café"])) == ["café"]


def test_word_vocabulary_errors(tmp_path):
    vocabulary = WordVocabulary(["a", "b"])
    with pytest.raises(ConfigError, match="tokenize"):
        vocabulary.encode("a b")
    with pytest.raises(ConfigError, match=r"Received: ids from 0 to 4"):
        vocabulary.decode([0, 4])
    with pytest.raises(ConfigError, match="must not repeat"):
        WordVocabulary(["a", "b", "a"])
    with pytest.raises(ConfigError, match="non-empty strings"):
        WordVocabulary(["a", ""])
    with pytest.raises(ConfigError, match="min_count=3"):
        WordVocabulary.from_tokens(["a", "b"], min_count=3)
    with pytest.raises(ConfigError, match="not a dlkit word vocabulary"):
        WordVocabulary.from_json('{"format": "dlkit.CharVocabulary", "chars": "ab"}')
    with pytest.raises(ConfigError, match="cannot read the vocabulary file"):
        WordVocabulary.load(tmp_path / "missing.json")
