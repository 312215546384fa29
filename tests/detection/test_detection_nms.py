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


def overlapping_case(rng, n):
    """Three clusters of near-identical boxes, a chain of boxes each overlapping the next, lone boxes; tied scores."""
    centers = rng.uniform(0.1, 0.6, (3, 2))
    cluster = centers[rng.integers(0, 3, n)] + rng.normal(0, 0.003, (n, 2))
    chain = np.stack([0.01 * np.arange(6), np.full(6, 0.8), 0.01 * np.arange(6) + 0.04, np.full(6, 0.84)], 1)
    lone = np.array([[0.9, 0.0, 0.95, 0.05], [0.0, 0.9, 0.05, 0.95], [0.9, 0.9, 0.95, 0.95]])
    boxes = np.concatenate([cluster, cluster + 0.2], 1)
    boxes = np.concatenate([chain, boxes, lone]).astype(np.float32)
    scores = np.round(rng.uniform(0.3, 0.9, (len(boxes), 2)), 2)
    scores[:6] = [[0.99 - 0.01 * i, 0.0] for i in range(6)]  # the chain comes first; greedy keeps every other box
    scores[-3:] = 0.25  # the lone boxes come last, after every cluster box
    return boxes, scores.astype(np.float32)


def grid_case(n, classes):
    """``n`` boxes far apart, every class scored."""
    corner = np.stack([0.05 * (np.arange(n) % 20), 0.05 * (np.arange(n) // 20)], 1)
    scores = np.random.default_rng(n).uniform(0.5, 1.0, (n, classes))
    return np.concatenate([corner, corner + 0.04], 1).astype(np.float32), np.round(scores, 1).astype(np.float32)


def check_image(result, boxes, expected):
    count = int(result["num_detections"])
    assert count == len(expected)
    assert np.asarray(result["classes"][:count]).tolist() == [item[3] for item in expected]
    np.testing.assert_array_equal(np.asarray(result["boxes"][:count]), boxes[[item[2] for item in expected]])
    np.testing.assert_array_equal(np.asarray(result["scores"][:count]), [item[0] for item in expected])
    assert np.all(np.asarray(result["scores"][count:]) == -1)


def spy_top_k(monkeypatch):
    from dlkit.detection import nms

    sizes, top_k = [], nms.ops.top_k
    monkeypatch.setattr(nms.ops, "top_k", lambda x, k, **kwargs: sizes.append(k) or top_k(x, k, **kwargs))
    return sizes


def test_block_fallback_matches_tf(monkeypatch):
    # max_detections=10, tile_size=4: the first sorted block holds the best 20
    # of the 2,018 candidates. The clusters and the chain keep fewer than 10
    # boxes, so the loop runs through that block and the next (160) before the
    # full sort reaches the lone boxes.
    boxes, scores = overlapping_case(np.random.default_rng(11), 1000)
    expected = reference(boxes, scores, 0.5, 0.2, 10)
    assert len(expected) == 10 and expected[-1][0] == np.float32(0.25)
    sizes = spy_top_k(monkeypatch)
    check_image(non_max_suppression(boxes, scores, 0.5, 0.2, 10, tile_size=4), boxes, expected)
    assert sizes == [20, 160, len(boxes) * 2]

    # In a graph, batched with an image that stops in its first block (the batch falls back together).
    other_boxes, other_scores = grid_case(len(boxes), 2)
    graph = tf.function(lambda b, s: non_max_suppression(b, s, 0.5, 0.2, 10, tile_size=4))
    result = graph(np.stack([boxes, other_boxes]), np.stack([scores, other_scores]))
    check_image({key: value[0] for key, value in result.items()}, boxes, expected)
    other_expected = reference(other_boxes, other_scores, 0.5, 0.2, 10)
    check_image({key: value[1] for key, value in result.items()}, other_boxes, other_expected)


def test_stops_in_first_block(monkeypatch):
    # Far-apart boxes: the first tiles of the first block (24 of 600 candidates) give the 10 detections.
    boxes, scores = grid_case(200, 3)
    sizes = spy_top_k(monkeypatch)
    check_image(non_max_suppression(boxes, scores, 0.5, 0.2, 10, tile_size=8), boxes,
                reference(boxes, scores, 0.5, 0.2, 10))
    assert sizes == [24]
