"""dlkit.optimizers and the schedules by name: Adam without bias correction, the notes' decay forms, plateau."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit import optimizers, training


def first_steps(optimizer, gradients):
    variable = keras.Variable(np.zeros(3, "float32"))
    optimizer.build([variable])
    steps = []
    for gradient in gradients:
        before = variable.numpy().copy()
        optimizer.apply_gradients([(tf.constant(gradient, tf.float32), variable)])
        steps.append(variable.numpy() - before)
    return np.array(steps)


def test_adam_without_bias_correction_follows_the_uncorrected_moments():
    gradients = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    ours = first_steps(optimizers.AdamWithoutBiasCorrection(0.01), gradients)
    corrected = first_steps(keras.optimizers.Adam(0.01), gradients)
    m, v, expected = np.zeros(3), np.zeros(3), []
    for gradient in gradients:  # Kingma & Ba's algorithm 1 without lines "m_hat", "v_hat"
        m, v = 0.9 * m + 0.1 * gradient, 0.999 * v + 0.001 * gradient**2
        expected.append(-0.01 * m / (np.sqrt(v) + 1e-7))
    np.testing.assert_allclose(ours, expected, rtol=1e-4)
    # The first step is (1 - beta_1) / sqrt(1 - beta_2) ~ 3.16 times Adam's.
    np.testing.assert_allclose(ours[0] / corrected[0], 0.1 / np.sqrt(0.001), rtol=1e-3)


def test_the_optimizer_saves_and_reloads_in_a_compiled_model(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="dense")])
    model.compile(optimizer=optimizers.AdamWithoutBiasCorrection(3e-3), loss="mse")
    model.fit(np.ones((8, 4)), np.zeros((8, 2)), epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.optimizer, optimizers.AdamWithoutBiasCorrection)
    assert loaded.optimizer.learning_rate.numpy() == pytest.approx(3e-3)


@pytest.mark.parametrize("form, formula", [
    ("inverse_time", lambda rate, k, epoch: rate / (1 + k * epoch)),
    ("inverse_sqrt", lambda rate, k, epoch: rate / np.sqrt(1 + k * epoch)),
])
def test_the_notes_decay_forms_step_per_epoch_and_end_at_the_decay_rate(form, formula):
    epochs, per_epoch = 10, 7
    schedule = training.learning_rate_schedule(form, 0.1, epochs * per_epoch, decay_rate=0.2,
                                               steps_per_epoch=per_epoch)
    rates = np.array([float(schedule(step)) for step in range(epochs * per_epoch)])
    k = optimizers.decay_constant(form, epochs, 0.2)
    expected = [formula(0.1, k, step // per_epoch) for step in range(epochs * per_epoch)]
    np.testing.assert_allclose(rates, expected, rtol=1e-5)
    assert rates[-1] == pytest.approx(0.1 * 0.2, rel=1e-5)  # the last epoch runs at rate x decay_rate
    assert len(set(rates[:per_epoch].tolist())) == 1  # constant within an epoch


def test_plateau_halves_the_rate_when_the_monitor_stalls_and_adagrad_is_known():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    noise = tf.data.Dataset.from_tensor_slices((x, rng.integers(0, 2, 64))).batch(16)  # labels it cannot learn
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    result = training.fit(model, train, noise, epochs=8, optimizer="adagrad", learning_rate=0.5,
                          schedule="plateau", backup=False, verbose=0)
    assert isinstance(result.model.optimizer, keras.optimizers.Adagrad)
    rates = result.history["learning_rate"]
    assert rates[0] == pytest.approx(0.5) and rates[-1] <= 0.25 and set(np.round(rates, 6)) <= {0.5, 0.25, 0.125,
                                                                                                  0.0625, 0.03125}
