"""The notes' cells equal Keras's SimpleRNN/GRU/LSTM once the weights are transplanted, and the notes' equations."""

import keras
import numpy as np
import pytest

from dlkit.errors import ConfigError
from dlkit.sequence import GRUCell, LSTMCell, SimpleRNNCell, transplant

CASES = {
    "simple": (lambda: keras.layers.SimpleRNN(6, return_sequences=True, return_state=True), SimpleRNNCell),
    "gru_reset_after": (lambda: keras.layers.GRU(6, return_sequences=True, return_state=True), GRUCell),
    "gru_reset_before": (lambda: keras.layers.GRU(6, reset_after=False, return_sequences=True, return_state=True),
                         GRUCell),
    "lstm": (lambda: keras.layers.LSTM(6, return_sequences=True, return_state=True), LSTMCell),
}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def random_inputs():
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(3, 7, 5)).astype("float32")
    # Row 0 full, rows 1 and 2 right-padded after 4 and 2 steps (cuDNN, on a GPU, takes only right padding).
    mask = np.ones((3, 7), bool)
    mask[1, 4:] = False
    mask[2, 2:] = False
    return inputs, mask


def randomized(layer, inputs):
    """``layer`` built on ``inputs`` with large random weights, so every gate is far from its initial value."""
    layer(inputs)
    rng = np.random.default_rng(2)
    for weight in layer.weights:
        weight.assign(rng.normal(scale=0.6, size=weight.shape).astype("float32"))
    return layer


@pytest.mark.parametrize("case", sorted(CASES))
def test_transplanted_cell_equals_the_keras_layer_with_a_mask(case):
    make_layer, cell_class = CASES[case]
    inputs, mask = random_inputs()
    reference = randomized(make_layer(), inputs)
    cell = cell_class.from_keras(reference)
    ours = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    expected = reference(inputs, mask=mask)
    got = ours(inputs, mask=mask)
    assert len(got) == len(expected) == (3 if case == "lstm" else 2)
    for mine, theirs in zip(got, expected):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), atol=1e-5)
    # The mask matters: without it the padded rows' final states differ.
    unmasked = reference(inputs)[1]
    assert np.abs(np.asarray(unmasked)[1] - np.asarray(expected[1])[1]).max() > 1e-3


def test_transplant_into_an_existing_cell_and_the_gate_names():
    inputs, _ = random_inputs()
    reference = randomized(keras.layers.GRU(6, reset_after=False), inputs)
    cell = GRUCell(6, reset_after=False)
    layer = keras.layers.RNN(cell)
    layer(inputs)
    assert transplant(reference, layer) is cell
    np.testing.assert_allclose(np.asarray(layer(inputs)), np.asarray(reference(inputs)), atol=1e-5)
    assert [weight.name for weight in cell.weights] == [
        f"{gate}_{part}" for gate in ("update", "reset", "candidate") for part in ("kernel", "recurrent_kernel", "bias")
    ]
    # Keras's z keeps the old state: the notes' update gate is its complement.
    np.testing.assert_allclose(np.asarray(cell.update_kernel), -np.asarray(reference.cell.kernel)[:, :6])
    names = {weight.name for weight in LSTMCell.from_keras(randomized(keras.layers.LSTM(6), inputs)).weights}
    assert {"forget_kernel", "update_recurrent_kernel", "output_bias", "candidate_kernel"} <= names


def test_gru_follows_the_notes_equations():
    inputs, _ = random_inputs()
    cell = GRUCell(6, reset_after=False)
    layer = keras.layers.RNN(cell)
    layer(inputs)
    rng = np.random.default_rng(3)
    for weight in cell.weights:
        weight.assign(rng.normal(scale=0.6, size=weight.shape).astype("float32"))
    w = {weight.name: np.asarray(weight, np.float64) for weight in cell.weights}
    c = np.zeros((3, 6))
    for t in range(inputs.shape[1]):
        x = inputs[:, t].astype(np.float64)
        update = sigmoid(x @ w["update_kernel"] + c @ w["update_recurrent_kernel"] + w["update_bias"])
        relevance = sigmoid(x @ w["reset_kernel"] + c @ w["reset_recurrent_kernel"] + w["reset_bias"])
        candidate = np.tanh(x @ w["candidate_kernel"] + (relevance * c) @ w["candidate_recurrent_kernel"]
                            + w["candidate_bias"])
        c = update * candidate + (1 - update) * c
    np.testing.assert_allclose(np.asarray(layer(inputs)), c, atol=1e-5)


