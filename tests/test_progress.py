"""dlkit.progress, dlkit.native_logs and the progress of the long loops: stylize, word2vec, feature extraction, fit."""

import io
import os

import harness
import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit import native_logs, progress, style, training
from dlkit.embeddings import train_word2vec
from dlkit.style.transfer import COMPONENTS
from dlkit.transfer.features import extract_features

SKIMAGE = __import__("pathlib").Path(__import__("skimage").__file__).parent / "data"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


class _Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("begin", None))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append((batch, {key: float(value) for key, value in (logs or {}).items()}))

    def on_train_end(self, logs=None):
        self.events.append(("end", None))


@pytest.fixture
def every_step(monkeypatch):
    """Heartbeat lines after every step (the default waits seconds between them)."""
    monkeypatch.setattr(progress, "HEARTBEAT_SECONDS", 0.0)


def test_mode_follows_quiet_and_the_stream(monkeypatch):
    monkeypatch.delitem(__import__("sys").modules, "ipykernel", raising=False)
    assert progress.mode(quiet=True, stream=_Terminal()) == progress.SILENT
    assert progress.mode(stream=_Terminal()) == progress.BAR
    assert progress.mode(stream=io.StringIO()) == progress.LINES  # a log file or a pipe: plain lines
    assert progress.check_verbose(0) == 0 and progress.check_verbose(2) == 2
    with pytest.raises(ValueError, match="verbose must be"):
        progress.check_verbose(3)


def test_progress_lines_count_steps_and_show_values(every_step):
    stream = io.StringIO()
    logger = progress.ProgressLogger(4, verbose=2, label="loop", stream=stream)
    logger.on_train_begin()
    for step in range(4):
        logger.on_train_batch_end(step, {"loss": tf.constant(1.0 / (step + 1))})
    logger.on_train_end({"loss": 0.25})
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("loop: 1/4 steps") and "loss 1" in lines[0] and "left" in lines[0]
    assert lines[-1].startswith("loop: 4/4 steps done in") and "loss 0.25" in lines[-1]


def test_progress_lines_wait_between_heartbeats():
    stream = io.StringIO()
    logger = progress.ProgressLogger(1000, verbose=2, label="loop", every=3600, stream=stream)
    logger.on_train_begin()
    for step in range(1000):
        logger.on_train_batch_end(step)
    logger.on_train_end()
    assert stream.getvalue().splitlines() == [stream.getvalue().splitlines()[-1]]  # only the final line


def test_silent_loop_calls_only_the_users_callbacks(capsys):
    recorder = _Recorder()
    callbacks = progress.loop_callbacks([recorder], 2, verbose=0)
    callbacks.on_train_begin()
    callbacks.on_train_batch_end(0, {"loss": 1.0})
    callbacks.on_train_end()
    assert [event for event, _ in recorder.events] == ["begin", 0, "end"]
    assert capsys.readouterr().out == ""


def test_format_duration():
    assert progress.format_duration(7.26) == "7.3 s"
    assert progress.format_duration(73.2) == "1 min 13 s"
    assert progress.format_duration(7300) == "2 h 1 min"


def test_stylize_reports_each_step_to_callbacks_progress_and_tensorboard(every_step, capsys, tmp_path):
    content = style.resize_longest(style.load_image(SKIMAGE / "chelsea.png"), 64)
    style_image = style.resize_longest(style.load_image(SKIMAGE / "ihc.png"), 64)
    recorder = _Recorder()
    result = style.stylize(content, style_image, steps=3, size=64, scales=(0.5, 1.0), callbacks=[recorder],
                           verbose=2, tensorboard=tmp_path / "logs")
    steps = [event for event in recorder.events if event[0] not in ("begin", "end")]
    assert [step for step, _ in steps] == [0, 1, 2]  # numbered across both scales
    assert [logs["total"] for _, logs in steps] == pytest.approx(result.log["total"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[:2]] == ["stylize: 1/3 steps", "stylize: 2/3 steps"]
    assert len(lines) == 3 and lines[-1].startswith("stylize: 3/3 steps done in ")
    scalars = harness.event_scalars(tmp_path / "logs")
    assert scalars["step/total"] == pytest.approx(result.log["total"], rel=1e-6)
    assert set(scalars) == {f"step/{name}" for name in COMPONENTS}


def test_word2vec_prints_progress_and_logs_the_loss(every_step, capsys, tmp_path):
    rng = np.random.default_rng(0)
    corpus = [list(rng.choice([f"w{i}" for i in range(20)], 12)) for _ in range(200)]
    recorder = _Recorder()
    result = train_word2vec(corpus, dim=8, window=2, negative=2, min_count=1, sample=0, epochs=2, batch_size=256,
                            verbose=2, callbacks=[recorder], tensorboard=tmp_path / "logs")
    out = capsys.readouterr().out
    assert "word2vec: epoch 1 done, loss per pair" in out and "word2vec: epoch 2 done" in out
    assert f"word2vec: {result.train_words}/{result.train_words} words done in" in out
    words = [step + 1 for step, _ in recorder.events if step not in ("begin", "end")]
    assert words == sorted(words) and words[-1] == result.train_words
    scalars = harness.event_scalars(tmp_path / "logs")
    assert scalars["epoch/loss"] == pytest.approx(result.losses, rel=1e-6)
    assert len(scalars["step/loss"]) == len(words)


def test_feature_extraction_reports_batches(every_step, capsys):
    extractor = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    dataset = tf.data.Dataset.from_tensor_slices(np.ones((10, 4), "float32")).batch(4)
    features, labels = extract_features(extractor, dataset, verbose=2)
    assert features.shape == (10, 3) and labels is None
    out = capsys.readouterr().out
    assert "extracting features: 1/3 batches" in out and "extracting features: 3/3 batches done in" in out


def test_fit_heartbeat_inside_an_epoch_and_tensorboard_loss(every_step, capsys, tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    result = training.fit(model, train, epochs=2, out=tmp_path, tensorboard=True, verbose=2, backup=False)
    out = capsys.readouterr().out
    assert "epoch 1/2, batch 1/4, accuracy" in out and "epoch 2/2, batch 3/4, accuracy" in out
    assert "batch 4/4" not in out  # the epoch's own line from Keras follows its last batch
    scalars = harness.event_scalars(tmp_path / "logs")
    assert scalars["epoch_loss"] == pytest.approx(result.history["loss"], rel=1e-5)


def test_native_log_lines_are_hidden_and_the_rest_kept(capfd):
    with native_logs.hidden():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"I0000 00:00:1796356584.106573   20724 cudart_stub.cc:31] Could not find cuda drivers\n")
        os.write(2, b"E0000 00:00:1796356593.505757   20729 cuda_platform.cc:52] failed call to cuInit: (303)\n")
        os.write(2, b"UserWarning: something a user should see\n")
    assert capfd.readouterr().err == "UserWarning: something a user should see\n"


def test_native_log_lines_are_all_shown_when_the_block_fails(capfd):
    with pytest.raises(RuntimeError), native_logs.hidden():
        os.write(2, b"I0000 00:00:1796356584.106573   20724 cudart_stub.cc:31] Could not find cuda drivers\n")
        raise RuntimeError("import failed")
    assert "cudart_stub.cc:31" in capfd.readouterr().err
