import numpy as np
import pytest
import tensorflow as tf

from dlkit.detection.nms import non_max_suppression


def reference(boxes, scores, iou_threshold, score_threshold, max_detections):
    """tf.image.non_max_suppression class by class, merged by score (ties: box-major index)."""
    found = []
    for c in range(scores.shape[1]):
        selected = tf.image.non_max_suppression(boxes[:, [1, 0, 3, 2]], scores[:, c], max_detections,
                                                iou_threshold, score_threshold).numpy()
        found += [(scores[i, c], i * scores.shape[1] + c, i, c) for i in selected]
    found.sort(key=lambda item: (-item[0], item[1]))
    return found[:max_detections]


def random_case(rng, ties):
    n, classes = int(rng.integers(1, 50)), int(rng.integers(1, 5))
    xy = rng.uniform(0, 0.8, (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(0.05, 0.4, (n, 2))], 1).astype(np.float32)
    scores = rng.uniform(0, 1, (n, classes))
    if ties:
        scores = np.round(scores, 1)
    return boxes, scores.astype(np.float32), int(rng.integers(1, 25))


@pytest.mark.parametrize("implementation,ties", [("keras", True), ("keras", False), ("tf", False)])
def test_matches_tf_class_by_class(implementation, ties):
    rng = np.random.default_rng(3 + ties)
    for _ in range(100):
        boxes, scores, max_detections = random_case(rng, ties)
        expected = reference(boxes, scores, 0.5, 0.2, max_detections)
        result = non_max_suppression(boxes[None], scores[None], 0.5, 0.2, max_detections,
                                     implementation=implementation, tile_size=8)
        count = int(result["num_detections"][0])
        assert count == len(expected)
        assert np.asarray(result["classes"][0, :count]).tolist() == [item[3] for item in expected]
        np.testing.assert_array_equal(np.asarray(result["boxes"][0, :count]), boxes[[item[2] for item in expected]])
        np.testing.assert_array_equal(np.asarray(result["scores"][0, :count]), [item[0] for item in expected])
        assert np.all(np.asarray(result["boxes"][0, count:]) == -1)
        assert np.all(np.asarray(result["classes"][0, count:]) == -1)


def test_batched_padding_and_pixel_boxes():
    boxes = np.array([[[10, 10, 50, 50], [12, 12, 52, 52], [-1, -1, -1, -1]],
                      [[-1, -1, -1, -1], [-1, -1, -1, -1], [-1, -1, -1, -1]]], np.float32)
    scores = np.array([[[0.9], [0.8], [0.99]], [[0.9], [0.9], [0.9]]], np.float32)
    for implementation in ("keras", "tf"):
        result = non_max_suppression(boxes, scores, 0.5, 0.1, 5, bounding_box_format="xyxy",
                                     implementation=implementation)
        assert np.asarray(result["num_detections"]).tolist() == [1, 0]
        np.testing.assert_array_equal(np.asarray(result["boxes"][0, 0]), [10, 10, 50, 50])  # not clipped to [0, 1]
