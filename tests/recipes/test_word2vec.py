"""recipes/word2vec.py: the --quick run, its files, and a user-error exit."""

import json

import harness
import keras
import numpy as np
import pytest
import word2vec
from gensim.models import KeyedVectors


@pytest.fixture(scope="module")
def quick_run(recipe_run):
    run = recipe_run("word2vec")
    return run.out, run.metrics


@pytest.mark.slow
def test_quick_run_learns_similarities(quick_run):
    out, metrics = quick_run
    assert metrics["wordsim353_spearman"] >= 0.2
    assert 0 < metrics["analogy_accuracy"] < 1 and metrics["analogy_questions"] > 100
    assert metrics["vocab_size"] > 7000
    assert 5 * 330000 < metrics["train_words"] < 5 * 332000  # 5 epochs of ~331k tokens
    assert metrics["words_per_second"] > 0 and metrics["final_loss"] < 3
    assert json.loads((out / "metrics.json").read_text()) == metrics


def test_quick_run_files_agree(quick_run):
    out, metrics = quick_run
    names = ("config.json", "metrics.json", "vectors.txt", "vectors.tsv", "metadata.tsv", "tsne.png", "model.keras",
             "vocabulary.tsv", "run.json")
    for name in names:
        assert (out / name).stat().st_size > 0, name
    vectors = KeyedVectors.load_word2vec_format(str(out / "vectors.txt"))
    model = keras.models.load_model(out / "model.keras")
    np.testing.assert_array_equal(vectors.vectors, model.target.embeddings.numpy())
    words = (out / "metadata.tsv").read_text().splitlines()
    assert words == vectors.index_to_key and len(words) == metrics["vocab_size"]
    inputs, candidates = np.array([0, 5], np.int32), np.array([[1, 2], [3, 4]], np.int32)
    expected = np.einsum("bd,bcd->bc", model.target.embeddings.numpy()[inputs],
                         model.context.embeddings.numpy()[candidates])
    np.testing.assert_allclose(model((inputs, candidates)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_bad_corpus_exits_2_with_one_line(tmp_path, capsys):
    line = harness.assert_user_error(capsys, word2vec, ["--corpus", tmp_path / "missing.txt", "--out", tmp_path / "run"])
    assert line.startswith("error: Corpus not found")


def test_rare_words_only_exits_2(tmp_path, capsys):
    (tmp_path / "tiny.txt").write_text("one two three\n")
    harness.assert_user_error(capsys, word2vec, ["--corpus", tmp_path / "tiny.txt", "--out", tmp_path / "run"], "min_count=5")
