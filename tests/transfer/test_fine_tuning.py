"""fine_tune: frozen batch norm stays put, recompiling reaches the new variables, epochs continue."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit import transfer
from dlkit.errors import ConfigError


def tiny_data(count=16, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (count, 32, 32, 3)).astype("float32")
    labels = (images.mean(axis=(1, 2, 3)) > 127.5).astype("int32")
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)


def batch_norm_state(model):
    base = transfer.find_base(model)
    return {
        variable.path: variable.numpy().copy()
        for layer in base.layers
        if isinstance(layer, keras.layers.BatchNormalization)
        for variable in layer.weights
    }


def kernels(model):
    base = transfer.find_base(model)
    return {
        layer.name: layer.get_weights()[0].copy() for layer in base.layers if isinstance(layer, keras.layers.Conv2D)
    }


class OptimizerSpy(keras.callbacks.Callback):
    """Records, at the end of each fit call, which variables the optimizer updates."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_end(self, logs=None):
        self.seen.append(sorted(variable.path for variable in self.model.optimizer._trainable_variables))


@pytest.fixture
def model():
    classifier = transfer.build_classifier("vgg_tiny", 2, input_shape=(32, 32, 3), freeze=False)
    # Non-trivial statistics, as a pretrained base would have: a few forward passes in training mode.
    preprocess, base = classifier.get_layer("preprocessing"), transfer.find_base(classifier)
    for images, _ in tiny_data(seed=1).repeat(3):
        base(preprocess(images), training=True)
    transfer.freeze(classifier)
    return classifier


def test_frozen_batch_norm_is_unchanged_by_fine_tuning(model):
    before_bn, before_kernels = batch_norm_state(model), kernels(model)
    result = transfer.fine_tune(model, tiny_data(), head_epochs=1, fine_tune_epochs=2, learning_rate=1e-2, verbose=0)
    assert len(result.unfrozen) == 13
    after_bn, after_kernels = batch_norm_state(model), kernels(model)
    assert after_bn.keys() == before_bn.keys() and len(after_bn) == 13 * 4
    for path, value in before_bn.items():
        np.testing.assert_array_equal(after_bn[path], value, err_msg=path)
    # ... while the unfrozen convolutions did train.
    assert all(not np.array_equal(after_kernels[name], before_kernels[name]) for name in before_kernels)


def test_control_batch_norm_statistics_move_in_training_mode(model):
    # The same base trained the naive way (called in training mode): its statistics move,
    # so the test above would notice if the classifier let them.
    base = transfer.find_base(model)
    before = batch_norm_state(model)
    inputs = keras.Input((32, 32, 3))
    naive = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(base(inputs))))
    transfer.set_trainable(base, True)
    naive.compile("adam", "sparse_categorical_crossentropy")
    naive.fit(tiny_data(), epochs=1, verbose=0, shuffle=False)
    after = batch_norm_state(model)
    moved = [path for path in before if "moving" in path and not np.allclose(after[path], before[path])]
    assert len(moved) == 26


def test_unfrozen_batch_norm_learns_scale_but_keeps_statistics(model):
    before = batch_norm_state(model)
    transfer.fine_tune(
        model,
        tiny_data(),
        head_epochs=1,
        fine_tune_epochs=1,
        learning_rate=1e-2,
        keep_batchnorm_frozen=False,
        verbose=0,
    )
    after = batch_norm_state(model)
    for path in before:
        if "moving" in path:  # training=False: inference mode, statistics kept
            np.testing.assert_array_equal(after[path], before[path], err_msg=path)
    assert any(not np.array_equal(after[path], before[path]) for path in before if path.endswith("gamma"))


def test_recompiled_optimizer_sees_the_newly_trainable_variables(model, tmp_path):
    spy = OptimizerSpy()
    before = kernels(model)
    result = transfer.fine_tune(
        model, tiny_data(), head_epochs=2, fine_tune_epochs=1, top_n=2, out=tmp_path, callbacks=[spy], head_steps=0,
        verbose=0,
    )
    head_phase, tune_phase = spy.seen
    assert head_phase == ["predictions/bias", "predictions/kernel"]
    assert tune_phase == sorted(variable.path for variable in model.trainable_variables)
    assert tune_phase == sorted(
        ["predictions/bias", "predictions/kernel", "block5_conv2/kernel", "block5_conv3/kernel"]
    )
    after = kernels(model)
    changed = sorted(name for name in before if not np.array_equal(before[name], after[name]))
    assert changed == ["block5_conv2", "block5_conv3"] == sorted(result.unfrozen)
    # The epoch count continues: phase two logs epochs 2 (0-based), after the head's 0 and 1.
    with open(tmp_path / "fine_tune" / "history.csv") as handle:
        assert [int(row["epoch"]) for row in csv.DictReader(handle)] == [2]
    assert len(result.head_history["loss"]) == 2 and len(result.fine_tune_history["loss"]) == 1
    assert len(result.history["loss"]) == 3
    assert result.fine_tune_learning_rate == pytest.approx(1e-5)  # the head's 1e-3 / 100, the Keras guide's ratio


