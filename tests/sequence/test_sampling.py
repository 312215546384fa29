"""The stateful sampler against the window-refeeding reference: probabilities, greedy ids, seeds, top-k."""

import keras
import numpy as np
import pytest

from dlkit.errors import ConfigError
from dlkit.sequence import (
    LSTMCell,
    Stepper,
    choose,
    language_model,
    next_token_probabilities,
    sample,
    sequence_classifier,
    window_sample,
)

VOCABULARY = 13
PROMPT = [3, 7, 1, 12, 5]
_MODELS = {}


def model_for(cell, num_layers):
    """One small language model per configuration, with weights large enough to give peaked distributions."""
    key = (cell, num_layers)
    if key not in _MODELS:
        keras.utils.set_random_seed(len(_MODELS))
        model = language_model(VOCABULARY, embedding_dim=6, units=8, num_layers=num_layers, cell=cell,
                               dropout=0.1)
        rng = np.random.default_rng(len(_MODELS))
        for weight in model.weights:
            weight.assign(rng.normal(scale=0.8, size=weight.shape).astype("float32"))
        _MODELS[key] = model
    return _MODELS[key]


def reference_probabilities(model, ids):
    return np.asarray(model(np.array([ids], "int32")))[0, -1]


@pytest.mark.parametrize("cell", ["simple", "gru", "lstm"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_stepper_probabilities_equal_the_model_on_the_prefix(cell, num_layers):
    model = model_for(cell, num_layers)
    np.testing.assert_allclose(next_token_probabilities(model, PROMPT), reference_probabilities(model, PROMPT),
                               atol=1e-5)
    stepper = Stepper(model)
    stepper.reset(PROMPT[:2])
    for position, token in enumerate(PROMPT[2:], start=3):
        probabilities = stepper.step(token)
        np.testing.assert_allclose(probabilities, reference_probabilities(model, PROMPT[:position]), atol=1e-5)
    # After generating, the stepper holds the states after the generated ids too.
    generated = stepper.generate(4, temperature=0)
    np.testing.assert_allclose(stepper.probabilities, reference_probabilities(model, PROMPT + generated), atol=1e-5)


@pytest.mark.parametrize("cell, num_layers", [("simple", 2), ("gru", 1), ("lstm", 2)])
def test_greedy_and_seeded_sampling_equal_the_window_reference(cell, num_layers):
    model = model_for(cell, num_layers)
    greedy = sample(model, PROMPT, 8, temperature=0)
    assert greedy == window_sample(model, PROMPT, 8, temperature=0)
    assert len(greedy) == 8 and all(isinstance(token, int) and 0 <= token < VOCABULARY for token in greedy)
    # The same per-step seeds draw the same ids in both.
    assert sample(model, PROMPT, 8, temperature=1.5, seed=5) == window_sample(model, PROMPT, 8, temperature=1.5,
                                                                              seed=5)


def test_seeds_reproduce_and_top_k_restricts():
    model = model_for("lstm", 1)
    first = sample(model, PROMPT, 20, temperature=1.0, seed=1)
    assert sample(model, PROMPT, 20, temperature=1.0, seed=1) == first
    assert sample(model, PROMPT, 20, temperature=1.0, seed=2) != first
    greedy = sample(model, PROMPT, 20, temperature=0)
    assert sample(model, PROMPT, 20, temperature=1.0, top_k=1, seed=3) == greedy
    assert sample(model, PROMPT, 20, temperature=1e-6, seed=3) == greedy
    assert first != greedy
    # Every draw with top_k=3 is among the 3 most likely tokens at its step.
    drawn = sample(model, PROMPT, 20, temperature=2.0, top_k=3, seed=4)
    stepper = Stepper(model)
    probabilities = stepper.reset(PROMPT)
    for token in drawn:
        assert token in np.argsort(probabilities)[-3:]
        probabilities = stepper.step(token)


def test_choose_draws_from_the_tempered_distribution():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], "float32"))
    rows = np.tile(logits, (20000, 1))
    for temperature, top_k in [(1.0, 4), (0.5, 4), (1.0, 2)]:
        tokens = np.asarray(choose(rows, temperature, top_k, seed=7, step=0))
        expected = np.exp(logits / temperature)
        expected[top_k:] = 0.0
        expected /= expected.sum()
        frequencies = np.bincount(tokens, minlength=4) / len(tokens)
        np.testing.assert_allclose(frequencies, expected, atol=0.015)
    np.testing.assert_array_equal(np.asarray(choose(rows[:3], 0.0, 4, seed=7, step=0)), [0, 0, 0])


def test_a_model_of_dlkit_cells_can_be_sampled():
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(VOCABULARY, 5)(tokens)
    x = keras.layers.RNN(LSTMCell(6), return_sequences=True)(x)
    model = keras.Model(tokens, keras.layers.Dense(VOCABULARY)(x))  # logits out
    prompt = [2, 4, 6]
    logits = np.asarray(model(np.array([prompt], "int32")))[0, -1]
    expected = np.exp(logits - logits.max())
    np.testing.assert_allclose(next_token_probabilities(model, prompt), expected / expected.sum(), atol=1e-5)
    assert sample(model, prompt, 5, temperature=0) == window_sample(model, prompt, 5, temperature=0)


def test_argument_errors():
    model = model_for("gru", 1)
    for arguments, message in [
        ({"prompt": [], "length": 3}, "non-empty"),
        ({"prompt": [1, VOCABULARY], "length": 3}, f"Received: ids from 1 to {VOCABULARY}"),
        ({"prompt": [-1, 2], "length": 3}, "Received: ids from -1"),
        ({"prompt": PROMPT, "length": 0}, "Received: length=0"),
        ({"prompt": PROMPT, "length": 3, "temperature": -0.5}, "Received: temperature=-0.5"),
        ({"prompt": PROMPT, "length": 3, "top_k": 0}, "Received: top_k=0"),
    ]:
        with pytest.raises(ConfigError, match=message):
            sample(model, **arguments)
    with pytest.raises(ConfigError, match="Received: length=0"):
        window_sample(model, PROMPT, 0)
    with pytest.raises(ConfigError, match="cannot generate. Received: Bidirectional"):
        Stepper(sequence_classifier(VOCABULARY, 2, embedding_dim=3, units=2))
    with pytest.raises(ConfigError, match="return_sequences=True. Received"):
        Stepper(sequence_classifier(VOCABULARY, 2, embedding_dim=3, units=2, bidirectional=False))
    with pytest.raises(ConfigError, match="reset"):
        Stepper(model).step(3)
