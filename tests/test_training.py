"""Tests of dlkit.training: resume, strategies, schedules, precision, divergence."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit import models, training
from dlkit.errors import ConfigError, TrainingError


def tiny_data(n=64, batch=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)


def tiny_model():
    return models.build("mlp", input_shape=(4,), num_classes=2, hidden_units=(8,))


class Interrupt(Exception):
    pass


class InterruptAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Interrupt(f"killed at epoch {epoch}")


def test_interrupted_run_resumes_from_last_finished_epoch(tmp_path):
    data = tiny_data()
    with pytest.raises(Interrupt):
        training.fit(tiny_model, data, epochs=6, out=tmp_path, callbacks=[InterruptAt(3)], verbose=0)
    assert (tmp_path / "backup").exists()  # the backup survives the crash

    result = training.fit(tiny_model, data, epochs=6, out=tmp_path, verbose=0)
    assert result.initial_epoch == 3
    assert result.epochs_run == 3
    assert len(result.history["loss"]) == 6  # epochs from both runs, from history.csv
    assert not (tmp_path / "backup").exists()  # removed after a finished run (keep_backup=False)
    assert (tmp_path / "checkpoints" / "best.keras").exists()
    assert len(json.loads((tmp_path / "history.json").read_text())["loss"]) == 6


def test_fresh_run_starts_at_zero_and_writes_history(tmp_path):
    result = training.fit(tiny_model(), tiny_data(), tiny_data(seed=1), epochs=2, out=tmp_path, verbose=0)
    assert result.initial_epoch == 0 and result.epochs_run == 2
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_nan_loss_raises_training_error(tmp_path):
    x = np.ones((16, 4), "float32")
    y = np.full((16, 1), np.nan, "float32")  # a NaN target makes the squared error NaN
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)

    def regression():
        return models.build("mlp", input_shape=(4,), num_classes=1, hidden_units=(8,), classifier_activation="linear")

    with pytest.raises(TrainingError, match="diverged"):
        training.fit(regression, data, epochs=2, out=tmp_path, loss="mse", metrics=(), verbose=0)
    assert not (tmp_path / "history.json").exists()  # nothing pretends the run finished


@pytest.mark.parametrize("name", ["constant", "exponential", "step", "cosine"])
def test_schedules_start_at_the_learning_rate_and_decay(name):
    schedule = training.learning_rate_schedule(name, 0.1, total_steps=100, decay_rate=0.1)
    start = schedule if isinstance(schedule, float) else float(schedule(0))
    end = schedule if isinstance(schedule, float) else float(schedule(99))
    assert start == pytest.approx(0.1)
    if name == "constant":
        assert end == pytest.approx(0.1)
    else:
        assert end < 0.1 * 0.5
    if name == "step":
        assert float(schedule(60)) == pytest.approx(0.01)
        assert float(schedule(80)) == pytest.approx(0.001)


def test_cosine_warmup_ramps_up():
    schedule = training.learning_rate_schedule("cosine", 0.1, 100, warmup_steps=10)
    assert float(schedule(0)) == pytest.approx(0.0)
    assert float(schedule(10)) == pytest.approx(0.1, rel=1e-3)


@pytest.mark.parametrize(
    "name, kind", [("sgd", keras.optimizers.SGD), ("rmsprop", keras.optimizers.RMSprop), ("adam", keras.optimizers.Adam)]
)
def test_optimizers_by_name(name, kind):
    optimizer = training.make_optimizer(name, 0.01, momentum=0.8)
    assert isinstance(optimizer, kind)
    if name == "sgd":
        assert optimizer.momentum == pytest.approx(0.8)


def test_bad_names_raise_config_error():
    with pytest.raises(ConfigError, match="Received: optimizer='adagrad2'"):
        training.make_optimizer("adagrad2", 0.1)
    with pytest.raises(ConfigError, match="schedule"):
        training.learning_rate_schedule("linear", 0.1, 10)
    with pytest.raises(ConfigError, match="strategy"):
        training.make_strategy("tpu")
    with pytest.raises(ConfigError, match="epochs"):
        training.fit(tiny_model, tiny_data(), epochs=0)


def test_multiworker_without_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="TF_CONFIG"):
        training.make_strategy("multiworker")


def test_mixed_precision_builds_float16_layers_with_float32_output():
    result = training.fit(
        lambda: models.build("lenet5", input_shape=(16, 16, 1), num_classes=3),
        tf.data.Dataset.from_tensor_slices((np.random.rand(8, 16, 16, 1).astype("float32"), np.arange(8) % 3)).batch(4),
        epochs=1,
        mixed_precision=True,
        verbose=0,
    )
    model = result.model
    assert model.get_layer("c1").compute_dtype == "float16"
    assert model.get_layer("predictions").compute_dtype == "float32"
    assert model.outputs[0].dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert np.isfinite(result.history["loss"]).all()


def test_mixed_precision_needs_a_builder():
    with pytest.raises(ConfigError, match="builder callable"):
        training.fit(tiny_model(), tiny_data(), epochs=1, mixed_precision=True, verbose=0)


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from dlkit import data, models, training

    train, info = data.load("digits", "train", image_size=16, batch_size=64, shuffle=False)
    losses = {}
    for name in ("default", "mirrored"):
        keras.utils.set_random_seed(0)
        result = training.fit(
            lambda: models.build("lenet5", input_shape=(16, 16, 1), num_classes=10),
            train, epochs=3, optimizer="sgd", learning_rate=0.05, strategy=name, verbose=0,
        )
        losses[name] = result.history["loss"]
        losses[name + "_replicas"] = result.strategy.num_replicas_in_sync
    print(json.dumps(losses))
    """
)


