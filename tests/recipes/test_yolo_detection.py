import json

import harness
import keras
import numpy as np
import pytest

from dlkit.detection import yolo


@pytest.fixture(scope="module")
def run(recipe_run):
    quick = recipe_run("yolo_detection")
    return quick.out, quick.metrics


@pytest.mark.slow
def test_quick_run_learns_and_writes_artifacts(run):
    out, metrics = run
    for name in ("config.json", "metrics.json", "anchors.json", "model.keras", "run.json", "detections.png"):
        assert (out / name).exists(), name
    assert metrics["map50"] >= 0.5
    assert 0 <= metrics["map50_95"] <= metrics["map50"]
    assert {"map50_per_class_circle", "map50_per_class_square", "map50_per_class_triangle"} <= set(metrics)
    assert 0.5 < metrics["mean_anchor_iou"] <= 1.0 and metrics["inference_ms_per_image"] > 0
    assert metrics["params"] > 0 and "parameters" not in metrics
    assert json.loads((out / "metrics.json").read_text())["map50"] == metrics["map50"]


@pytest.mark.slow
def test_saved_models_round_trip(run):
    out, _ = run
    anchors = np.array(json.loads((out / "anchors.json").read_text())["anchors_relative_wh"], np.float32)
    # The best checkpoint is the compiled grid model that training used, with its loss.
    checkpoint = keras.models.load_model(out / "checkpoints" / "best.keras")
    assert isinstance(checkpoint.loss, yolo.YoloLoss)
    np.testing.assert_allclose(checkpoint.loss.anchors, anchors)
    # model.keras serves: pixels of any size in, at most 100 detections in that image's pixels out.
    model = keras.models.load_model(out / "model.keras")
    images = np.random.default_rng(0).uniform(0, 255, size=(2, 80, 120, 3)).astype(np.float32)
    found = model(images)
    assert set(found) == {"boxes", "scores", "classes", "num_detections"}
    assert found["boxes"].shape == (2, 100, 4) and found["num_detections"].shape == (2,)
    boxes = np.asarray(found["boxes"])[np.asarray(found["scores"]) >= 0]
    assert np.all(boxes[:, [0, 2]] <= 120) and np.all(boxes[:, [1, 3]] <= 80) and np.all(boxes >= 0)
    again = keras.models.load_model(out / "model.keras")
    for key, value in again(images).items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(found[key]))


def test_bad_input_exits_2(capsys, tmp_path):
    harness.assert_user_error(capsys, "yolo_detection", ["--image-size", "50", "--out", tmp_path], "Received: 50")
