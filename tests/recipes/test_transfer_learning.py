"""recipes/transfer_learning.py: the two offline modes (--quick), your-data mode on TFDS mock data, user errors."""

import json

import harness
import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds
import transfer_learning

from dlkit import weights
from dlkit.data import tfds_source


@pytest.fixture(scope="module")
def digits_run(recipe_run):
    run = recipe_run("transfer_digits")
    return run.out, run.metrics


@pytest.fixture(scope="module")
def pretrained_run(recipe_run):
    run = recipe_run("transfer_pretrained")
    return run.out, run.metrics


def test_digits_pretrained_features_beat_scratch_by_10_points(digits_run):
    out, metrics = digits_run
    assert metrics["shots"] == 10 and metrics["mode"] == "digits"
    # Seed 0, measured: scratch 0.848, frozen 0.944, fine-tuned 0.944. Scratch was 0.494 until the classifier's head
    # started at zero weights (issue 15); over seeds 0-2 the gap is 25 points (docs/transfer_learning.md).
    assert metrics["frozen_accuracy"] >= metrics["scratch_accuracy"] + 0.05
    assert metrics["finetuned_accuracy"] >= metrics["scratch_accuracy"] + 0.05
    assert metrics["pretrained_old_classes_accuracy"] >= 0.9  # the 0-4 model it transfers from is good
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for name in ("config.json", "comparison.png", "heldout_accuracy_by_epoch.png", "pretrained_0-4.keras"):
        assert (out / name).stat().st_size > 0, name


def test_saved_pretrained_model_scores_what_the_run_reported(digits_run):
    out, metrics = digits_run
    from dlkit.data import builtin

    model = keras.models.load_model(out / "pretrained_0-4.keras")
    images, labels = builtin.digits_arrays("test", classes=[0, 1, 2, 3, 4])
    resized = keras.ops.convert_to_numpy(keras.ops.image.resize(images, (16, 16))).clip(0, 255) / 255.0
    predictions = np.argmax(model.predict(resized, verbose=0), axis=-1)
    assert model.output.shape == (None, 5)
    assert float(np.mean(predictions == labels)) == pytest.approx(metrics["pretrained_old_classes_accuracy"], abs=0.01)


def test_pretrained_vgg16_beats_random_init_by_15_points(pretrained_run):
    out, metrics = pretrained_run
    assert metrics["pretrained_accuracy"] >= metrics["random_init_accuracy"] + 0.15
    assert metrics["classes"] == 8 and metrics["test_examples"] == 160
    caches = sorted(path.name for path in (out / "features").glob("*.npz"))
    assert len(caches) == 4 and all("64px" in name for name in caches)
    for name in ("comparison.png", "crops.png"):
        assert (out / name).stat().st_size > 0, name


def test_your_data_mode_on_tfds_mock_data(monkeypatch, tmp_path):
    monkeypatch.setattr(tfds_source, "network_available", lambda *args, **kwargs: True)
    out = tmp_path / "run"
    with tfds.testing.mock_data(num_examples=24, data_dir=str(tmp_path / "tfds")):
        metrics = transfer_learning.main(
            [
                "--dataset",
                "tf_flowers",
                "--backbone",
                "vgg_tiny",
                "--image-size",
                "32",
                "--epochs",
                "2",
                "--batch-size",
                "8",
                "--data-dir",
                str(tmp_path / "tfds"),
                "--out",
                str(out),
            ]
        )
        from dlkit import data, evaluation

        test, _ = data.load(
            "tf_flowers", "test", image_size=32, channels=3, normalize=False, data_dir=str(tmp_path / "tfds")
        )
        model = keras.models.load_model(out / "model.keras")
        y_true, probabilities = evaluation.predict_classes(model, test)
    assert metrics["mode"] == "custom" and metrics["head_epochs"] == 1 and metrics["unfrozen_layers"] == 13
    assert float(np.mean(np.argmax(probabilities, axis=-1) == y_true)) == pytest.approx(metrics["test_accuracy"])
    assert model.output.shape == (None, 5)  # tf_flowers' five classes
    for name in ("curves.png", "confusion_matrix.png", "fine_tune/history.csv", "head/history.csv"):
        assert (out / name).stat().st_size > 0, name


def test_imagenet_weights_offline_exit_2_with_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(weights, "host_reachable", lambda *args, **kwargs: (False, "OSError: offline (test)"))
    argv = ["--backbone", "mobilenet_v2", "--weights", "imagenet", "--dataset", "tf_flowers", "--image-size", "96",
            "--out", tmp_path / "run"]
    error = harness.assert_user_error(capsys, transfer_learning, argv, "cannot be reached")
    assert error.startswith("error: ImageNet weights for mobilenet_v2") and "Traceback" not in error


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--shots", "0"], "argument --shots: must be >= 1"),
        (["--dataset", "x", "--backbone", "resnet5O", "--image-size", "32"], "Unknown backbone. Did you mean"),
        (["--mode", "custom"], "needs --dataset"),
        (["--mixed-precision"], "--mixed-precision applies to fine-tuning on your data"),
    ],
)
def test_user_errors_exit_2(argv, expected, tmp_path, capsys):
    harness.assert_user_error(capsys, transfer_learning, [*argv, "--out", tmp_path], expected)
