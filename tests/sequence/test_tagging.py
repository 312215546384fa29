"""Name-tagging data from the Lee corpus: tags match the names put in, splits are disjoint; token F1 = sklearn's."""

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from dlkit.errors import ConfigError
from dlkit.sequence import WordVocabulary, tagging


@pytest.fixture(scope="module")
def data():
    return tagging.name_tagging_data(seed=0, stories=60)


def test_names_are_tagged_and_never_cross_splits(data):
    assert data.tag_names == ("O", "PER")
    named = {}
    for split, (sentences, tags) in data.splits.items():
        assert len(sentences) == len(tags) == len(data.original[split]) > 0
        first_names, surnames = data.names[split]
        pool = set(first_names) | set(surnames)
        named[split] = set()
        for tokens, sentence_tags in zip(sentences, tags):
            assert sentence_tags.dtype == np.int32 and len(tokens) == len(sentence_tags)
            for token, tag in zip(tokens, sentence_tags):
                if tag == 1:
                    assert token in pool, (split, token)
                    named[split].add(token)
        share = np.mean([t.any() for t in tags])
        assert 0.3 < share < 0.95, (split, share)  # most sentences get a name, not all
    assert not (named["train"] & named["dev"]) and not (named["train"] & named["test"])
    assert not (named["dev"] & named["test"])
    # No name is a corpus word: a vocabulary of the original training sentences never knows one.
    vocabulary = WordVocabulary.from_tokens(data.original["train"])
    assert all(name not in vocabulary for split in named for name in named[split])
    # Stories are split whole: no sentence in two splits.
    texts = {split: {" ".join(tokens) for tokens in data.original[split]} for split in data.original}
    assert not (texts["train"] & texts["test"])


def test_same_seed_same_data_other_seed_other_names():
    first = tagging.name_tagging_data(seed=3, stories=20)
    again = tagging.name_tagging_data(seed=3, stories=20)
    other = tagging.name_tagging_data(seed=4, stories=20)
    assert first.splits["train"][0] == again.splits["train"][0]
    assert first.splits["train"][0] != other.splits["train"][0]


def test_token_scores_equal_sklearn():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 30, 50)
    truth = [rng.integers(0, 2, n).astype(np.int32) for n in lengths]
    guess = [np.where(rng.random(n) < 0.3, 1 - t, t) for t, n in zip(truth, lengths)]
    scores = tagging.token_scores(truth, guess)
    precision, recall, f1, _ = precision_recall_fscore_support(np.concatenate(truth), np.concatenate(guess),
                                                               average="binary", pos_label=1)
    assert scores["precision"] == pytest.approx(precision) and scores["recall"] == pytest.approx(recall)
    assert scores["f1"] == pytest.approx(f1) and scores["support"] == int(np.concatenate(truth).sum())
    empty = tagging.token_scores([np.zeros(3, np.int32)], [np.zeros(3, np.int32)])
    assert empty == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    with pytest.raises(ConfigError, match="lengths 3 and 2"):
        tagging.token_scores([np.zeros(3)], [np.zeros(2)])


def test_bad_arguments():
    with pytest.raises(ConfigError, match="fractions"):
        tagging.name_tagging_data(fractions=(0.5, 0.5, 0.5))
    with pytest.raises(ConfigError, match="pronoun_probability"):
        tagging.name_tagging_data(pronoun_probability=2)
