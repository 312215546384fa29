"""Characters and words as ids, language-model batches, and bits per character (with compressors as the yardstick).

::

    vocabulary = CharVocabulary.from_text(train_text)
    ids = vocabulary.encode(train_text)
    dataset = language_model_batches(ids, sequence_length=100, batch_size=64)
    ...
    bits_per_character(model, vocabulary.encode(held_out_text))   # e.g. 2.1
    compressor_bits_per_character(held_out_text)                   # {"bzip2": 2.3, "xz": 2.4, "gzip": 2.8}

A character model that does not beat bzip2 on the same text has learned
little (see the measured figures in ANCHORS.md).

Words, for taggers and word-level classifiers::

    tokens = tokenize("Mr Smith said it's 4:00pm.")   # ['Mr', 'Smith', 'said', "it's", '4', ':', '00pm', '.']
    vocabulary = WordVocabulary.from_tokens(train_tokens, min_count=2)
    vocabulary.encode(tokens)                          # int32 ids, 1 for a word the vocabulary lacks
"""

import bz2
import collections
import json
import lzma
import math
import pathlib
import re
import zlib

import numpy as np
import tensorflow as tf
from keras import ops

from dlkit import files
from dlkit.errors import ConfigError, DatasetError
from dlkit.sequence.models import _check_integer

PADDING_ID = 0
UNKNOWN_ID = 1
_FORMAT = "dlkit.CharVocabulary"
_WORD_FORMAT = "dlkit.WordVocabulary"
#: A token: a run of letters/digits (with inner hyphens or apostrophes: ``south-west``, ``it's``) or one other
#: non-space character (punctuation).
_TOKEN = re.compile(r"\w+(?:[-'\u2019]\w+)*|[^\w\s]")


