"""The word-vector predictor: nearest neighbours and analogies from a ``word_vectors`` run."""

import difflib
import re

from dlkit.errors import ConfigError
from dlkit.inference.base import Predictor

# "man:king::woman" (a is to b as c is to ?) or "king-man+woman" (vector arithmetic).
ANALOGY = re.compile(r"^([^:\s]+):([^:\s]+)::([^:\s]+)(?::\??)?$")


class WordPredictor(Predictor):
    """Answers word queries with the run's ``vectors.txt``.

    A query is a word (its ``topn`` nearest neighbours), ``a:b::c`` (``a`` is
    to ``b`` as ``c`` is to the answer, 3CosAdd) or ``king-man+woman``.
    """

    task = "word_vectors"
    takes_images = False

    def __init__(self, card):
        super().__init__(card)
        from dlkit.embeddings import WordVectors

        self.vectors = WordVectors.load_word2vec_format(self.file("vectors"))

    def __call__(self, inputs, out=None, topn=10):
        if isinstance(inputs, str):
            inputs = [inputs]
        records = []
        for query in inputs:
            query = str(query).strip()
            positive, negative, kind = self.parse(query)
            answers = self.vectors.most_similar(positive=positive, negative=negative, topn=int(topn))
            records.append({"input": query, "kind": kind, "positive": positive, "negative": negative,
                            "neighbours": [{"word": word, "similarity": round(score, 4)} for word, score in answers]})
        return records

    def parse(self, query):
        """``(positive words, negative words, kind)`` of a query; unknown words are a ``ConfigError``."""
        match = ANALOGY.match(query)
        if match:
            a, b, c = match.groups()
            positive, negative, kind = [b, c], [a], "analogy"
        elif query in self.vectors or not re.search(r"[+-]", query):
            positive, negative, kind = [query], [], "neighbours"  # a word (hyphenated words included)
        else:
            positive, negative, kind = [], [], "arithmetic"
            sign, expect_word = "+", True
            for token in re.findall(r"[+-]|[^+-]+", query.replace(" ", "")):
                if token in ("+", "-"):
                    if expect_word and (positive or negative):
                        raise ConfigError(f"Two operators in a row in the query. Received: {query!r}")
                    sign, expect_word = token, True
                    continue
                (positive if sign == "+" else negative).append(token)
                expect_word = False
            if expect_word:
                raise ConfigError(f"The query ends with an operator. Received: {query!r}")
        for word in positive + negative:
            if word not in self.vectors:
                close = difflib.get_close_matches(word, self.vectors.words, n=3)
                hint = f" Close: {', '.join(close)}." if close else ""
                raise ConfigError(f"{word!r} is not in the run's vocabulary of {len(self.vectors):,} words.{hint} "
                                  f"Received: {query!r}")
        return positive, negative, kind

    @staticmethod
    def line(record):
        words = ", ".join(f"{item['word']} {item['similarity']:.2f}" for item in record["neighbours"])
        return f"{record['input']}: {words}"
