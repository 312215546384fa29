"""recipes/multitask.py: the multi-label and localization quick runs, their files, metrics and saved models."""

import json

import harness
import keras
import numpy as np
import pytest

CLASSES = ("circle", "square", "triangle")


@pytest.fixture(scope="module")
def multilabel_run(recipe_run):
    run = recipe_run("multilabel")
    return run.out, run.metrics


@pytest.fixture(scope="module")
def localization_run(recipe_run):
    run = recipe_run("localization")
    return run.out, run.metrics


@pytest.mark.slow
def test_multilabel_quick_learns_with_missing_labels_and_beats_the_parameter_count(multilabel_run):
    out, metrics = multilabel_run
    for name in ("config.json", "metrics.json", "model.keras", "history.csv", "curves.png", "samples.png",
                 "comparison.png"):
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert metrics["mean_auc"] >= 0.95
    assert metrics["params"] < metrics["single_task_params"]
    assert metrics["train_seconds"] == pytest.approx(
        metrics["multitask_train_seconds"] + metrics["single_task_train_seconds"], abs=0.02
    )
    assert "seconds" not in metrics and metrics["total_seconds"] >= metrics["train_seconds"]
    assert abs(metrics["train_observed_fraction"] - 0.7) < 0.02
    for label in CLASSES:
        assert 0.5 < metrics[f"auc_{label}"] <= 1 and 0.5 < metrics[f"single_task_auc_{label}"] <= 1
    assert metrics["single_task_mean_auc"] == pytest.approx(
        np.mean([metrics[f"single_task_auc_{label}"] for label in CLASSES])
    )


def test_the_checkpoint_is_the_compiled_training_model(multilabel_run):
    # model.keras serves (raw pixels in); that it reproduces the reported scores is tests/recipes/test_reload.py's
    # check. The best checkpoint keeps the compiled training model: its custom loss comes back with it.
    out, _ = multilabel_run
    checkpoint = keras.models.load_model(out / "checkpoints" / "best.keras")
    assert type(checkpoint.loss["labels"]).__name__ == "MaskedBinaryCrossentropy"


@pytest.mark.slow
def test_localization_quick_classifies_and_boxes(localization_run):
    out, metrics = localization_run
    for name in ("config.json", "metrics.json", "model.keras", "history.csv", "curves.png", "samples.png"):
        assert (out / name).stat().st_size > 0, name
    assert metrics["class_accuracy"] >= 0.9
    assert metrics["mean_iou"] >= 0.6
    assert metrics["objectness_accuracy"] >= 0.9
    assert metrics["landmark_error_pixels"] < 4
    assert "seconds" not in metrics and 0 < metrics["train_seconds"] <= metrics["total_seconds"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--classes", "circle,hexagon"], "Received: classes=('circle', 'hexagon')"),
        (["--missing-rate", "1.5"], "Received: 1.5"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    harness.assert_user_error(capsys, "multitask", argv + ["--out", tmp_path], message)
