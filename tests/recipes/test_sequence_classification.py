"""recipes/sequence_classification.py: names by language (vs an n-gram baseline), names in text (uni vs bi)."""

import json

import harness
import keras
import numpy as np
import pytest
import sequence_classification

from dlkit.sequence import CharVocabulary, WordVocabulary, tokenize


@pytest.fixture(scope="module")
def names_run(recipe_run):
    return recipe_run("name_classification")


@pytest.fixture(scope="module")
def tagging_run(recipe_run):
    return recipe_run("name_tagging")


@pytest.mark.slow
def test_quick_name_classification_learns(names_run):
    metrics = names_run.metrics
    # Measured on 2 CPU cores: BiGRU 0.767 test accuracy after 10 epochs, the n-gram logistic regression 0.834.
    assert metrics["classes"] == 10 and metrics["train_names"] > 5000 and metrics["test_names"] > 1000
    assert 0.6 < metrics["test_accuracy"] < 0.95  # chance is 0.1, the most frequent class 0.28
    assert 0.75 < metrics["ngram_test_accuracy"] < 0.95
    assert metrics["test_macro_f1"] > 0.5 and metrics["ngram_test_macro_f1"] > 0.65
    assert metrics["accuracy_gain_over_ngram"] == pytest.approx(
        metrics["test_accuracy"] - metrics["ngram_test_accuracy"])
    assert 0 <= metrics["f1_Irish"] <= 1 and "precision_Finnish" in metrics and "recall_Swedish" in metrics
    assert json.loads((names_run.out / "metrics.json").read_text()) == metrics


@pytest.mark.slow
def test_name_classification_files_and_reload(names_run):
    out = names_run.out
    for name in ("config.json", "metrics.json", "model.keras", "vocabulary.json", "run.json", "history.csv",
                 "curves.png", "confusion_matrix.png", "mistakes.png"):
        assert (out / name).stat().st_size > 0, name
    card = json.loads((out / "run.json").read_text())
    assert card["task"] == "text_classification" and card["recipe"] == "sequence_classification"
    assert card["model"] == "model.keras" and card["vocabulary"] == "vocabulary.json"
    assert card["lowercase"] is False and len(card["class_names"]) == 10 and "Finnish" in card["class_names"]
    vocabulary = CharVocabulary.load(out / "vocabulary.json")
    model = keras.models.load_model(out / "model.keras")
    names = ["Korhonen", "Rossi", "O'Brien"]
    ids = np.zeros((len(names), max(map(len, names)) + 3), np.int32)  # extra right padding changes nothing
    for row, name in enumerate(names):
        ids[row, :len(name)] = vocabulary.encode(name)
    probabilities = np.asarray(model(ids))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(model(ids[:1, :8])), probabilities[:1], atol=1e-5)
    assert card["class_names"][int(probabilities[0].argmax())] == "Finnish"


@pytest.mark.slow
def test_quick_tagging_bidirectional_beats_unidirectional(tagging_run):
    metrics = tagging_run.metrics
    # Measured on 2 CPU cores: PER token F1 0.933 bidirectional, 0.857 left-to-right (6 epochs each).
    assert metrics["per_f1_bidirectional"] > 0.8
    assert metrics["per_f1_unidirectional"] > 0.6
    assert metrics["per_f1_gain"] > 0.02
    assert metrics["per_f1_gain"] == pytest.approx(metrics["per_f1_bidirectional"] - metrics["per_f1_unidirectional"])
    assert metrics["test_name_tokens"] > 200 and metrics["test_tokens"] > 5000
    assert metrics["params"] > metrics["params_unidirectional"]


@pytest.mark.slow
def test_tagging_files_and_reload(tagging_run):
    out = tagging_run.out
    for name in ("config.json", "metrics.json", "model.keras", "model_unidirectional.keras", "vocabulary.json",
                 "run.json", "curves.png", "confusion_matrix.png", "tagged_sentences.png",
                 "bidirectional/history.csv", "unidirectional/history.csv"):
        assert (out / name).stat().st_size > 0, name
    card = json.loads((out / "run.json").read_text())
    assert card["task"] == "tagging" and card["tag_names"] == ["O", "PER"] and card["lowercase"] is False
    vocabulary = WordVocabulary.load(out / "vocabulary.json")
    model = keras.models.load_model(out / "model.keras")
    tokens = tokenize("Qwertyson said the fire near the town was under control .")
    ids = vocabulary.encode(tokens)
    assert ids[0] == 1 and ids[1] > 1  # the name is unknown, "said" is not
    tags = np.asarray(model(ids[None]))[0].argmax(axis=-1)
    assert tags.shape == (len(tokens),) and tags[0] == 1 and tags[1:].sum() == 0  # an unknown word before "said"


@pytest.mark.parametrize("argv, expected", [
    (["--cell", "transformer"], "--cell: invalid choice"),
    (["--task", "translate"], "--task: invalid choice"),
    (["--dropout", "1"], "--dropout must be below 1"),
    (["--units", "0"], "--units"),
])
def test_bad_flags_exit_2_with_one_line(tmp_path, capsys, argv, expected):
    harness.assert_user_error(capsys, sequence_classification, [*argv, "--out", tmp_path / "run"], expected)
