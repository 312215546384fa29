"""Offline data for a many-to-many tagger: real news sentences with person names put into them, and token F1.

gensim ships the Lee corpus (``lee_background.cor``: 300 Australian news
stories, ~60k words). :func:`name_tagging_data` cuts it into sentences and puts
person names from Faker's lists (:mod:`dlkit.sequence.names`) where news text
has them:

- after a title: ``Mr Howard`` -> ``Mr Lindqvist`` (the corpus' own surname is replaced);
- instead of a subject pronoun: ``he said`` -> ``Anneli Korhonen said``;
- in an attribution, when the sentence has no name yet: ``Smith said ...``,
  ``..., Smith said.``, ``..., said Smith.``, ``According to Smith, ...``.

Every token of a name put in is tagged ``PER``, everything else ``O``. The
stories are split into train/dev/test (no sentence in two splits) and so are
the first names and surnames (a test name was never seen in training), and no
name is a word of the corpus: a tagger with a vocabulary of the corpus' words
sees every name as the unknown word and must find names from their context.
Often only the words after a name tell (``Lindqvist said``: a sentence's first
unknown word could be anything), which is why a bidirectional tagger beats a
left-to-right one here. People the corpus itself names without a title
(``John Howard``, ``Arafat``) stay ``O``: label noise both taggers share.

::

    data = name_tagging_data(seed=0)
    tokens, tags = data.splits["train"]       # lists of token lists and of int32 tag-id arrays
    token_scores(true_tags, predicted_tags)   # {"precision", "recall", "f1", "support"} of the PER tag
"""

import dataclasses
import re

import numpy as np

from dlkit.errors import ConfigError, DatasetError
from dlkit.sequence import names as name_lists
from dlkit.sequence.text import right_pad, tokenize

#: Tag names in id order.
TAGS = ("O", "PER")
TITLES = ("Mr", "Mrs", "Ms", "Dr")
PRONOUNS = ("he", "she", "He", "She")
SPLITS = ("train", "dev", "test")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


@dataclasses.dataclass
class TaggingData:
    """What :func:`name_tagging_data` returns.

    Attributes:
        splits: ``{"train" | "dev" | "test": (tokens, tags)}``: a list of token
            lists and a list of int32 arrays of tag ids (:data:`TAGS`), one per sentence.
        original: ``{split: tokens}``: the same sentences before any name was
            put in (build a vocabulary from ``original["train"]``, so names stay unknown).
        tag_names: :data:`TAGS`.
        names: ``{split: (first names, surnames)}`` used in each split (disjoint across splits).
    """

    splits: dict
    original: dict
    tag_names: tuple
    names: dict


def lee_sentences(path=None):
    """The sentences of gensim's ``lee_background.cor``, one list per story.

    Args:
        path: another file with one story per line (default: gensim's bundled corpus).

    Returns:
        A list (stories) of lists of sentence strings.

    Raises:
        DatasetError: gensim is not installed or the file cannot be read.
    """
    if path is None:
        try:
            from gensim.test.utils import datapath
        except ModuleNotFoundError:
            raise DatasetError("The Lee corpus ships with gensim, which is not installed: pip install gensim. "
                               "Received: path=None") from None
        path = datapath("lee_background.cor")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError as error:
        raise DatasetError(f"cannot read the corpus ({error.strerror}). Received: path={str(path)!r}") from None
    return [[sentence for sentence in _SENTENCE_END.split(line) if sentence.strip()] for line in lines]


def _split_list(items, rng, fractions):
    items = list(rng.permutation(sorted(items)))
    train_end = round(fractions[0] * len(items))
    dev_end = train_end + round(fractions[1] * len(items))
    return {"train": items[:train_end], "dev": items[train_end:dev_end], "test": items[dev_end:]}


def _is_capitalized(token):
    return token[:1].isupper() and token.isalpha()


