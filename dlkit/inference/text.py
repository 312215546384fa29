"""Predictors of the sequence recipes: sample text after a prompt, classify texts, tag the tokens of sentences.

Inputs are strings (a prompt, a name, a sentence); ``predict.py`` passes its
INPUT arguments as they are, so quote a sentence with spaces::

    python recipes/predict.py runs/char_language_model-... "the king" --length 200 --temperature 0.5
    python recipes/predict.py runs/sequence_classification-... Nakamura O'Brien Schmidt
    python recipes/predict.py runs/sequence_classification-... "yesterday john smith said he would resign"
"""

import numpy as np

from dlkit.errors import ConfigError
from dlkit.inference.base import Predictor, load_model

#: ids of the longest text a model is run on at once (longer texts are an error, not a silent cut).
MAX_LENGTH = 10_000


def _texts(inputs):
    texts = [inputs] if isinstance(inputs, str) else [str(text) for text in inputs]
    for text in texts:
        if len(text) > MAX_LENGTH:
            raise ConfigError(f"An input is longer than {MAX_LENGTH:,} characters. Received: {len(text):,}")
    return texts


class _SequencePredictor(Predictor):
    """A run whose ``model.keras`` takes token ids: loads the model and the vocabulary the card names."""

    takes_images = False

    def __init__(self, card):
        super().__init__(card)
        self.vocabulary = self._vocabulary_class().load(self.file("vocabulary"))
        self.model = load_model(self.file("model"))

    @staticmethod
    def _vocabulary_class():
        from dlkit.sequence import CharVocabulary

        return CharVocabulary

    def exportable_model(self):
        return self.model


class LanguageModelPredictor(_SequencePredictor):
    """Samples text after each prompt with the run's character language model (:func:`dlkit.sequence.sample`).

    An empty prompt starts from the run's separator (a newline in a names run).
    """

    task = "language_model"

    def __call__(self, inputs, out=None, length=None, temperature=None, top_k=None, seed=0):
        from dlkit.sequence import sample

        length = int(length or self.card.get("length") or 200)
        temperature = float(self.card.get("temperature", 0.8) if temperature is None else temperature)
        separator = self.card.get("separator")
        records = []
        for prompt in _texts(inputs):
            start = prompt or separator or " "
            ids = sample(self.model, self.vocabulary.encode(start), length, temperature=temperature, top_k=top_k,
                         seed=seed)
            text = self.vocabulary.decode(ids)
            record = {"input": prompt, "temperature": temperature, "seed": seed, "text": text}
            unknown = [char for char in set(start) if self.vocabulary.encode(char)[0] == 1]
            if unknown:
                record["unknown_characters"] = sorted(unknown)
            if separator:
                record["names"] = [part for part in (start.split(separator)[-1] + text).split(separator)[:-1] if part]
            records.append(record)
        return records

    @staticmethod
    def line(record):
        if "names" in record:
            return f"{record['input']!r}: " + ", ".join(record["names"])
        return f"{record['input']}|{record['text']}"


class TextClassificationPredictor(_SequencePredictor):
    """Labels each text (a name, a sentence) with the run's many-to-one model, top-k with probabilities."""

    task = "text_classification"

    def __init__(self, card):
        super().__init__(card)
        self.class_names = list(card["class_names"])

    def __call__(self, inputs, out=None, top_k=3):
        texts = _texts(inputs)
        if any(not text.strip() for text in texts):
            raise ConfigError(f"Empty text to classify. Received: {texts}")
        from dlkit.sequence.text import right_pad

        encoded = [self.vocabulary.encode(text.lower() if self.card.get("lowercase") else text) for text in texts]
        probabilities = np.asarray(self.model.predict(right_pad(encoded), verbose=0))
        records = []
        for text, row in zip(texts, probabilities):
            order = np.argsort(row)[::-1][:max(1, int(top_k))]
            records.append({"input": text, "label": self.class_names[order[0]],
                            "top": [{"label": self.class_names[index], "probability": round(float(row[index]), 4)}
                                    for index in order]})
        return records

    @staticmethod
    def line(record):
        labels = ", ".join(f"{item['label']} {item['probability']:.2f}" for item in record["top"])
        return f"{record['input']}: {labels}"


class TaggingPredictor(_SequencePredictor):
    """Tags every token of each sentence with the run's many-to-many model."""

    task = "tagging"

    def __init__(self, card):
        super().__init__(card)
        self.tag_names = list(card["tag_names"])

    @staticmethod
    def _vocabulary_class():
        from dlkit.sequence import WordVocabulary

        return WordVocabulary

    def __call__(self, inputs, out=None):
        from dlkit.sequence.text import right_pad, tokenize

        texts = _texts(inputs)
        tokens = [tokenize(text.lower() if self.card.get("lowercase") else text) for text in texts]
        if any(not sentence for sentence in tokens):
            raise ConfigError(f"A sentence without tokens to tag. Received: {texts}")
        probabilities = np.asarray(self.model.predict(right_pad([self.vocabulary.encode(t) for t in tokens]),
                                                      verbose=0))
        records = []
        for text, sentence, rows in zip(texts, tokens, probabilities):
            best = rows[:len(sentence)].argmax(axis=-1)
            records.append({"input": text, "tokens": sentence, "tags": [self.tag_names[i] for i in best],
                            "probabilities": [round(float(rows[step, i]), 4) for step, i in enumerate(best)],
                            "unknown_tokens": [token for token, i in zip(sentence, self.vocabulary.encode(sentence))
                                               if i == 1]})
        return records

    @staticmethod
    def line(record):
        return " ".join(token if tag == "O" else f"[{token}/{tag}]"
                        for token, tag in zip(record["tokens"], record["tags"]))
