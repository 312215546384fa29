import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from dlkit.embeddings import WordVectors
from dlkit.errors import ConfigError, DatasetError


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    matrix = rng.normal(size=(60, 16)).astype(np.float32)
    # Planted analogies: w3 - w0 + w1 ~ w2, w7 - w4 + w5 ~ w6 (answers found by 3CosAdd).
    matrix[2] = matrix[3] - matrix[0] + matrix[1] + 0.05 * rng.normal(size=16)
    matrix[6] = matrix[7] - matrix[4] + matrix[5] + 0.05 * rng.normal(size=16)
    return WordVectors(words, matrix, counts=np.arange(60, 0, -1))


@pytest.fixture(scope="module")
def gensim_vectors(vectors):
    return vectors.to_gensim()


def test_similarity_and_most_similar_equal_gensim(vectors, gensim_vectors):
    assert vectors.similarity("w1", "w9") == pytest.approx(float(gensim_vectors.similarity("w1", "w9")), abs=1e-6)
    for positive, negative in [(["w5"], []), (["w3", "w1"], ["w0"]), (["w2", "w8", "w9"], ["w11", "w4"])]:
        ours = vectors.most_similar(positive, negative, topn=8)
        theirs = gensim_vectors.most_similar(positive=positive, negative=negative, topn=8)
        assert [word for word, _ in ours] == [word for word, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)
        ours = vectors.most_similar_cosmul(positive, negative, topn=8)
        theirs = gensim_vectors.most_similar_cosmul(positive=positive, negative=negative, topn=8)
        assert [word for word, _ in ours] == [word for word, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-4)


def test_analogy_excludes_question_words(vectors):
    assert vectors.analogy("w0", "w3", "w1")[0][0] == "w2"
    assert vectors.analogy("w4", "w7", "w5", method="3cosmul")[0][0] == "w6"
    for method in ("3cosadd", "3cosmul"):
        answers = [word for word, _ in vectors.analogy("w0", "w3", "w1", method=method, topn=57)]
        assert not {"w0", "w3", "w1"} & set(answers) and len(answers) == 57
    with pytest.raises(ConfigError, match="method"):
        vectors.analogy("w0", "w3", "w1", method="3cosmax")


def test_evaluate_analogies_equals_gensim(vectors, gensim_vectors, tmp_path):
    rng = np.random.default_rng(1)
    lines = [": planted", "W0 w3 w1 w2", "w4 W7 w5 w6", "w0 w3 w1 unknownword"]
    lines += [": random"] + [" ".join(f"w{i}" for i in rng.choice(60, 4, replace=False)) for _ in range(40)]
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(lines) + "\n")
    ours = vectors.evaluate_analogies(path)
    score, sections = gensim_vectors.evaluate_word_analogies(str(path))
    assert ours["accuracy"] == pytest.approx(score)
    for section in sections[:-1]:  # gensim appends a "Total accuracy" section
        counts = ours["sections"][section["section"]]
        assert counts["correct"] == len(section["correct"])
        assert counts["total"] == len(section["correct"]) + len(section["incorrect"])
    assert ours["sections"]["planted"] == {"correct": 2, "total": 2, "accuracy": 1.0}
    assert ours["skipped"] == 1
    # The batched evaluation equals one analogy() call per question, for both methods.
    questions = [line.lower().split() for line in lines if not line.startswith(":") and "unknownword" not in line]
    for method in ("3cosadd", "3cosmul"):
        correct = sum(vectors.analogy(a, b, c, method=method)[0][0] == d for a, b, c, d in questions)
        assert vectors.evaluate_analogies(path, method=method)["correct"] == correct


def test_evaluate_word_pairs_equals_gensim(vectors, gensim_vectors, tmp_path):
    rng = np.random.default_rng(2)
    lines = ["# comment"] + [f"w{a}\tW{b}\t{rng.uniform(0, 10):.2f}" for a, b in rng.integers(0, 60, (30, 2))]
    lines += ["w1\tnotaword\t3.0"]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n")
    ours = vectors.evaluate_word_pairs(path)
    pearson, spearman, oov = gensim_vectors.evaluate_word_pairs(str(path))
    assert ours["pearson"] == pytest.approx(pearson[0], abs=1e-6)
    assert ours["spearman"] == pytest.approx(spearman[0], abs=1e-6)
    assert ours["oov_ratio"] * 100 == pytest.approx(oov)
    assert ours["pairs"] == 30


def test_wordsim353_file_parses(vectors):
    result = vectors.evaluate_word_pairs(datapath("wordsim353.tsv"))
    assert result["oov_ratio"] == 1.0 and result["spearman"] == 0.0  # no w-words in wordsim: no NaN


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_round_trips_through_gensim(vectors, tmp_path, binary):
    path = vectors.save_word2vec_format(tmp_path / "vectors.bin", binary=binary)
    loaded = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert loaded.index_to_key == vectors.words
    np.testing.assert_array_equal(loaded.vectors, vectors.vectors)
    ours = WordVectors.load_word2vec_format(path, binary=binary)
    np.testing.assert_array_equal(ours.vectors, vectors.vectors)
    # And what gensim writes, we read.
    loaded.save_word2vec_format(str(tmp_path / "gensim.txt"), binary=binary)
    back = WordVectors.load_word2vec_format(tmp_path / "gensim.txt", binary=binary)
    assert back.words == vectors.words
    np.testing.assert_array_equal(back.vectors, vectors.vectors)