class _Inserter:
    """Puts names into one split's sentences."""

    def __init__(self, first_names, surnames, lowercase_words, rng, pronoun_probability, attribution_probability):
        self.first_names, self.surnames = first_names, surnames
        self.lowercase_words = lowercase_words
        self.rng = rng
        self.pronoun_probability = pronoun_probability
        self.attribution_probability = attribution_probability

    def _pick(self, pool):
        return str(pool[self.rng.integers(len(pool))])

    def _name(self):
        if self.rng.random() < 0.5:
            return [self._pick(self.first_names), self._pick(self.surnames)]
        return [self._pick(self.surnames)]

    def __call__(self, tokens):
        out, tags, index = [], [], 0
        while index < len(tokens):
            token = tokens[index]
            if token in TITLES and index + 1 < len(tokens) and _is_capitalized(tokens[index + 1]):
                index += 1
                while index < len(tokens) and _is_capitalized(tokens[index]):
                    index += 1  # the corpus' own name after the title: replaced
                out += [token, self._pick(self.surnames)]
                tags += [0, 1]
                continue
            if token in PRONOUNS and self.rng.random() < self.pronoun_probability:
                name = self._name()
                out += name
                tags += [1] * len(name)
                index += 1
                continue
            out.append(token)
            tags.append(0)
            index += 1
        if 1 not in tags and out and self.rng.random() < self.attribution_probability:
            out, tags = self._attribute(out, tags)
        return out, np.asarray(tags, np.int32)

    def _attribute(self, tokens, tags):
        name = self._name()
        named = [1] * len(name)
        pattern = self.rng.integers(4)
        ends = tokens[-1] in (".", "!", "?")
        body, body_tags = (tokens[:-1], tags[:-1]) if ends else (tokens, tags)
        first = tokens[0]
        # Not a proper noun (the corpus writes it in lower case somewhere): lower-case it mid-sentence.
        lowered = first.lower() if first != "I" and first.lower() in self.lowercase_words else first
        if pattern == 0:  # Smith said the ...
            return name + ["said", lowered] + tokens[1:], named + [0] + tags
        if pattern == 1:  # ..., Smith said.
            return body + [","] + name + ["said", "."], body_tags + [0] + named + [0, 0]
        if pattern == 2:  # ..., said Smith.
            return body + [",", "said"] + name + ["."], body_tags + [0, 0] + named + [0]
        return ["According", "to"] + name + [",", lowered] + tokens[1:], [0, 0] + named + [0] + tags


def name_tagging_data(seed=0, fractions=(0.7, 0.15, 0.15), pronoun_probability=0.6, attribution_probability=0.6,
                      stories=None, path=None):
    """Lee-corpus sentences with Faker person names put in, tagged ``O``/``PER``, split three ways.

    See the module docstring for where names go. Stories are split (not
    sentences, so a split never holds half a story), and first names and
    surnames are each split with the same fractions, so names never cross
    splits. Only names of letters that are not a word of the corpus (in any
    case) are used.

    Args:
        seed: seed of the splits and of the insertions.
        fractions: shares of train, dev and test.
        pronoun_probability: chance that a subject pronoun becomes a name.
        attribution_probability: chance that a sentence without a name gets an attribution.
        stories: use only the first this many stories (tests; ``None``: all 300).
        path: another corpus file for :func:`lee_sentences`.

    Returns:
        A :class:`TaggingData`.

    Raises:
        ConfigError: bad fractions or probabilities.
        DatasetError: the corpus or the name lists cannot be read.
    """
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ConfigError(f"fractions must be three positive shares that add up to 1. Received: fractions={fractions}")
    for label, value in (("pronoun_probability", pronoun_probability),
                         ("attribution_probability", attribution_probability)):
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{label} must be in [0, 1]. Received: {label}={value}")
    documents = lee_sentences(path)[:stories]
    if len(documents) < 3:
        raise ConfigError(f"need at least 3 stories to split. Received: {len(documents)} stories")
    tokenized = [[tokenize(sentence) for sentence in document] for document in documents]
    corpus_words = {token.lower() for document in tokenized for sentence in document for token in sentence}
    lowercase_words = {token for document in tokenized for sentence in document for token in sentence
                       if token.islower()}

    def usable(name):
        return name.isalpha() and name[0].isupper() and len(name) >= 3 and name.lower() not in corpus_words

    first_names = sorted(filter(usable, name_lists.first_names()))
    surnames = sorted({name for group in name_lists.surnames_by_language().values() for name in group
                       if usable(name)} - set(first_names))
    rng = np.random.default_rng(seed)
    story_split = _split_list(range(len(documents)), rng, fractions)
    first_split = _split_list(first_names, rng, fractions)
    surname_split = _split_list(surnames, rng, fractions)
    splits, original, used = {}, {}, {}
    for split in SPLITS:
        inserter = _Inserter(first_split[split], surname_split[split], lowercase_words, rng,
                             pronoun_probability, attribution_probability)
        sentences = [sentence for story in sorted(story_split[split]) for sentence in tokenized[story] if sentence]
        tagged = [inserter(sentence) for sentence in sentences]
        splits[split] = ([tokens for tokens, _ in tagged], [tags for _, tags in tagged])
        original[split] = sentences
        used[split] = (first_split[split], surname_split[split])
    return TaggingData(splits=splits, original=original, tag_names=TAGS, names=used)


