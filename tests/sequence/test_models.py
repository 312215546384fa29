"""Recurrent builders: shapes, names, masking, pretrained embeddings, saving, argument checks, the registry."""

import keras
import numpy as np
import pytest

from dlkit.errors import ConfigError
from dlkit.sequence import (
    BUILDERS,
    build,
    char_language_model,
    language_model,
    sequence_classifier,
    sequence_tagger,
    word_language_model,
)


def layer_names(model):
    return [layer.name for layer in model.layers]


@pytest.mark.parametrize("cell, expected", [("simple", keras.layers.SimpleRNN), ("lstm", keras.layers.LSTM)])
def test_language_model_shapes_names_and_softmax(cell, expected):
    model = language_model(11, embedding_dim=4, units=8, num_layers=2, cell=cell, dropout=0.1)
    assert layer_names(model) == ["tokens", "embedding", "rnn_1", "dropout_1", "rnn_2", "dropout_2", "predictions"]
    assert isinstance(model.get_layer("rnn_2"), expected)
    ids = np.random.default_rng(0).integers(0, 11, size=(2, 6)).astype("int32")
    probabilities = np.asarray(model(ids))
    assert probabilities.shape == (2, 6, 11) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    # Causal: the prediction at step 2 does not depend on later tokens.
    changed = ids.copy()
    changed[:, 4:] = (changed[:, 4:] + 1) % 11
    np.testing.assert_allclose(np.asarray(model(changed))[:, :4], probabilities[:, :4], atol=1e-6)


def test_named_language_models_and_mixed_precision():
    char = char_language_model(20)
    assert char.name == "char_language_model" and char.get_layer("embedding").output_dim == 32
    assert char.get_layer("rnn_1").units == 256 and "dropout_1" not in layer_names(char)
    word = word_language_model(50)
    assert word.get_layer("embedding").output_dim == 128 and word.get_layer("dropout_1").rate == 0.2
    keras.config.set_dtype_policy("mixed_float16")  # conftest restores float32
    model = language_model(9, embedding_dim=4, units=4, cell="gru")
    assert model.get_layer("rnn_1").compute_dtype == "float16"
    assert model(np.ones((1, 3), "int32")).dtype == "float32"


@pytest.mark.parametrize("options", [
    {"cell": "gru", "bidirectional": True, "num_layers": 1},
    {"cell": "lstm", "bidirectional": True, "num_layers": 2, "dropout": 0.2},
    {"cell": "simple", "bidirectional": False, "num_layers": 2},
])
def test_classifier_ignores_padding(options):
    model = sequence_classifier(15, 3, embedding_dim=6, units=5, **options)
    names = layer_names(model)
    stack = "bidirectional" if options["bidirectional"] else "rnn"
    assert names[:3] == ["tokens", "embedding", f"{stack}_1"] and names[-1] == "predictions"
    assert (f"{stack}_2" in names) == (options["num_layers"] == 2)
    tokens = [4, 9, 2, 13, 7]
    alone = np.asarray(model(np.array([tokens], "int32")))
    # Right padding, the only kind cuDNN takes on a GPU; a second, longer row sets the padded length.
    padded = np.asarray(model(np.array([tokens + [0] * 4, [3, 3, 3, 3, 3, 3, 3, 3, 3]], "int32")))
    assert alone.shape == (1, 3) and padded.shape == (2, 3)
    np.testing.assert_allclose(padded[0], alone[0], atol=1e-5)
    # The tokens do matter: a different sequence gets a different prediction.
    assert np.abs(np.asarray(model(np.array([[5, 9, 2, 13, 7]], "int32")))[0] - alone[0]).max() > 1e-6