def test_words_with_spaces_cannot_be_saved(tmp_path):
    with pytest.raises(ConfigError, match="whitespace"):
        WordVectors(["a b"], np.ones((1, 2))).save_word2vec_format(tmp_path / "x.txt")
    with pytest.raises(DatasetError, match="Received"):
        WordVectors.load_word2vec_format(tmp_path / "missing.txt")


def test_zero_vectors_give_no_nan():
    vectors = WordVectors(["zero", "one", "two"], np.array([[0, 0], [1, 0], [0, 2]], np.float32))
    assert vectors.similarity("zero", "one") == 0.0
    scores = [score for _, score in vectors.most_similar("zero", topn=2)]
    assert np.all(np.isfinite(scores))


def test_projector_files_and_tsne_picture(vectors, tmp_path):
    vectors_path, metadata_path = vectors.save_projector(tmp_path, limit=50)
    assert np.loadtxt(vectors_path, delimiter="\t").shape == (50, 16)
    assert metadata_path.read_text().split("\n")[:3] == ["w0", "w1", "w2"]
    path, coordinates = vectors.plot_tsne(tmp_path / "tsne.png", limit=40)
    assert path.stat().st_size > 10000 and coordinates.shape == (40, 2)
    assert np.all(np.isfinite(coordinates))


def case_variant_vectors():
    """Words with case variants of analogy question words, most frequent first.

    ``king - man + woman``: ``Woman`` (0.58) and ``KING`` (0.52) rank above
    ``queen`` (0.5); ``prince - boy + girl``: five variants of ``girl`` and
    ``prince`` rank above ``princess``.
    """
    basis = np.eye(16, dtype=np.float32)
    rng = np.random.default_rng(4)
    table = {
        "man": basis[0], "woman": basis[1], "king": basis[2], "queen": -basis[0] + basis[1] + basis[2] + 3 * basis[3],
        "boy": basis[6], "girl": basis[7], "prince": basis[8],
        "princess": -basis[6] + basis[7] + basis[8] + 3 * basis[9],
        "Italy": rng.normal(size=16), "france": rng.normal(size=16), "Paris": rng.normal(size=16),
        "rome": rng.normal(size=16),
    }
    table["italy"] = table["Italy"] + 0.01 * rng.normal(size=16)  # the less frequent variant of Italy
    table["Woman"] = basis[1] + 0.05 * basis[4]
    table["KING"] = basis[2] + 0.5 * basis[5]
    for index, word in enumerate(["Girl", "GIRL", "gIRL", "Prince", "PRINCE"]):
        table[word] = basis[7 if "g" in word.lower()[:1] else 8] + 0.05 * (index + 1) * basis[10 + index]
    words = list(table)
    return WordVectors(words, np.array([table[word] for word in words], np.float32))


def test_evaluate_analogies_skips_case_variants_of_question_words_like_gensim(tmp_path):
    vectors = case_variant_vectors()
    keyed = vectors.to_gensim()
    path = tmp_path / "questions.txt"
    path.write_text("\n".join([
        ": family",
        "man king woman queen", "MAN King Woman Queen", "woman queen man king", "boy prince girl princess",
        "king queen man woman", "girl boy princess prince",
        ": capitals",
        "france paris italy rome", "Paris France Rome Italy", "italy rome france paris", "rome italy paris france",
    ]) + "\n")
    # What changed: the best answer to "man king woman ?" is a variant of a question word.
    assert vectors.analogy("man", "king", "woman", topn=3)[0][0] == "Woman"
    for case_insensitive in (True, False):
        for restrict_vocab in (300000, len(vectors) - 5, 12):  # all words; no girl/prince variants; no variants
            ours = vectors.evaluate_analogies(path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
            score, sections = keyed.evaluate_word_analogies(str(path), restrict_vocab=restrict_vocab,
                                                            case_insensitive=case_insensitive)
            setting = (case_insensitive, restrict_vocab)
            assert ours["accuracy"] == pytest.approx(score), setting
            for section in sections[:-1]:  # gensim appends a "Total accuracy" section
                counts = ours["sections"][section["section"]]
                assert counts["correct"] == len(section["correct"]), setting
                assert counts["total"] == len(section["correct"]) + len(section["incorrect"]), setting
            assert ours["total"] + ours["skipped"] == 10
    family = vectors.evaluate_analogies(path)["sections"]["family"]
    # queen is found past Woman and KING; princess is not (all 5 best are variants of girl and prince).
    assert family == {"correct": 3, "total": 6, "accuracy": 0.5}
