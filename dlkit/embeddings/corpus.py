"""Corpus readers: text files and folders, gensim's bundled corpora, TFDS text sets.

A corpus is a list of sentences, each a list of string tokens. Windows never
cross a sentence boundary, so a reader keeps the sentence (line) structure of
the source; very long lines (free text without line breaks) are cut into
pieces of ``max_sentence_length`` tokens, as gensim's ``LineSentence`` does.
"""

import os
import pathlib
import re
import socket

from dlkit.errors import ConfigError, DatasetError

# Corpora shipped inside the gensim package (gensim/test/test_data), usable offline.
BUNDLED = {
    "head500": "head500.noblanks.cor",  # first 500 KB of text8 (Wikipedia), 331k words
    "lee": "lee.cor",
    "lee_background": "lee_background.cor",
    "crime_and_punishment": "crime-and-punishment.txt",
}

# Letters and digits, with inner apostrophes or hyphens kept ("don't", "south-west").
_TOKEN = re.compile(r"\w+(?:['’\-]\w+)*", re.UNICODE)


def tokenize(text, lowercase=True):
    """Splits text into word tokens.

    Args:
        text: a string.
        lowercase: whether to lowercase the tokens.

    Returns:
        A list of strings: runs of letters/digits with inner apostrophes or
        hyphens; punctuation is dropped.
    """
    if lowercase:
        text = text.lower()
    return _TOKEN.findall(text)


def bundled_path(name):
    """Returns the path of a gensim bundled corpus (``head500``, ``lee`` ...)."""
    if name not in BUNDLED:
        raise ConfigError(f"Unknown bundled corpus; choose one of {sorted(BUNDLED)}. Received: {name!r}")
    from gensim.test.utils import datapath

    return pathlib.Path(datapath(BUNDLED[name]))


def read_corpus(source, *, tokenizer=tokenize, max_sentence_length=10000, data_dir=None, split="train"):
    """Reads a corpus as a list of token lists (one per line/sentence).

    Args:
        source: a bundled corpus name (see ``BUNDLED``, e.g. ``"head500"``), a
            path to a text file, a folder (every ``*.txt``/``*.cor`` file in it,
            recursively, in sorted order), or ``"tfds:<name>"`` for a TFDS text
            set (its first text feature; needs the prepared data in
            ``data_dir`` or the network).
        tokenizer: callable ``str -> list[str]``.
        max_sentence_length: longer lines are cut into pieces of this length.
        data_dir: TFDS data folder.
        split: TFDS split.

    Returns:
        A list of sentences, each a non-empty list of tokens.

    Raises:
        DatasetError: the source does not exist, has no tokens, or a TFDS set
            cannot be downloaded.
    """
    if max_sentence_length < 1:
        raise ConfigError(f"max_sentence_length must be >= 1. Received: max_sentence_length={max_sentence_length}")
    source = str(source)
    if source in BUNDLED:
        lines = _read_lines([bundled_path(source)])
    elif source.startswith("tfds:"):
        lines = _tfds_lines(source[len("tfds:"):], split=split, data_dir=data_dir)
    else:
        path = pathlib.Path(source).expanduser()
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".txt", ".cor", ".text"))
            if not files:
                raise DatasetError(f"Corpus folder has no .txt/.cor files. Received: {source}")
        elif path.is_file():
            files = [path]
        else:
            raise DatasetError(
                "Corpus not found: give a text file, a folder of .txt files, a bundled name "
                f"({', '.join(sorted(BUNDLED))}) or tfds:<name>. Received: {source}"
            )
        lines = _read_lines(files)
    sentences = split_sentences((tokenizer(line) for line in lines), max_sentence_length)
    if not sentences:
        raise DatasetError(f"Corpus has no tokens. Received: {source}")
    return sentences


def split_sentences(token_lists, max_sentence_length=10000):
    """Drops empty token lists and cuts long ones into ``max_sentence_length`` pieces."""
    sentences = []
    for tokens in token_lists:
        for start in range(0, len(tokens), max_sentence_length):
            sentences.append(list(tokens[start:start + max_sentence_length]))
    return sentences


def _read_lines(files):
    lines = []
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines.extend(handle)
        except OSError as error:
            raise DatasetError(f"Cannot read corpus file ({error.strerror}). Received: {path}") from error
    return lines


def network_available(host="storage.googleapis.com", port=443, timeout=2.0):
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tfds_lines(name, split, data_dir):
    """Yields the first text feature of every example of a TFDS set."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # tfds raises its own DatasetNotFoundError and others
        raise DatasetError(f"Unknown TFDS dataset: {error}. Received: tfds:{name}") from error
    prepared = os.path.isdir(builder.data_dir) and any(pathlib.Path(builder.data_dir).glob("*.tfrecord*"))
    if not prepared and not network_available():
        # tfds.load would retry for minutes before failing; fail fast instead.
        raise DatasetError(
            f"TFDS dataset {name!r} is not prepared in {data_dir or '~/tensorflow_datasets'} and the network "
            "is unreachable: download it once with network access, or use a local corpus. "
            f"Received: tfds:{name}"
        )
    dataset = tfds.load(name, split=split, data_dir=data_dir)
    features = builder.info.features
    text_keys = [key for key, feature in features.items() if isinstance(feature, tfds.features.Text)]
    if not text_keys:
        raise DatasetError(f"TFDS dataset has no text feature. Received: tfds:{name}")
    key = text_keys[0]
    lines = []
    for example in tfds.as_numpy(dataset):
        value = example[key]
        lines.append(value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value))
    return lines
