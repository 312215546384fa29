"""Tests of the practitioner's tools: gradient checking, the train-dev diagnosis, error analysis (issue 21)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit import evaluation, models, training
from dlkit.errors import ConfigError


class Tanh(keras.layers.Layer):
    """``tanh(x @ kernel)`` with a hand-written gradient, right or scaled by ``kernel_gradient_scale``."""

    def __init__(self, units, kernel_gradient_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.kernel_gradient_scale = kernel_gradient_scale

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")

    def call(self, inputs):
        scale = self.kernel_gradient_scale

        @tf.custom_gradient
        def forward(x, kernel):
            y = tf.tanh(x @ kernel)

            def backward(upstream):
                local = upstream * (1 - y * y)
                return local @ tf.transpose(kernel), scale * (tf.transpose(x) @ local)

            return y, backward

        return forward(inputs, keras.ops.convert_to_tensor(self.kernel))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kernel_gradient_scale": self.kernel_gradient_scale}


def _batch(shape, classes=10, size=4):
    rng = np.random.default_rng(1)
    return rng.random((size, *shape)).astype("float32"), rng.integers(0, classes, size)


MLP = {"hidden_units": (32, 16), "l2": 0.01, "dropout": 0.3, "batch_norm": True}


@pytest.mark.parametrize(
    "name, overrides, training_mode",
    [
        ("logistic_regression", {}, False),
        # ReLU kinks: with continuous random inputs no pre-activation lies within ε of 0. In training mode BatchNorm
        # uses the batch's statistics and Dropout one fixed mask (its seed state is held fixed between evaluations).
        ("mlp", MLP, False),
        ("mlp", MLP, True),
        ("lenet5", {"input_shape": (16, 16, 1)}, False),  # tanh and average pooling: smooth
        ("small_cnn", {}, False),  # ReLU and max pooling: ties within ε are as unlikely
    ],
)
def test_gradient_check_passes_on_zoo_models_in_float64(name, overrides, training_mode):
    model = models.build(name, **overrides)
    model.compile(loss="sparse_categorical_crossentropy")
    x, y = _batch(model.input_shape[1:])
    result = training.gradient_check(model, x, y, training=training_mode)
    assert result.difference < 1e-7, result.table()
    assert result.verdict == "fine"
    assert all(tensor.difference < 1e-6 for tensor in result.tensors), result.table()
    assert [tensor.name for tensor in result.tensors] == [v.path.removeprefix(f"{model.name}/")
                                                          for v in model.trainable_variables]
    assert all(tensor.checked == min(tensor.size, training.GRADIENT_CHECK_ENTRIES) for tensor in result.tensors)
    assert model.trainable_variables[0].dtype == "float32"  # the model itself is left as it was


def test_gradient_check_matches_the_closed_form_gradient_and_includes_regularization():
    # Softmax regression: dJ/dW = X^T (P - Y) / n, plus 2 λ W for the L2 penalty (Keras's L2 is λ Σ w²).
    model = models.build("mlp", hidden_units=(), l2=0.1)
    model.compile(loss="sparse_categorical_crossentropy")
    x, y = _batch((8, 8, 1))
    result = training.gradient_check(model, x, y, max_entries=10_000)
    kernel, bias = (np.asarray(w, np.float64) for w in model.get_weights())
    inputs = x.reshape(len(x), -1).astype(np.float64)
    logits = inputs @ kernel + bias
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    targets = np.eye(10)[y]
    kernel_gradient = inputs.T @ (probabilities - targets) / len(x) + 2 * 0.1 * kernel
    cross_entropy = -np.mean(np.log(probabilities[np.arange(len(y)), y]))
    assert result.loss == pytest.approx(cross_entropy + 0.1 * np.sum(kernel**2), rel=1e-6)
    assert result.tensors[0].checked == kernel.size
    assert result.tensors[0].gradient_norm == pytest.approx(np.linalg.norm(kernel_gradient), rel=1e-6)
    assert result.difference < 1e-7


def _custom_model(kernel_gradient_scale):
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(5, activation="tanh", name="dense")(inputs)
    hidden = Tanh(4, kernel_gradient_scale, name="custom")(hidden)
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(hidden)
    return keras.Model(inputs, outputs, name="custom_model")


@pytest.mark.parametrize("loss", ["compiled", "function"])
def test_gradient_check_flags_a_wrong_custom_gradient_and_passes_the_right_one(loss):
    x, y = _batch((6,), classes=3, size=8)
    results = {}
    for scale in (1.0, 1.5):
        model = _custom_model(scale)
        if loss == "compiled":  # a Loss object, rebuilt in float64
            model.compile(loss=keras.losses.SparseCategoricalCrossentropy())
            results[scale] = training.gradient_check(model, x, y)
        else:  # a plain function, averaged over the batch
            results[scale] = training.gradient_check(model, x, y, loss=keras.losses.sparse_categorical_crossentropy)
    assert results[1.0].difference < 1e-7 and results[1.0].verdict == "fine", results[1.0].table()
    wrong = results[1.5]
    assert wrong.difference > 1e-3 and wrong.verdict.startswith("likely a bug"), wrong.table()
    assert wrong.worst.name == "custom/kernel" and "custom/kernel" in wrong.verdict
    # The wrong gradient is 1.5 g, so that tensor's difference is |1.5 - 1| / (1.5 + 1) = 0.2.
    assert wrong.worst.difference == pytest.approx(0.2, rel=1e-5)
    # Only the kernel's gradient is scaled: the gradient passed down to the layer below stays right.
    assert {tensor.name: tensor.difference < 1e-6 for tensor in wrong.tensors} == {
        "dense/kernel": True, "dense/bias": True, "custom/kernel": False, "predictions/kernel": True,
        "predictions/bias": True}
    assert "likely a bug" in wrong.summary() and "custom/kernel" in wrong.table()
    if loss == "compiled":  # a gradient off by 0.01%: between the notes' 1e-7 and 1e-3, worth a closer look
        close = training.gradient_check(_custom_model(1.0001), x, y, loss="sparse_categorical_crossentropy")
        assert 1e-6 < close.difference < 1e-3 and close.verdict.startswith("look closer"), close.table()


def test_gradient_check_samples_entries_with_a_seed_and_checks_its_arguments():
    model = models.build("logistic_regression")
    x, y = _batch((8, 8, 1))
    result = training.gradient_check(model, x, y, loss="sparse_categorical_crossentropy", max_entries=7, seed=3)
    assert [tensor.checked for tensor in result.tensors] == [7, 7]
    again = training.gradient_check(model, x, y, loss="sparse_categorical_crossentropy", max_entries=7, seed=3)
    assert again.difference == result.difference
    with pytest.raises(ConfigError, match="Received: loss=None"):
        training.gradient_check(model, x, y)
    with pytest.raises(ConfigError, match="Received: epsilon=0"):
        training.gradient_check(model, x, y, epsilon=0, loss="mse")
    with pytest.raises(ConfigError, match="Received: max_entries=0"):
        training.gradient_check(model, x, y, loss="mse", max_entries=0)
    with pytest.raises(ConfigError, match="Received: loss='no_such_loss'"):
        training.gradient_check(model, x, y, loss="no_such_loss")


@pytest.mark.parametrize(
    "train, train_dev, dev, problem, focus",
    [  # the notes' table (human 0%): which gap is large tells what to work on
        (0.01, 0.09, 0.10, "high variance", "variance"),
        (0.01, 0.015, 0.10, "data mismatch", "data mismatch"),
        (0.10, 0.11, 0.12, "high bias", "bias"),
        (0.10, 0.11, 0.20, "high bias and data mismatch", "bias"),
    ],
)
def test_diagnose_with_a_training_dev_set(train, train_dev, dev, problem, focus):
    diagnosis = evaluation.diagnose(train, dev, human_error=0.0, train_dev_error=train_dev)
    assert (diagnosis.problem, diagnosis.focus) == (problem, focus)
    assert diagnosis.avoidable_bias == pytest.approx(train)
    assert diagnosis.variance == pytest.approx(train_dev - train)
    assert diagnosis.data_mismatch == pytest.approx(dev - train_dev)
    assert diagnosis.dev_overfitting is None


def test_diagnose_orders_advice_by_gap_and_reads_the_dev_test_gap():
    # Train 10%, train-dev 11%, dev 20%: the bias gap (10 points) before the data mismatch (9 points).
    advice = evaluation.diagnose(0.10, 0.20, train_dev_error=0.11).advice
    assert advice[0] == "train a bigger network"
    assert advice.index("try another architecture") < advice.index(evaluation.DATA_MISMATCH_ADVICE[0])
    # Human 4%, train 5%, train-dev 6%, dev 15%, test 30%: overfitting the dev set is the largest gap.
    diagnosis = evaluation.diagnose(0.05, 0.15, human_error=0.04, train_dev_error=0.06, test_error=0.30)
    assert diagnosis.dev_overfitting == pytest.approx(0.15)
    assert diagnosis.problem == "data mismatch and dev overfitting"
    assert diagnosis.focus == "dev overfitting"
    assert diagnosis.advice[0].startswith("get a bigger dev set")
    assert diagnosis.advice[1] == evaluation.DATA_MISMATCH_ADVICE[0]
    # A test error alone: variance stays dev - train.
    alone = evaluation.diagnose(0.01, 0.015, test_error=0.016)
    assert (alone.variance, alone.data_mismatch, alone.problem, alone.focus) == (0.005, None, "no large gap", None)
    with pytest.raises(ConfigError, match="Received: train_dev_error=9"):
        evaluation.diagnose(0.01, 0.10, train_dev_error=9)


def test_diagnose_table_has_the_notes_layout():
    lines = evaluation.diagnose(0.01, 0.10, human_error=0.0, train_dev_error=0.015, test_error=0.10).table()
    lines = lines.splitlines()
    assert [line.split()[0] for line in lines[:9]] == [
        "human", "avoidable", "training", "variance", "training-dev", "data", "dev", "dev", "test"]
    assert lines[5].split()[-1] == "8.5%" and lines[7].split()[-1] == "0.0%"
    assert lines[-1].startswith("data mismatch: carry out manual error analysis")
    # Without a training-dev error the variance gap sits between training and dev, as before.
    two = evaluation.diagnose(0.01, 0.11).table().splitlines()
    assert [line.split()[0] for line in two[:5]] == ["human", "avoidable", "training", "variance", "dev"]
    assert "not given" in two[0] and two[3].split()[-1] == "10.0%"


def test_error_analysis_tallies_tags_and_the_ceiling():
    # 20 examined mistakes at 10% dev error: 9 great cats (2 of them also blurry), 5 blurry, 2 dogs, 6 untagged.
    tags = [["great cat"]] * 7 + [{"great cat", "blurry"}] * 2 + ["blurry"] * 3 + [("dog", "dog")] * 2
    analysis = evaluation.error_analysis(tags, total_errors=20, dev_error=0.10)
    assert [(row.tag, row.count) for row in analysis.rows] == [("great cat", 9), ("blurry", 5), ("dog", 2)]
    assert [row.share for row in analysis.rows] == pytest.approx([0.45, 0.25, 0.10])
    assert [row.ceiling for row in analysis.rows] == pytest.approx([0.045, 0.025, 0.010])
    assert analysis.rows[2].error_after == pytest.approx(0.09)  # "fixing dogs can at best bring 10% to 9%"
    assert analysis.untagged == 6
    table = analysis.table().splitlines()
    assert table[1].split() == ["great", "cat", "9", "45.0%", "4.50%", "10.00%", "->", "5.50%"]
    assert table[-1].startswith("20 mistakes examined, 6 without a tag")
    plain = evaluation.error_analysis(["dog", "cat", "dog", []])
    assert (plain.total_errors, plain.rows[0].tag, plain.rows[0].share, plain.rows[0].ceiling) == (4, "dog", 0.5, None)
    assert "ceiling" not in plain.table()
    with pytest.raises(ConfigError, match="Received: total_errors=2"):
        evaluation.error_analysis(["dog", "cat", "dog"], total_errors=2)
    with pytest.raises(ConfigError, match="Received: entry=3"):
        evaluation.error_analysis([3])