def test_lstm_follows_the_notes_equations_and_starts_remembering():
    inputs, _ = random_inputs()
    cell = LSTMCell(4)
    layer = keras.layers.RNN(cell, return_state=True)
    layer(inputs)
    np.testing.assert_array_equal(np.asarray(cell.forget_bias), np.ones(4))
    rng = np.random.default_rng(4)
    for weight in cell.weights:
        weight.assign(rng.normal(scale=0.6, size=weight.shape).astype("float32"))
    w = {weight.name: np.asarray(weight, np.float64) for weight in cell.weights}

    def gate(name, x, a):
        return x @ w[f"{name}_kernel"] + a @ w[f"{name}_recurrent_kernel"] + w[f"{name}_bias"]

    a, c = np.zeros((3, 4)), np.zeros((3, 4))
    for t in range(inputs.shape[1]):
        x = inputs[:, t].astype(np.float64)
        forget, update, output = (sigmoid(gate(name, x, a)) for name in ("forget", "update", "output"))
        c = update * np.tanh(gate("candidate", x, a)) + forget * c
        a = output * np.tanh(c)
    got_a, got_state_a, got_c = (np.asarray(value) for value in layer(inputs))
    np.testing.assert_allclose(got_a, a, atol=1e-5)
    np.testing.assert_allclose(got_state_a, a, atol=1e-5)
    np.testing.assert_allclose(got_c, c, atol=1e-5)


def test_simple_cell_with_another_activation():
    inputs, _ = random_inputs()
    reference = randomized(keras.layers.SimpleRNN(5, activation="relu"), inputs)
    cell = SimpleRNNCell.from_keras(reference)
    assert cell.get_config()["activation"] == "relu"
    np.testing.assert_allclose(np.asarray(keras.layers.RNN(cell)(inputs)), np.asarray(reference(inputs)), atol=1e-5)
    with pytest.raises(ConfigError, match="activations must match"):
        transplant(reference, SimpleRNNCell(5))


def test_transplant_rejects_mismatches():
    inputs, _ = random_inputs()
    gru = randomized(keras.layers.GRU(6), inputs)
    with pytest.raises(ConfigError, match="Received: GRU"):
        transplant(gru, LSTMCell(6))
    with pytest.raises(ConfigError, match="reset_after must match.*Received"):
        transplant(gru, GRUCell(6, reset_after=False))
    with pytest.raises(ConfigError, match="units must match.*Received"):
        transplant(gru, GRUCell(4))
    with pytest.raises(ConfigError, match="Build the Keras layer"):
        transplant(keras.layers.LSTM(6), LSTMCell(6))
    with pytest.raises(ConfigError, match="tanh.*Received"):
        LSTMCell.from_keras(randomized(keras.layers.LSTM(6, activation="relu"), inputs))
    with pytest.raises(ConfigError, match="units must be an integer >= 1. Received: units=0"):
        GRUCell(0)


def test_a_model_of_the_three_cells_saves_and_loads(tmp_path):
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(9, 4)(tokens)
    x = keras.layers.RNN(SimpleRNNCell(4), return_sequences=True)(x)
    x = keras.layers.RNN(GRUCell(5, reset_after=False), return_sequences=True)(x)
    x = keras.layers.Bidirectional(keras.layers.RNN(LSTMCell(3)))(x)
    model = keras.Model(tokens, keras.layers.Dense(2)(x))
    ids = np.array([[1, 2, 3, 4, 5, 6], [8, 7, 6, 5, 4, 3]], np.int32)
    model.save(tmp_path / "cells.keras")
    loaded = keras.models.load_model(tmp_path / "cells.keras")
    np.testing.assert_array_equal(np.asarray(loaded(ids)), np.asarray(model(ids)))
    assert isinstance(loaded.layers[3].cell, GRUCell) and loaded.layers[3].cell.reset_after is False