def token_scores(true_tags, predicted_tags, tag=1):
    """Token-level precision, recall and F1 of one tag over all tokens of all sentences.

    Each token counts once: a true positive where both say ``tag``. This is
    ``sklearn.metrics.precision_recall_fscore_support(..., average="binary",
    pos_label=tag)`` on the flattened tokens (not the entity-level F1 of CoNLL,
    which counts whole names).

    Args:
        true_tags: a sequence of 1-D int arrays (one per sentence).
        predicted_tags: the same shapes, predicted.
        tag: the tag id scored.

    Returns:
        ``{"precision", "recall", "f1", "support"}`` (0.0 where undefined; support = true tokens of ``tag``).

    Raises:
        ConfigError: the sentence counts or lengths differ.
    """
    if len(true_tags) != len(predicted_tags):
        raise ConfigError(f"true_tags and predicted_tags must hold as many sentences. "
                          f"Received: {len(true_tags)} and {len(predicted_tags)}")
    true_positives = predicted = actual = 0
    for index, (truth, guess) in enumerate(zip(true_tags, predicted_tags)):
        truth, guess = np.asarray(truth).reshape(-1), np.asarray(guess).reshape(-1)
        if truth.shape != guess.shape:
            raise ConfigError(f"sentence {index} has {truth.size} true tags but {guess.size} predicted ones. "
                              f"Received: lengths {truth.size} and {guess.size}")
        true_positives += int(np.sum((truth == tag) & (guess == tag)))
        predicted += int(np.sum(guess == tag))
        actual += int(np.sum(truth == tag))
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual}


def tagging_batches(inputs, tags, batch_size, *, shuffle=False, seed=0):
    """A ``tf.data.Dataset`` of ``(ids, tags)`` batches, each padded with 0 on the right to its longest sentence.

    Args:
        inputs: a list of int32 id arrays, one per sentence.
        tags: a list of int32 tag arrays of the same lengths.
        batch_size: sentences per batch.
        shuffle: reshuffle the sentences every epoch.
        seed: the shuffle's seed.

    Returns:
        A dataset whose cardinality is known (a cosine schedule counts its steps).
    """
    import tensorflow as tf

    pairs = tf.data.Dataset.from_generator(
        lambda: zip(inputs, tags),
        output_signature=(tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.int32)),
    ).apply(tf.data.experimental.assert_cardinality(len(tags)))
    if shuffle:
        pairs = pairs.shuffle(len(tags), seed=seed, reshuffle_each_iteration=True)
    return pairs.padded_batch(batch_size).prefetch(tf.data.AUTOTUNE)  # 0-padding on the right, masked


def predict_tags(model, sentences, batch_size=128):
    """The tag ids ``model`` gives each token of each sentence (a list of int32 arrays).

    One compiled ``predict`` over the sentences right-padded to the longest: the
    padding is masked, so it changes no tag.
    """
    probabilities = model.predict(right_pad(sentences), batch_size=batch_size, verbose=0)
    return [probabilities[index, :len(row)].argmax(axis=-1).astype(np.int32) for index, row in enumerate(sentences)]