class _Vocabulary:
    """What both vocabularies share: ids 0 (padding) and 1 (unknown), JSON, atomic files, equality.

    A subclass names its entries' attribute (``_entries``: ``"chars"`` or
    ``"words"``), its JSON ``_format``, ``_kind`` (for messages) and ``_unknown``
    (the default of ``unknown``).
    """

    _entries = _format = _kind = _unknown = None

    @property
    def size(self):
        """The number of ids, padding and unknown included: a model's ``vocabulary_size``."""
        return len(getattr(self, self._entries)) + 2

    def __len__(self):
        return self.size

    def _checked(self, ids):
        """``ids`` as a flat int64 array; a ``ConfigError`` for an id outside ``[0, size)``."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ConfigError(f"ids must be in [0, {self.size}). Received: ids from {ids.min()} to {ids.max()}")
        return ids

    def to_json(self):
        """A JSON string that :meth:`from_json` reads back."""
        return json.dumps({"format": self._format, self._entries: getattr(self, self._entries),
                           "unknown": self.unknown}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text):
        """The vocabulary that :meth:`to_json` wrote.

        Raises:
            ConfigError: ``text`` is not such JSON.
        """
        try:
            data = json.loads(text)
            if data.get("format") != cls._format:
                raise ValueError("wrong format")
            return cls(data[cls._entries], unknown=data.get("unknown", cls._unknown))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ConfigError(f"not a dlkit {cls._kind} vocabulary ({error}). Received: {str(text)[:80]!r}") from None

    def save(self, path):
        """Writes :meth:`to_json` to ``path`` atomically (e.g. ``vocabulary.json`` in a run folder)."""
        return files.write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path):
        """Reads a vocabulary that :meth:`save` wrote.

        Raises:
            ConfigError: the file is missing, unreadable or not a vocabulary of this kind.
        """
        try:
            text = pathlib.Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read the vocabulary file ({error}). Received: path={str(path)!r}") from None
        return cls.from_json(text)

    def __eq__(self, other):
        return type(other) is type(self) and (getattr(self, self._entries), self.unknown) == (
            getattr(other, self._entries), other.unknown)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size})"


class CharVocabulary(_Vocabulary):
    """Characters <-> ids: ``0`` is padding, ``1`` an unknown character, the characters from ``2`` on.

    Args:
        chars: the known characters, each once, in id order (id ``2 + index``).
        unknown: what :meth:`decode` writes for the unknown id.

    Raises:
        ConfigError: a character repeats, or an entry is not a single character.
    """

    _entries, _format, _kind, _unknown = "chars", _FORMAT, "character", "\ufffd"

    def __init__(self, chars, unknown="\ufffd"):
        chars = list(chars)
        if any(not isinstance(char, str) or len(char) != 1 for char in chars):
            raise ConfigError(f"chars must be single characters. Received: chars={chars[:20]!r}")
        if len(set(chars)) != len(chars):
            repeated = sorted({char for char in chars if chars.count(char) > 1})
            raise ConfigError(f"chars must not repeat. Received: repeated {repeated!r}")
        self.chars = "".join(chars)
        self.unknown = unknown
        self._ids = {char: index + 2 for index, char in enumerate(chars)}

    @classmethod
    def from_text(cls, text, unknown="\ufffd"):
        """The vocabulary of every distinct character of ``text`` (sorted by code point).

        Raises:
            ConfigError: ``text`` is empty.
        """
        if not isinstance(text, str) or not text:
            raise ConfigError(f"text must be a non-empty string. Received: text={text!r:.40}")
        return cls(sorted(set(text)), unknown=unknown)

    def encode(self, text):
        """``text`` as int32 ids ``(len(text),)``; unknown characters get id 1."""
        return np.fromiter((self._ids.get(char, UNKNOWN_ID) for char in text), dtype=np.int32, count=len(text))

    def decode(self, ids):
        """The text of ``ids`` (padding dropped, the unknown id written as ``unknown``).

        Raises:
            ConfigError: an id is outside ``[0, size)``.
        """
        ids = self._checked(ids)
        table = ["", self.unknown] + list(self.chars)
        return "".join(table[i] for i in ids)


def tokenize(text):
    """Splits ``text`` into word and punctuation tokens (no lowercasing).

    A token is a run of letters and digits, with inner hyphens and apostrophes
    kept (``south-west``, ``O'Brien``, ``it's``), or a single other non-space
    character (``,`` ``.`` ``"``). Joining the tokens with spaces loses only
    the original spacing.

    Args:
        text: a string.

    Returns:
        A list of token strings.

    Raises:
        ConfigError: ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise ConfigError(f"text must be a string. Received: text of type {type(text).__name__}")
    return _TOKEN.findall(text)


class WordVocabulary(_Vocabulary):
    """Words <-> ids: ``0`` is padding, ``1`` an unknown word, the words from ``2`` on.

    Like :class:`CharVocabulary`, for tokens (see :func:`tokenize`).

    Args:
        words: the known words, each once, in id order (id ``2 + index``).
        unknown: what :meth:`decode` writes for the unknown id.

    Raises:
        ConfigError: a word repeats, or an entry is not a non-empty string.
    """

    _entries, _format, _kind, _unknown = "words", _WORD_FORMAT, "word", "<unk>"

    def __init__(self, words, unknown="<unk>"):
        words = list(words)
        if any(not isinstance(word, str) or not word for word in words):
            bad = [word for word in words if not isinstance(word, str) or not word][:5]
            raise ConfigError(f"words must be non-empty strings. Received: {bad!r}")
        if len(set(words)) != len(words):
            repeated = sorted(word for word, count in collections.Counter(words).items() if count > 1)
            raise ConfigError(f"words must not repeat. Received: repeated {repeated[:20]!r}")
        self.words = words
        self.unknown = unknown
        self._ids = {word: index + 2 for index, word in enumerate(words)}

    @classmethod
    def from_counts(cls, counts, min_count=1, max_size=None, unknown="<unk>"):
        """The words counted at least ``min_count`` times, the most frequent first (ties alphabetical).

        Args:
            counts: ``{word: count}`` (e.g. a ``collections.Counter``).
            min_count: the fewest occurrences a word needs (>= 1).
            max_size: keep at most this many words (``size`` is 2 more), or ``None``.
            unknown: see the class.

        Raises:
            ConfigError: ``min_count`` or ``max_size`` below 1, or no word left.
        """
        min_count = _check_integer("min_count", min_count, 1)
        if max_size is not None:
            max_size = _check_integer("max_size", max_size, 1)
        words = sorted((word for word, count in counts.items() if count >= min_count),
                       key=lambda word: (-counts[word], word))
        if not words:
            raise ConfigError(f"no word occurs min_count={min_count} times or more. Received: {len(counts)} "
                              f"distinct words, the most frequent {max(counts.values(), default=0)} times")
        return cls(words[:max_size], unknown=unknown)

    @classmethod
    def from_tokens(cls, tokens, min_count=1, max_size=None, unknown="<unk>"):
        """:meth:`from_counts` of the tokens of ``tokens``: a flat list of tokens, or a list of token lists."""
        counts = collections.Counter()
        for item in tokens:
            if isinstance(item, str):
                counts[item] += 1
            else:
                counts.update(item)
        return cls.from_counts(counts, min_count=min_count, max_size=max_size, unknown=unknown)

    def __contains__(self, word):
        return word in self._ids

    def encode(self, tokens):
        """``tokens`` (a list of strings) as int32 ids ``(len(tokens),)``; unknown words get id 1.

        Raises:
            ConfigError: ``tokens`` is a single string (tokenize it first).
        """
        if isinstance(tokens, str):
            raise ConfigError(f"encode takes a list of tokens; split text with tokenize(text) first. "
                              f"Received: the string {tokens[:40]!r}")
        tokens = list(tokens)
        return np.fromiter((self._ids.get(token, UNKNOWN_ID) for token in tokens), dtype=np.int32,
                           count=len(tokens))

    def decode(self, ids):
        """The tokens of ``ids`` as a list (padding dropped, the unknown id written as ``unknown``).

        Raises:
            ConfigError: an id is outside ``[0, size)``.
        """
        ids = self._checked(ids)
        return [self.unknown if i == UNKNOWN_ID else self.words[i - 2] for i in ids if i != PADDING_ID]


def _check_ids(ids, minimum_length):
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer) or len(ids) < minimum_length:
        raise ConfigError(f"ids must be a 1-D integer array of at least {minimum_length} ids. "
                          f"Received: ids with shape {ids.shape} and dtype {ids.dtype}")
    return ids.astype(np.int32)


