"""The serving detector: pixels of any size in, the Python path's detections out, in the image's own pixels."""

import keras
import numpy as np
import pytest

from dlkit.data.adapter import ImageAdapter
from dlkit.detection import boxes as box_utils
from dlkit.detection import decode, non_max_suppression, serving_detector, yolo_detector

ANCHORS = np.array([[0.2, 0.25], [0.45, 0.4]], np.float32)


@pytest.fixture(scope="module")
def detector():
    keras.utils.set_random_seed(3)
    model = yolo_detector(input_size=(64, 64), anchors=ANCHORS, num_classes=3,
                          backbone_options={"widths": (8, 16, 16), "final_width": 16})
    # Lively logits: a random head gives many overlapping candidates of every class.
    head = model.get_layer("yolo_head_conv")
    rng = np.random.default_rng(0)
    head.kernel.assign(rng.normal(0, 0.5, head.kernel.shape).astype(np.float32))
    head.bias.assign(rng.normal(0, 1.0, head.bias.shape).astype(np.float32))
    return model


def test_serving_equals_decode_and_tf_nms_on_the_grid(detector):
    serving = serving_detector(detector, ANCHORS, iou_threshold=0.45, score_threshold=0.05, max_detections=20)
    pixels = np.random.default_rng(1).uniform(0, 255, (3, 96, 160, 3)).astype(np.float32)
    found = {key: np.asarray(value) for key, value in serving(pixels).items()}
    # The Python path: adapter, grid, decode, clip, TensorFlow's combined NMS; boxes scaled by hand.
    grid = detector(ImageAdapter((64, 64), 3)(pixels))
    boxes, scores = decode(grid, ANCHORS)
    reference = non_max_suppression(box_utils.clip(boxes), scores, iou_threshold=0.45, score_threshold=0.05,
                                    max_detections=20, implementation="tf")
    np.testing.assert_array_equal(found["num_detections"], np.asarray(reference["num_detections"]))
    assert found["num_detections"].min() >= 5  # the comparison is not between empty lists
    for image in range(3):
        count = found["num_detections"][image]
        np.testing.assert_array_equal(found["classes"][image, :count], np.asarray(reference["classes"])[image, :count])
        np.testing.assert_allclose(found["scores"][image, :count], np.asarray(reference["scores"])[image, :count],
                                   rtol=1e-5)
        expected = np.asarray(reference["boxes"])[image, :count] * np.array([160, 96, 160, 96])
        np.testing.assert_allclose(found["boxes"][image, :count], expected, atol=1e-3)
        assert np.all(found["boxes"][image, count:] == -1) and np.all(found["classes"][image, count:] == -1)


def test_saved_serving_detector_reloads_and_takes_any_size(detector, tmp_path):
    serving = serving_detector(detector, ANCHORS, score_threshold=0.05, max_detections=10)
    serving.save(tmp_path / "serving.keras")
    again = keras.models.load_model(tmp_path / "serving.keras")
    for shape in ((1, 64, 64, 3), (2, 33, 200, 1), (1, 300, 120, 4)):
        pixels = np.random.default_rng(2).uniform(0, 255, shape).astype(np.float32)
        first, second = serving(pixels), again(pixels)
        for key in ("boxes", "scores", "classes", "num_detections"):
            np.testing.assert_allclose(np.asarray(first[key]), np.asarray(second[key]), atol=1e-5)
        boxes = np.asarray(first["boxes"])[np.asarray(first["classes"]) >= 0]
        assert np.all(boxes >= 0) and np.all(boxes[:, [0, 2]] <= shape[2]) and np.all(boxes[:, [1, 3]] <= shape[1])