def test_layer_multipliers_scale_the_fine_tuning_steps(model):
    before = kernels(model)
    transfer.fine_tune(
        model,
        tiny_data(),
        head_epochs=1,
        fine_tune_epochs=1,
        top_n=2,
        layer_multipliers={"block5_conv3": 0.0},
        verbose=0,
    )
    after = kernels(model)
    assert np.array_equal(after["block5_conv3"], before["block5_conv3"])  # trainable, but at rate 0
    assert not np.array_equal(after["block5_conv2"], before["block5_conv2"])


def test_bad_settings_are_refused(model):
    with pytest.raises(ConfigError, match="fine_tune_epochs=0"):
        transfer.fine_tune(model, tiny_data(), fine_tune_epochs=0)
    with pytest.raises(ConfigError, match="not both"):
        transfer.fine_tune(model, tiny_data(), layer_multipliers={}, layer_decay=0.5)
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ConfigError, match="nested backbone"):
        transfer.fine_tune(plain, tiny_data())


def test_the_head_starts_at_equal_logits_and_phase_1_counts_steps(model):
    images, _ = next(iter(tiny_data()))
    np.testing.assert_allclose(np.asarray(model(images)), 0.5, atol=1e-6)  # zero-initialized head, 2 classes
    result = transfer.fine_tune(model, tiny_data(), tiny_data(seed=2), head_epochs=2, fine_tune_epochs=1,
                                head_steps=120, verbose=0)
    # 16 images are 2 batches an epoch: phase 1 still took its 120 steps (on cached features, 32 a batch).
    assert result.head_steps == 120 and len(result.head_history["loss"]) == 2
    assert result.head_history["loss"][-1] < result.head_history["loss"][0]


def test_phase_1_standardizes_the_pooled_features_and_trains_the_classifiers_own_head(model):
    before = model.get_layer("predictions").get_weights()[0].copy()
    result = transfer.fine_tune(model, tiny_data(), head_epochs=1, fine_tune_epochs=1, fine_tune_learning_rate=1e-7,
                                fraction=0.1, verbose=0)
    extractor = keras.Model(model.inputs, model.get_layer("head_standardization").input)
    features = np.concatenate([np.asarray(extractor(images)) for images, _ in tiny_data()])
    layer = model.get_layer("head_standardization")
    np.testing.assert_allclose(layer.mean.numpy(), features.mean(axis=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.variance.numpy(), features.var(axis=0), rtol=1e-3, atol=1e-4)
    assert not np.allclose(model.get_layer("predictions").get_weights()[0], before)
    assert result.head_steps == transfer.fine_tuning.HEAD_STEPS


def test_with_callbacks_phase_1_runs_on_images_and_still_counts_steps(model):
    seen = []

    class Evaluates(keras.callbacks.Callback):  # a user's callback: the classifier, compiled, on images
        def on_epoch_end(self, epoch, logs=None):
            assert self.model.optimizer is not None
            seen.append(np.asarray(self.model(next(iter(tiny_data()))[0], training=False)).shape)

    result = transfer.fine_tune(model, tiny_data(), head_epochs=2, fine_tune_epochs=1, head_steps=10,
                                callbacks=[Evaluates()], verbose=0)
    assert seen == [(8, 2)] * 3 and result.head_steps == 10  # 2 batches a pass, 5 steps an epoch


def test_a_phase_2_that_hurts_the_validation_loss_is_undone(model):
    snapshots = {}

    class Sabotage(keras.callbacks.Callback):
        """Keeps phase 1's final weights, then wrecks the head as phase 2 (epochs 2 and up) begins."""

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                snapshots["head"] = [weight.copy() for weight in self.model.get_weights()]

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                kernel = self.model.get_layer("predictions").kernel
                kernel.assign(-20.0 * np.sign(kernel.numpy() + 1e-3))

    result = transfer.fine_tune(model, tiny_data(), tiny_data(seed=3), head_epochs=2, fine_tune_epochs=1,
                                fine_tune_learning_rate=1e-7, callbacks=[Sabotage()], head_steps=0, verbose=0)
    assert result.fine_tune_history["val_loss"][-1] > result.head_history["val_loss"][-1]
    assert result.kept == "head"
    for kept, snapshot in zip(model.get_weights(), snapshots["head"]):
        np.testing.assert_array_equal(kept, snapshot)
    # Asked not to, it keeps what phase 2 left.
    again = transfer.fine_tune(model, tiny_data(), tiny_data(seed=3), head_epochs=2, fine_tune_epochs=1,
                               fine_tune_learning_rate=1e-7, callbacks=[Sabotage()], keep_better=False, head_steps=0,
                               verbose=0)
    assert again.kept == "fine_tuned"