def test_mirrored_over_two_cpus_matches_default_strategy(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    completed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    losses = json.loads(completed.stdout.strip().splitlines()[-1])
    assert losses["default_replicas"] == 1
    assert losses["mirrored_replicas"] == 2
    np.testing.assert_allclose(losses["mirrored"], losses["default"], rtol=1e-3)
    assert losses["default"][-1] < losses["default"][0]  # it learned


def test_changed_settings_on_resume_are_refused(tmp_path):
    data = tiny_data()
    with pytest.raises(Interrupt):
        training.fit(tiny_model, data, epochs=4, optimizer="sgd", learning_rate=0.01, out=tmp_path,
                     callbacks=[InterruptAt(2)], verbose=0)
    with pytest.raises(ConfigError, match=r"learning_rate=0\.01.*Received: learning_rate=0\.02"):
        training.fit(tiny_model, data, epochs=4, optimizer="sgd", learning_rate=0.02, out=tmp_path, verbose=0)
    # The same settings resume it.
    result = training.fit(tiny_model, data, epochs=4, optimizer="sgd", learning_rate=0.01, out=tmp_path, verbose=0)
    assert result.initial_epoch == 2 and result.epochs_run == 2


def test_resume_restores_the_optimizer_state_and_matches_an_uninterrupted_run(tmp_path):
    data = tiny_data()  # not shuffled: an epoch sees the same batches in a fresh call
    keras.utils.set_random_seed(1)
    straight = training.fit(tiny_model, data, epochs=4, optimizer="adam", learning_rate=0.05, out=tmp_path / "a",
                            verbose=0)
    keras.utils.set_random_seed(1)
    with pytest.raises(Interrupt):
        training.fit(tiny_model, data, epochs=4, optimizer="adam", learning_rate=0.05, out=tmp_path / "b",
                     callbacks=[InterruptAt(2)], verbose=0)
    resumed = training.fit(tiny_model, data, epochs=4, optimizer="adam", learning_rate=0.05, out=tmp_path / "b",
                           verbose=0)
    # Adam's moments and step count came back with the weights: the same losses as one call.
    np.testing.assert_allclose(resumed.history["loss"], straight.history["loss"], rtol=1e-5)
    for mine, theirs in zip(resumed.model.get_weights(), straight.model.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_a_kept_backup_makes_a_finished_phase_skip_training(tmp_path):
    data = tiny_data()
    first = training.fit(tiny_model, data, epochs=3, out=tmp_path, keep_backup=True, verbose=0)
    state = json.loads((tmp_path / "backup" / "state.json").read_text())
    assert state["finished"] and state["epoch"] == 3
    again = training.fit(tiny_model, data, epochs=3, out=tmp_path, keep_backup=True, verbose=0)
    assert again.epochs_run == 0 and len(again.history["loss"]) == 3
    for mine, theirs in zip(again.model.get_weights(), first.model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    from dlkit import files

    files.clear_resume_state(tmp_path)
    assert not (tmp_path / "backup").exists()
    fresh = training.fit(tiny_model, data, epochs=3, out=tmp_path, verbose=0)
    assert fresh.epochs_run == 3


def test_history_keeps_each_epoch_once_and_the_checkpoint_keeps_the_best_across_a_resume(tmp_path):
    # An earlier run reached epoch 4 in the history, but its last backup is of epoch 3 (killed in between).
    (tmp_path / "history.csv").write_text(
        "epoch,loss,val_loss\n0,1.0,0.9\n1,0.8,0.2\n2,0.7,0.5\n3,0.6,0.4\n"
    )
    log = training.HistoryLog(tmp_path / "history.csv", start_epoch=3)
    assert [row["epoch"] for row in log.rows] == [0, 1, 2]
    model = tiny_model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    checkpoint = training.BestCheckpoint(tmp_path / "best.keras", "val_loss", earlier=log.column("val_loss"))
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(3, {"val_loss": 0.3})  # worse than epoch 1's 0.2: the best stays
    assert not (tmp_path / "best.keras").exists() and checkpoint.best == pytest.approx(0.2)
    checkpoint.on_epoch_end(4, {"val_loss": 0.1})
    assert (tmp_path / "best.keras").exists() and checkpoint.best == pytest.approx(0.1)
    log.set_model(model)
    log.on_epoch_end(3, {"loss": 0.5, "val_loss": 0.3})
    assert [int(line.split(",")[0]) for line in (tmp_path / "history.csv").read_text().splitlines()[1:]] == [0, 1, 2, 3]


def test_an_exploding_finite_loss_is_a_training_error_and_keeps_the_last_good_backup(tmp_path):
    class Explode(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:  # from the third epoch on, a step size a million times too large
                self.model.optimizer.learning_rate.assign(1e6)

    with pytest.raises(TrainingError, match="diverged: the loss rose to"):
        training.fit(tiny_model, tiny_data(), epochs=5, optimizer="sgd", learning_rate=0.01, out=tmp_path,
                     callbacks=[Explode()], verbose=0)
    assert json.loads((tmp_path / "backup" / "state.json").read_text())["epoch"] == 2
    guard = training.DivergenceGuard(factor=100.0, reference=0.7)
    guard.on_epoch_end(0, {"loss": 99.0})  # the reference is floored at 1.0: a loss starting near 0 may move
    with pytest.raises(TrainingError):
        guard.on_epoch_end(1, {"loss": 101.0})


def test_a_kill_during_a_save_leaves_the_old_file_and_a_leftover_that_is_cleaned(tmp_path):
    target = tmp_path / "model.txt"
    target.write_text("old")
    script = "from dlkit import files; files.write_text(__import__('sys').argv[1], 'new')"
    environment = dict(__import__("os").environ, DLKIT_FAILPOINTS="save:model.txt", DLKIT_REGISTER_ON_IMPORT="0")
    completed = subprocess.run([sys.executable, "-c", script, str(target)], env=environment, timeout=60)
    assert completed.returncode == -9  # SIGKILL, as the failpoint asked
    assert target.read_text() == "old"
    from dlkit import files

    assert files.remove_leftovers(tmp_path) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.txt"]


@pytest.mark.parametrize("clip", [{"clipnorm": 1e-3}, {"clipvalue": 1e-4}])
def test_gradient_clipping_bounds_every_update(clip):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 50, (8, 4)).astype("float32")  # large inputs: large gradients
    y = np.arange(8, dtype="int32") % 2
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)  # one step
    model = tiny_model()
    before = [weights.copy() for weights in model.get_weights()]
    training.fit(model, data, epochs=1, optimizer="sgd", learning_rate=1.0, momentum=0.0, **clip, verbose=0)
    for old, new in zip(before, model.get_weights()):
        step = new - old
        rounding = 2 * np.finfo(np.float32).eps * max(np.abs(old).max(), 1.0)  # of new - old in float32
        if "clipnorm" in clip:
            assert np.linalg.norm(step) <= clip["clipnorm"] + np.sqrt(step.size) * rounding
        else:
            assert np.abs(step).max() <= clip["clipvalue"] + rounding
    # Unclipped, the same step is large: the bound above is the clipping's doing.
    model = tiny_model()
    before = [weights.copy() for weights in model.get_weights()]
    training.fit(model, data, epochs=1, optimizer="sgd", learning_rate=1.0, momentum=0.0, verbose=0)
    assert max(np.abs(new - old).max() for old, new in zip(before, model.get_weights())) > 1.0
    with pytest.raises(ConfigError, match="clipnorm"):
        training.make_optimizer("adam", 0.1, clipnorm=0)


def test_a_decaying_schedule_on_a_dataset_of_unknown_length_is_refused(tmp_path):
    # from_generator has no known length: counting one step per epoch would end the decay after the first step.
    images, labels = next(iter(tiny_data(n=16, batch=16)))
    unknown = tf.data.Dataset.from_generator(lambda: iter([(images, labels)]), output_signature=(
        tf.TensorSpec(images.shape, images.dtype), tf.TensorSpec(labels.shape, labels.dtype)))
    with pytest.raises(ConfigError, match="steps_per_epoch"):
        training.fit(tiny_model(), unknown, epochs=1, schedule="cosine", backup=False, verbose=0)
    known = unknown.apply(tf.data.experimental.assert_cardinality(1))
    result = training.fit(tiny_model(), known, epochs=1, schedule="cosine", backup=False, verbose=0)
    assert result.epochs_run == 1
    training.fit(tiny_model(), unknown, epochs=1, backup=False, verbose=0)  # a constant rate needs no count
