import json
import pathlib
import sys

import keras
import numpy as np
import pytest

from dlkit import cli
from dlkit.detection import yolo


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "recipes"))

import yolo_detection  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("yolo")
    metrics = yolo_detection.main(["--quick", "--out", str(out)])
    return out, metrics


@pytest.mark.slow
def test_quick_run_learns_and_writes_artifacts(run):
    out, metrics = run
    for name in ("config.json", "metrics.json", "anchors.json", "model.keras", "detections.png"):
        assert (out / name).exists(), name
    assert metrics["map50"] >= 0.5
    assert 0 <= metrics["map50_95"] <= metrics["map50"]
    assert {"map50_per_class_circle", "map50_per_class_square", "map50_per_class_triangle"} <= set(metrics)
    assert 0.5 < metrics["mean_anchor_iou"] <= 1.0 and metrics["inference_ms_per_image"] > 0
    assert json.loads((out / "metrics.json").read_text())["map50"] == metrics["map50"]


@pytest.mark.slow
def test_saved_model_round_trip(run):
    out, _ = run
    anchors = np.array(json.loads((out / "anchors.json").read_text())["anchors_relative_wh"], np.float32)
    model = keras.models.load_model(out / "model.keras")
    assert isinstance(model.loss, yolo.YoloLoss)
    np.testing.assert_allclose(model.loss.anchors, anchors)
    images = np.random.default_rng(0).uniform(size=(2, 64, 64, 3)).astype(np.float32)
    again = keras.models.load_model(out / "model.keras")
    np.testing.assert_array_equal(np.asarray(model(images)), np.asarray(again(images)))


def test_bad_input_exits_2(capsys, tmp_path):
    status = cli.run(yolo_detection.main, ["--image-size", "50", "--out", str(tmp_path)])
    error = capsys.readouterr().err.strip()
    assert status == 2 and error.startswith("error:") and "Received: 50" in error and "\n" not in error
