"""``WordVectors``: similarity, analogies, evaluation and export of word vectors.

The semantics follow gensim's ``KeyedVectors`` (so results can be compared one
to one): cosine similarity on unit vectors, the words of a query excluded from
its answers, 3CosAdd (``most_similar``) and 3CosMul (``most_similar_cosmul``,
Levy & Goldberg 2014), analogy and word-pair evaluation restricted to the
``restrict_vocab`` most frequent words and case-insensitive by default.
"""

import pathlib

import numpy as np
from scipy import stats

from dlkit.errors import ConfigError, DatasetError


class WordVectors:
    """Words and their vectors, ordered by frequency (most frequent first).

    Args:
        words: list of words.
        vectors: array [len(words), dim].
        counts: optional word counts (kept for reference and export).
    """

    def __init__(self, words, vectors, counts=None):
        vectors = np.asarray(vectors, np.float32)
        words = list(words)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ConfigError(
                f"vectors must have shape [len(words), dim]. Received: {len(words)} words, vectors {vectors.shape}"
            )
        if len(set(words)) != len(words):
            raise ConfigError(f"words must be unique. Received: {len(words) - len(set(words))} duplicates")
        self.words = words
        self.vectors = vectors
        self.counts = None if counts is None else np.asarray(counts, np.int64)
        self.index = {word: i for i, word in enumerate(words)}
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        # A zero vector stays zero (similarity 0 to everything) instead of NaN.
        self.unit_vectors = vectors / np.where(norms > 0, norms, 1.0)

    @property
    def dim(self):
        return self.vectors.shape[1]

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    def __getitem__(self, word):
        return self.vectors[self._id(word)]

    def _id(self, word):
        if word not in self.index:
            raise KeyError(f"Word not in vocabulary. Received: {word!r}")
        return self.index[word]

    def similarity(self, first, second):
        """Cosine similarity of two words."""
        return float(np.dot(self.unit_vectors[self._id(first)], self.unit_vectors[self._id(second)]))

    def most_similar(self, positive=(), negative=(), topn=10, restrict_vocab=None):
        """Words nearest to the mean of ``positive`` minus ``negative`` unit vectors (3CosAdd).

        Args:
            positive: words (or vectors) that add.
            negative: words (or vectors) that subtract.
            topn: number of answers.
            restrict_vocab: search only the first (most frequent) words.

        Returns:
            A list of ``(word, cosine)``, best first; query words excluded.
        """
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive and not negative:
            raise ConfigError("most_similar needs at least one word. Received: positive=[], negative=[]")
        terms = [(term, 1.0) for term in positive] + [(term, -1.0) for term in negative]
        mean, exclude = np.zeros(self.dim, np.float64), set()
        for term, weight in terms:
            if isinstance(term, str):
                exclude.add(self._id(term))
                mean += weight * self.unit_vectors[self._id(term)]
            else:
                vector = np.asarray(term, np.float64)
                mean += weight * vector / max(np.linalg.norm(vector), 1e-12)
        mean /= max(np.linalg.norm(mean), 1e-12)
        limit = len(self.words) if restrict_vocab is None else restrict_vocab
        scores = self.unit_vectors[:limit] @ mean.astype(np.float32)
        return self._best(scores, exclude, topn)

    def most_similar_cosmul(self, positive=(), negative=(), topn=10, restrict_vocab=None):
        """3CosMul (Levy & Goldberg 2014): product of shifted cosines of positives over negatives.

        Returns:
            A list of ``(word, score)``, best first; query words excluded.
        """
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive:
            raise ConfigError(f"most_similar_cosmul needs a positive word. Received: positive={positive}")
        limit = len(self.words) if restrict_vocab is None else restrict_vocab
        candidates = self.unit_vectors[:limit]
        # Cosines shifted to [0, 1] so the product and quotient are well defined.
        shifted = lambda word: (1.0 + candidates @ self.unit_vectors[self._id(word)]) / 2.0  # noqa: E731
        numerator = np.prod([shifted(word) for word in positive], axis=0)
        denominator = np.prod([shifted(word) for word in negative], axis=0) if negative else 1.0
        scores = numerator / (denominator + 1e-6)
        return self._best(scores, {self._id(word) for word in positive + negative}, topn)

    def analogy(self, a, b, c, method="3cosadd", topn=1):
        """``a`` is to ``b`` as ``c`` is to ... ? (``king - man + woman``: a=man, b=king, c=woman).

        Args:
            a, b, c: words.
            method: ``"3cosadd"`` or ``"3cosmul"``.
            topn: answers returned.

        Returns:
            A list of ``(word, score)``; a, b and c are never answers.
        """
        if method == "3cosadd":
            return self.most_similar(positive=[b, c], negative=[a], topn=topn)
        if method == "3cosmul":
            return self.most_similar_cosmul(positive=[b, c], negative=[a], topn=topn)
        raise ConfigError(f"method must be '3cosadd' or '3cosmul'. Received: method={method!r}")

    def _best(self, scores, exclude, topn):
        # Only the top topn + len(exclude) can be answers: partial sort, then a stable sort of those.
        count = min(len(scores), topn + len(exclude))
        top = np.argpartition(-scores, count - 1)[:count] if count < len(scores) else np.arange(len(scores))
        # Ties broken by id (most frequent first), as a stable full sort would.
        top = top[np.lexsort((top, -scores[top]))]
        answers = [(self.words[i], float(scores[i])) for i in top if i not in exclude]
        return answers[:topn]

    def _restricted(self, restrict_vocab, case_insensitive):
        """word (uppercased if case-insensitive) -> id, the most frequent id winning."""
        words = self.words[:restrict_vocab]
        if case_insensitive:
            return {word.upper(): i for i, word in reversed(list(enumerate(words)))}
        return {word: i for i, word in enumerate(words)}

    def evaluate_analogies(self, path, restrict_vocab=300000, case_insensitive=True, method="3cosadd"):
        """Accuracy on analogy questions (``questions-words.txt`` format: ``: section`` lines, then ``a b c d``).

        Follows gensim's ``KeyedVectors.evaluate_word_analogies`` (4.x) and
        gives its counts and accuracy on the same vectors and file:

        * questions with a word outside the first ``restrict_vocab`` words are
          skipped (``skipped``);
        * with ``case_insensitive``, words are compared upper-cased; a question
          word stands for its most frequent case variant among the first
          ``restrict_vocab`` words (its vector; that id is never an answer);
        * the answer is the best of the top 5 candidates (the question words'
          own ids left out) whose (upper-cased) spelling is not one of the
          question's first three words: a case variant of a question word
          (``"Woman"`` for ``"woman"``) is passed over, not counted as a
          wrong answer. When all 5 are such variants, the last of them is the
          (wrong) answer, as in gensim.

        gensim answers with 3CosAdd only; ``method="3cosmul"`` ranks with
        3CosMul under the same rules.

        Args:
            path: the questions file.
            restrict_vocab: only the first (most frequent) this many words are
                asked about and searched.
            case_insensitive: compare words upper-cased.
            method: ``"3cosadd"`` or ``"3cosmul"``.

        Returns:
            ``{"accuracy": float, "correct": int, "total": int, "skipped": int,
            "sections": {name: {"correct", "total", "accuracy"}}}``; accuracy is
            0.0 when no question could be asked.
        """
        vocab = self._restricted(restrict_vocab, case_insensitive)
        rows = self.words[:restrict_vocab]
        sections, section, skipped, questions = {}, None, 0, []
        for line in _lines(path):
            if line.startswith(":"):
                section = line.lstrip(": ").strip()
                sections.setdefault(section, {"correct": 0, "total": 0})
                continue
            if section is None:
                raise DatasetError(f"Analogy file must start with a ': section' line. Received: {line!r} in {path}")
            parts = [part.upper() if case_insensitive else part for part in line.split()]
            if len(parts) != 4:
                raise DatasetError(f"Analogy lines need 4 words. Received: {line!r} in {path}")
            if not all(part in vocab for part in parts):
                skipped += 1
                continue
            questions.append((section, *(vocab[part] for part in parts)))
        spelling = str.upper if case_insensitive else str
        for (section, a, b, c, expected), ranked in self._answer_analogies(questions, restrict_vocab, method):
            ignore = {spelling(rows[a]), spelling(rows[b]), spelling(rows[c])}
            predicted = None
            for candidate in ranked:
                predicted = spelling(rows[candidate])
                if predicted not in ignore:
                    break
            sections[section]["total"] += 1
            sections[section]["correct"] += int(predicted == spelling(rows[expected]))
        for counts in sections.values():
            counts["accuracy"] = counts["correct"] / counts["total"] if counts["total"] else 0.0
        correct = sum(counts["correct"] for counts in sections.values())
        total = sum(counts["total"] for counts in sections.values())
        return {"accuracy": correct / total if total else 0.0, "correct": correct, "total": total,
                "skipped": skipped, "sections": sections}

    def _answer_analogies(self, questions, restrict_vocab, method, block=512, topn=5):
        """Yields ``(question, ranked)``: the ``topn`` best answer ids, best first, many questions per product.

        The question words' ids are never in ``ranked``; ties go to the lower
        (more frequent) id. ``topn`` is gensim's 5.
        """
        if method not in ("3cosadd", "3cosmul"):
            raise ConfigError(f"method must be '3cosadd' or '3cosmul'. Received: method={method!r}")
        candidates = self.unit_vectors[:restrict_vocab]
        for begin in range(0, len(questions), block):
            chunk = questions[begin:begin + block]
            a, b, c = (np.array([question[k] for question in chunk]) for k in range(1, 4))
            if method == "3cosadd":
                # Same ranking as most_similar([b, c], [a]): the query's norm does not change the order.
                scores = (self.unit_vectors[b] + self.unit_vectors[c] - self.unit_vectors[a]) @ candidates.T
            else:
                shifted = lambda ids: (1.0 + self.unit_vectors[ids] @ candidates.T) / 2.0  # noqa: E731
                scores = shifted(b) * shifted(c) / (shifted(a) + 1e-6)
            # The best topn + 3 hold the best topn that are not question words.
            count = min(scores.shape[1], topn + 3)
            if count < scores.shape[1]:
                top = np.argpartition(-scores, count - 1, axis=1)[:, :count]
            else:
                top = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
            top_scores = np.take_along_axis(scores, top, axis=1)
            for row, question in enumerate(chunk):
                order = np.lexsort((top[row], -top_scores[row]))  # by score, ties by id
                asked = set(question[1:4])
                ranked = [int(index) for index in top[row][order] if int(index) not in asked]
                yield question, ranked[:topn]

    def evaluate_word_pairs(self, path, delimiter="\t", restrict_vocab=300000, case_insensitive=True):
        """Correlation of cosine similarities with human scores (``wordsim353.tsv`` format).

        Lines starting with ``#`` are comments; pairs with a word outside the
        first ``restrict_vocab`` words are counted as out-of-vocabulary and skipped.

        Returns:
            ``{"pearson": float, "spearman": float, "oov_ratio": float in [0, 1], "pairs": int}``;
            correlations are NaN-free (0.0) when fewer than 2 pairs are usable.
        """
        vocab = self._restricted(restrict_vocab, case_insensitive)
        gold, predicted, oov = [], [], 0
        for line in _lines(path):
            if line.startswith("#"):
                continue
            parts = line.split(delimiter)
            if len(parts) < 3:
                raise DatasetError(f"Word-pair lines need 'word1{delimiter}word2{delimiter}score'. Received: {line!r}")
            first, second = (part.strip() for part in parts[:2])
            if case_insensitive:
                first, second = first.upper(), second.upper()
            if first not in vocab or second not in vocab:
                oov += 1
                continue
            gold.append(float(parts[2]))
            predicted.append(float(np.dot(self.unit_vectors[vocab[first]], self.unit_vectors[vocab[second]])))
        total = len(gold) + oov
        if len(gold) >= 2 and np.std(gold) > 0 and np.std(predicted) > 0:
            pearson = float(stats.pearsonr(gold, predicted)[0])
            spearman = float(stats.spearmanr(gold, predicted)[0])
        else:
            pearson = spearman = 0.0
        return {"pearson": pearson, "spearman": spearman, "oov_ratio": oov / total if total else 0.0,
                "pairs": len(gold)}

    def save_word2vec_format(self, path, binary=False):
        """Writes the word2vec C format (``KeyedVectors.load_word2vec_format`` reads it back exactly).

        Text: a ``"count dim"`` header, then ``word v1 ... vd`` per line with the
        shortest decimal that round-trips each float32. Binary: the same header,
        then ``word`` + space + ``dim`` little-endian float32 + newline.
        """
        for word in self.words:
            if not word or any(character.isspace() for character in word):
                raise ConfigError(f"word2vec format cannot store a word with whitespace. Received: {word!r}")
        path = pathlib.Path(path)
        with open(path, "wb") as handle:
            handle.write(f"{len(self.words)} {self.dim}\n".encode())
            for word, vector in zip(self.words, self.vectors):
                if binary:
                    handle.write(word.encode("utf-8") + b" " + vector.astype("<f4").tobytes() + b"\n")
                else:
                    handle.write((word + " " + " ".join(map(str, vector)) + "\n").encode("utf-8"))
        return path

    @classmethod
    def load_word2vec_format(cls, path, binary=False):
        """Reads a word2vec C-format file (text or binary)."""
        path = pathlib.Path(path)
        if not path.is_file():
            raise DatasetError(f"word2vec file not found. Received: {path}")
        with open(path, "rb") as handle:
            header = handle.readline().split()
            try:
                count, dim = int(header[0]), int(header[1])
            except (IndexError, ValueError) as error:
                raise DatasetError(f"word2vec header must be 'count dim'. Received: {header} in {path}") from error
            words, vectors = [], np.zeros((count, dim), np.float32)
            for row in range(count):
                if binary:
                    word = bytearray()
                    while True:
                        character = handle.read(1)
                        if character in (b" ", b""):
                            break
                        if character != b"\n":
                            word.extend(character)
                    vectors[row] = np.frombuffer(handle.read(4 * dim), "<f4")
                    words.append(word.decode("utf-8"))
                else:
                    parts = handle.readline().decode("utf-8").rstrip("\n").split(" ")
                    words.append(parts[0])
                    vectors[row] = np.asarray(parts[1:dim + 1], np.float32)
        return cls(words, vectors)

    def save_projector(self, folder, limit=None):
        """Writes ``vectors.tsv`` and ``metadata.tsv`` for projector.tensorflow.org.

        Args:
            folder: output folder (created).
            limit: only the first (most frequent) words.

        Returns:
            ``(vectors_path, metadata_path)``.
        """
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        limit = len(self.words) if limit is None else limit
        vectors_path, metadata_path = folder / "vectors.tsv", folder / "metadata.tsv"
        np.savetxt(vectors_path, self.vectors[:limit], delimiter="\t", fmt="%.6g")
        # One column: the projector expects no header line.
        metadata_path.write_text("".join(word + "\n" for word in self.words[:limit]), encoding="utf-8")
        return vectors_path, metadata_path

    def plot_tsne(self, path, words=None, limit=200, seed=0, groups=None, title="t-SNE of word vectors",
                  stemmed=None):
        """Writes a t-SNE scatter plot of ``words`` with non-overlapping labels (see ``dlkit.embeddings.plots``).

        ``stemmed``: whether to explain stems ("comput") in the subtitle; None decides from the vocabulary.
        """
        from dlkit.embeddings.plots import plot_tsne

        return plot_tsne(self, path, words=words, limit=limit, seed=seed, groups=groups, title=title,
                         stemmed=stemmed)

    def to_gensim(self):
        """The same vectors as a gensim ``KeyedVectors`` (gensim must be installed)."""
        from gensim.models import KeyedVectors

        keyed = KeyedVectors(self.dim)
        keyed.add_vectors(self.words, self.vectors)
        return keyed


def _as_list(terms):
    if isinstance(terms, str) or (hasattr(terms, "ndim") and terms.ndim == 1):
        return [terms]
    return list(terms)


def _lines(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise DatasetError(f"Evaluation file not found. Received: {path}")
    with open(path, encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]