def language_model_batches(ids, sequence_length, batch_size, shuffle=True, seed=0):
    """Batches of ``(inputs, targets)`` windows of running text, ``targets`` the ``inputs`` shifted by one.

    Window ``w`` covers ids ``[w * L, w * L + L]`` (``L = sequence_length``):
    ``inputs = ids[w*L : w*L + L]``, ``targets = ids[w*L + 1 : w*L + L + 1]``,
    so every id after the first is a target exactly once per epoch (the
    windows overlap by the one id that is the last target of a window and the
    first input of the next). Ids left over after the last full window are
    dropped. The windows are cut inside the pipeline from one tensor of ids, so
    the corpus is not copied ``L`` times.

    Args:
        ids: 1-D int ids of the corpus (e.g. ``CharVocabulary.encode(text)``).
        sequence_length: ``L``, the window length (>= 1).
        batch_size: windows per batch (>= 1); the last batch may be smaller.
        shuffle: shuffle the windows (again at every epoch).
        seed: the shuffle's seed.

    Returns:
        A ``tf.data.Dataset`` of int32 ``((batch, L), (batch, L))``.

    Raises:
        ConfigError: sizes below 1, or fewer than ``L + 1`` ids.
    """
    sequence_length = _check_integer("sequence_length", sequence_length, 1)
    batch_size = _check_integer("batch_size", batch_size, 1)
    ids = _check_ids(ids, sequence_length + 1)
    windows = (len(ids) - 1) // sequence_length
    corpus = tf.constant(ids)

    def window(index):
        start = tf.cast(index, tf.int32) * sequence_length
        chunk = corpus[start:start + sequence_length + 1]
        return chunk[:-1], chunk[1:]

    dataset = tf.data.Dataset.range(windows)
    if shuffle:
        dataset = dataset.shuffle(windows, seed=seed, reshuffle_each_iteration=True)
    return dataset.map(window, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def bits_per_character(model, ids, sequence_length=256, batch_size=32):
    """A language model's mean cross-entropy on held-out ``ids``, in bits per id (per character).

    Every id after the first is predicted exactly once, from all the ids before
    it in its stream, by carrying the recurrent states across windows (no cold
    restart at each window): the ``len(ids) - 1`` (input, target) pairs are cut
    into ``batch_size`` contiguous streams, run side by side in chunks of
    ``sequence_length`` steps, each chunk starting from the states the previous
    chunk ended with. With ``batch_size=1`` the figure equals the cross-entropy
    of one pass of ``model`` over the whole text; with ``B`` streams only the
    first few predictions of each stream lack context (for ``B`` much smaller
    than the text this changes the figure little). Padding added to make the
    streams equal is not counted.

    Args:
        model: a recurrent language model that :class:`dlkit.sequence.Stepper`
            can carry (the builders of :mod:`dlkit.sequence.models`).
        ids: 1-D int ids of held-out text (at least 2).
        sequence_length: steps per chunk (memory, not the result).
        batch_size: number of parallel streams.

    Returns:
        A float: ``mean(-log2 p(target))``.

    Raises:
        ConfigError: bad sizes, too few ids, or a model the stepper cannot carry.
    """
    from dlkit.sequence.sampling import Stepper

    sequence_length = _check_integer("sequence_length", sequence_length, 1)
    batch_size = _check_integer("batch_size", batch_size, 1)
    ids = _check_ids(ids, 2)
    stepper = Stepper(model)
    vocabulary_size = min(stepper.vocabulary_size, stepper.input_vocabulary_size)
    if ids.min() < 0 or ids.max() >= vocabulary_size:
        raise ConfigError(f"ids must be in [0, {vocabulary_size}). Received: ids from {ids.min()} to {ids.max()}")
    pairs = len(ids) - 1
    streams = min(batch_size, pairs)
    stream_length = math.ceil(pairs / streams)
    total = streams * stream_length
    inputs = np.zeros(total, np.int32)
    targets = np.zeros(total, np.int32)
    weights = np.zeros(total, np.float32)
    inputs[:pairs], targets[:pairs], weights[:pairs] = ids[:-1], ids[1:], 1.0
    inputs, targets, weights = (array.reshape(streams, stream_length) for array in (inputs, targets, weights))
    # Whole chunks only, so the compiled step is traced for one shape: each stream gets uncounted padding at its end.
    extra = -stream_length % sequence_length
    inputs, targets, weights = (np.pad(array, ((0, 0), (0, extra))) for array in (inputs, targets, weights))
    stream_length += extra

    @tf.function(reduce_retracing=True)
    def chunk_nats(chunk_inputs, chunk_targets, chunk_weights, states):
        logits, states = stepper.run(chunk_inputs, states)
        log_probabilities = ops.log_softmax(logits, axis=-1)
        picked = ops.take_along_axis(log_probabilities, ops.expand_dims(chunk_targets, -1), axis=-1)[..., 0]
        return -ops.sum(picked * chunk_weights), states

    nats, states = 0.0, None
    for start in range(0, stream_length, sequence_length):
        window = slice(start, start + sequence_length)
        arguments = (tf.constant(inputs[:, window]), tf.constant(targets[:, window]), tf.constant(weights[:, window]))
        chunk, states = chunk_nats(*arguments, states)
        nats += float(chunk)
    return nats / pairs / math.log(2.0)


def compressor_bits_per_character(text):
    """Bits per character of ``text`` compressed by bzip2, xz and gzip at their strongest settings.

    ``8 * compressed bytes / characters`` with Python's ``bz2`` (level 9),
    ``lzma`` (xz container, preset ``9 | PRESET_EXTREME``) and ``zlib`` (deflate,
    level 9: gzip's algorithm, without its 18-byte header and trailer). The text
    is UTF-8 encoded; characters are counted as Python counts them.

    Args:
        text: a non-empty string.

    Returns:
        ``{"bzip2": float, "xz": float, "gzip": float}``.
    """
    if not isinstance(text, str) or not text:
        raise ConfigError(f"text must be a non-empty string. Received: text={text!r:.40}")
    data = text.encode("utf-8")
    sizes = {
        "bzip2": len(bz2.compress(data, compresslevel=9)),
        "xz": len(lzma.compress(data, format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME)),
        "gzip": len(zlib.compress(data, 9)),
    }
    return {name: 8.0 * size / len(text) for name, size in sizes.items()}


def right_pad(sequences):
    """Int32 ``(len(sequences), longest)`` ids: each row from the left, then ``PADDING_ID`` (0, masked) on the right."""
    import keras

    return keras.utils.pad_sequences(sequences, padding="post", dtype="int32", value=PADDING_ID)


#: Train, dev and test shares of :func:`split_text`.
SPLIT = (0.9, 0.05, 0.05)


def read_text_corpus(corpus, seed=0):
    """Reads a language model's training text: ``head500``, ``names`` or a UTF-8 text file.

    Args:
        corpus: ``"head500"`` (gensim's bundled text8 excerpt), ``"names"``
            (Faker's first names, shuffled with ``seed``) or a file path.
        seed: the shuffle of the names.

    Returns:
        ``(text, names)``: the corpus as one string (``None`` in names mode) and
        the list of names (``None`` otherwise).

    Raises:
        DatasetError: a missing, binary, non-UTF-8 or empty file.
    """
    if corpus == "names":
        from dlkit.sequence.names import first_names

        names = list(np.random.default_rng(seed).permutation(first_names()))
        return None, names
    if corpus == "head500":
        from dlkit.embeddings.corpus import bundled_path

        path = bundled_path("head500")
    else:
        path = pathlib.Path(corpus)
        if not path.is_file():
            raise DatasetError(f"Corpus not found: give head500, names or a text file. Received: --corpus {corpus}")
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise DatasetError(f"The corpus is a binary file, not text. Received: --corpus {corpus}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(f"The corpus is not UTF-8 text ({error.reason} at byte {error.start}). "
                           f"Received: --corpus {corpus}") from None
    if not text.strip():
        raise DatasetError(f"The corpus is empty. Received: --corpus {corpus}")
    return text.replace("\r\n", "\n"), None


def split_text(text, names=None, block=10_000, split=SPLIT):
    """Train, dev and test text, no character in two of them.

    Running text is cut into blocks of ``block`` characters; of every twenty
    consecutive blocks, the 19th goes to dev and the 20th to the held-out test
    (5% each with the default ``split``; ``split`` applies to names and short texts), so all three parts sample the whole corpus rather than its last
    articles only. Names are shuffled and split whole, one per line.
    """
    if names is not None:
        ends = np.cumsum([int(round(share * len(names))) for share in split[:2]])
        parts = names[:ends[0]], names[ends[0]:ends[1]], names[ends[1]:]
        # One name per line; each split starts with a newline so the first name is predicted from "start of name".
        return ["\n" + "\n".join(part) + "\n" for part in parts]
    blocks = [text[start:start + block] for start in range(0, len(text), block)]
    if len(blocks) < 20:  # a short text: cut in order, 90/5/5
        ends = [int(len(text) * split[0]), int(len(text) * (split[0] + split[1]))]
        return text[:ends[0]], text[ends[0]:ends[1]], text[ends[1]:]
    parts = ["", "", ""]
    for index, chunk in enumerate(blocks):
        parts[{18: 1, 19: 2}.get(index % 20, 0)] += chunk
    return tuple(parts)