def test_tagger_outputs_on_real_tokens_do_not_depend_on_padding():
    model = sequence_tagger(12, 4, embedding_dim=5, units=4, cell="lstm", num_layers=2)
    short = np.asarray(model(np.array([[3, 5, 7, 0, 0]], "int32")))
    long = np.asarray(model(np.array([[3, 5, 7, 0, 0, 0, 0, 0, 0]], "int32")))
    alone = np.asarray(model(np.array([[3, 5, 7]], "int32")))
    assert long.shape == (1, 9, 4)
    np.testing.assert_allclose(short[:, :3], alone, atol=1e-5)
    np.testing.assert_allclose(long[:, :3], alone, atol=1e-5)
    np.testing.assert_allclose(alone.sum(-1), 1.0, atol=1e-5)


def test_pretrained_frozen_embedding():
    matrix = np.random.default_rng(0).normal(size=(10, 7)).astype("float32")
    model = sequence_classifier(10, 2, units=3, embedding_weights=matrix, trainable_embedding=False)
    embedding = model.get_layer("embedding")
    assert embedding.output_dim == 7
    np.testing.assert_array_equal(embedding.get_weights()[0], matrix)
    assert not embedding.trainable and not any("embedding" in weight.path for weight in model.trainable_weights)
    tagger = sequence_tagger(10, 3, embedding_dim=7, units=3, embedding_weights=matrix)
    assert tagger.get_layer("embedding").trainable
    with pytest.raises(ConfigError, match=r"Received: embedding_weights with shape \(9, 7\)"):
        sequence_classifier(10, 2, embedding_weights=matrix[:9])
    with pytest.raises(ConfigError, match="embedding_dim"):
        sequence_classifier(10, 2, embedding_dim=8, embedding_weights=matrix)


def test_save_and_load_give_identical_predictions(tmp_path):
    ids = np.array([[3, 1, 4, 1, 5, 0, 0], [2, 7, 1, 8, 2, 8, 1]], "int32")
    for model in (sequence_classifier(9, 2, embedding_dim=4, units=3, cell="lstm", num_layers=2, dropout=0.1),
                  language_model(9, embedding_dim=4, units=5, cell="gru")):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        assert layer_names(loaded) == layer_names(model)
        np.testing.assert_array_equal(np.asarray(loaded(ids)), np.asarray(model(ids)))


@pytest.mark.parametrize("builder, arguments, message", [
    (language_model, {"vocabulary_size": 1}, "vocabulary_size must be an integer >= 2. Received: vocabulary_size=1"),
    (language_model, {"vocabulary_size": 5, "units": 0}, "Received: units=0"),
    (language_model, {"vocabulary_size": 5, "num_layers": 0}, "Received: num_layers=0"),
    (language_model, {"vocabulary_size": 5, "dropout": 1.0}, "Received: dropout=1.0"),
    (language_model, {"vocabulary_size": 5, "dropout": -0.1}, "Received: dropout=-0.1"),
    (language_model, {"vocabulary_size": 5, "cell": "transformer"},
     "'simple', 'gru', 'lstm'. Received: cell='transformer'"),
    (sequence_classifier, {"vocabulary_size": 5, "num_classes": 1}, "Received: num_classes=1"),
    (sequence_tagger, {"vocabulary_size": 5, "num_tags": 0}, "Received: num_tags=0"),
])
def test_argument_errors(builder, arguments, message):
    with pytest.raises(ConfigError) as error:
        builder(**arguments)
    assert message in str(error.value)


def test_build_drops_none_overrides_and_names_the_choices():
    assert set(BUILDERS) == {"language_model", "char_language_model", "word_language_model",
                             "sequence_classifier", "sequence_tagger"}
    model = build("char_language_model", vocabulary_size=7, units=4, embedding_dim=None, cell=None)
    assert model.get_layer("embedding").output_dim == 32 and isinstance(model.get_layer("rnn_1"), keras.layers.LSTM)
    with pytest.raises(ConfigError, match="char_language_model, .*word_language_model. Received: name='tagger'"):
        build("tagger")
    with pytest.raises(ConfigError, match="does not accept heads"):
        build("sequence_tagger", vocabulary_size=7, num_tags=2, heads=4)
