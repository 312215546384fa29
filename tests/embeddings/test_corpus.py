import pytest

from dlkit.embeddings import corpus, read_corpus, tokenize
from dlkit.errors import ConfigError, DatasetError


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("Hello, World! Don't stop south-west.") == ["hello", "world", "don't", "stop", "south-west"]
    assert tokenize("ABC def", lowercase=False) == ["ABC", "def"]


def test_read_file_and_folder(tmp_path):
    (tmp_path / "b.txt").write_text("The cat sat.\n\nOn the mat\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("a dog\n")
    (tmp_path / "ignored.csv").write_text("not,text\n")
    assert read_corpus(tmp_path / "b.txt") == [["the", "cat", "sat"], ["on", "the", "mat"]]
    assert read_corpus(tmp_path) == [["the", "cat", "sat"], ["on", "the", "mat"], ["a", "dog"]]
    assert read_corpus(tmp_path / "b.txt", max_sentence_length=2) == [["the", "cat"], ["sat"], ["on", "the"], ["mat"]]


def test_bundled_head500_matches_gensim_line_sentence_size():
    sentences = read_corpus("head500")
    assert len(sentences) == 250
    assert 330000 < sum(map(len, sentences)) < 332000  # gensim's LineSentence: 331,339 tokens


def test_missing_or_empty_sources_are_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="Received: .*nope"):
        read_corpus(tmp_path / "nope")
    (tmp_path / "empty.txt").write_text("... !!!\n")
    with pytest.raises(DatasetError, match="no tokens"):
        read_corpus(tmp_path / "empty.txt")
    with pytest.raises(ConfigError, match="Received"):
        corpus.bundled_path("text9")


def test_tfds_offline_fails_before_calling_tfds_load(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    def load(*args, **kwargs):  # offline, the real one retries for minutes
        raise AssertionError("tfds.load must not be called offline")

    monkeypatch.setattr(tfds, "load", load)
    monkeypatch.setattr(corpus, "network_available", lambda *args, **kwargs: False)
    with pytest.raises(DatasetError, match="imdb_reviews.*not prepared.*Received: tfds:imdb_reviews"):
        read_corpus("tfds:imdb_reviews", data_dir=str(tmp_path))


def test_tfds_text_set_reads_its_text_feature(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(corpus, "network_available", lambda *args, **kwargs: True)
    with tfds.testing.mock_data(num_examples=7):
        sentences = read_corpus("tfds:imdb_reviews", data_dir=str(tmp_path))
    # mock_data makes random strings: check the structure, one sentence per example with text.
    assert 1 <= len(sentences) <= 7 and all(isinstance(token, str) for sentence in sentences for token in sentence)
