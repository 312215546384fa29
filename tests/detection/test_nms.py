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
    # boxes, so the loop runs through that block and the class rounds take over
    # on all the candidates: they sort nothing but the final 10.
    boxes, scores = overlapping_case(np.random.default_rng(11), 1000)
    expected = reference(boxes, scores, 0.5, 0.2, 10)
    assert len(expected) == 10 and expected[-1][0] == np.float32(0.25)
    sizes = spy_top_k(monkeypatch)
    check_image(non_max_suppression(boxes, scores, 0.5, 0.2, 10, tile_size=4), boxes, expected)
    assert sizes == [20, 10]

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


def both_paths(boxes, scores, **options):
    """The keras path and the TF path (``combined_non_max_suppression``) on the same input, as NumPy dicts."""
    results = []
    for implementation in ("keras", "tf"):
        result = non_max_suppression(boxes, scores, 0.5, 0.1, 6, implementation=implementation, **options)
        results.append({key: np.asarray(value) for key, value in result.items()})
    return results


def assert_same_result(first, second):
    for key in ("num_detections", "classes", "scores", "boxes"):
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)  # NaN equals NaN here


@pytest.mark.parametrize("num_boxes,num_classes", [(0, 3), (4, 0), (0, 0)])
def test_no_boxes_or_no_classes_give_no_detections_like_tf(num_boxes, num_classes):
    boxes = np.tile(np.array([0.1, 0.1, 0.5, 0.5], np.float32), (2, num_boxes, 1))
    scores = np.full((2, num_boxes, num_classes), 0.9, np.float32)
    keras_result, tf_result = both_paths(boxes, scores)
    assert_same_result(keras_result, tf_result)
    assert keras_result["num_detections"].tolist() == [0, 0]
    assert keras_result["boxes"].shape == (2, 6, 4) and np.all(keras_result["boxes"] == -1)
    assert np.all(keras_result["scores"] == -1) and np.all(keras_result["classes"] == -1)

    # Unbatched, and inside a graph with static shapes.
    unbatched = non_max_suppression(boxes[0], scores[0], 0.5, 0.1, 6)
    assert int(unbatched["num_detections"]) == 0 and unbatched["boxes"].shape == (6, 4)
    graph = tf.function(lambda b, s: non_max_suppression(b, s, 0.5, 0.1, 6))
    in_graph = {key: np.asarray(value) for key, value in graph(boxes, scores).items()}
    assert_same_result(in_graph, tf_result)


@pytest.mark.parametrize("coordinate", range(4))
@pytest.mark.parametrize("nan_row", [0, 1])
def test_nan_coordinate_matches_tf_and_spares_the_other_boxes(coordinate, nan_row):
    # TF keeps a box with a NaN coordinate (its IoU is NaN or 0, never above the
    # threshold) and returns it as given; the other boxes come back untouched.
    boxes = np.array([[0.0, 0.0, 0.5, 0.5], [0.02, 0.0, 0.5, 0.5], [0.6, 0.6, 0.9, 0.9], [0.61, 0.6, 0.9, 0.9]],
                     np.float32)
    boxes[nan_row, coordinate] = np.nan
    scores = np.array([[0.9, 0.2], [0.8, 0.3], [0.7, 0.0], [0.6, 0.5]], np.float32)
    keras_result, tf_result = both_paths(boxes[None], scores[None])
    assert_same_result(keras_result, tf_result)
    count = int(keras_result["num_detections"][0])
    kept = keras_result["boxes"][0, :count]
    assert np.isnan(kept).sum() == 2  # only the NaN box's own coordinate, once per class it is kept for
    assert np.all(keras_result["boxes"][0, count:] == -1)


def test_nan_score_is_never_a_candidate_like_tf():
    boxes = np.array([[0.0, 0.0, 0.5, 0.5], [0.1, 0.0, 0.5, 0.5], [0.6, 0.6, 0.9, 0.9]], np.float32)
    for scores in ([[np.nan], [0.8], [0.7]], [[0.9], [np.nan], [0.7]], [[np.nan], [np.nan], [np.nan]]):
        keras_result, tf_result = both_paths(boxes[None], np.array(scores, np.float32)[None])
        assert_same_result(keras_result, tf_result)
        assert not np.isnan(keras_result["scores"]).any()
    keras_result, _ = both_paths(boxes[None], np.array([[np.nan], [0.8], [0.7]], np.float32)[None])
    assert keras_result["num_detections"].tolist() == [2]  # the top NaN no longer hides the others


def test_flipped_boxes_suppress_like_their_upright_twins_like_tf():
    boxes = np.array([[0.5, 0.5, 0.0, 0.0],  # flipped in x and y
                      [0.5, 0.5, 0.0, 0.0],  # its identical twin: suppressed
                      [0.0, 0.0, 0.5, 0.5],  # the upright box: suppressed
                      [0.9, 0.6, 0.6, 0.9],  # flipped in x only, alone
                      [0.6, 0.6, 0.9, 0.9]], np.float32)  # its upright twin: suppressed
    scores = np.array([[0.9], [0.8], [0.7], [0.6], [0.5]], np.float32)
    keras_result, tf_result = both_paths(boxes[None], scores[None])
    assert_same_result(keras_result, tf_result)
    assert keras_result["num_detections"].tolist() == [2]
    np.testing.assert_array_equal(keras_result["boxes"][0, :2], boxes[[0, 3]])  # returned as given, not reordered


def test_random_flipped_and_nan_boxes_match_tf():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n, classes = int(rng.integers(1, 30)), int(rng.integers(1, 4))
        xy = rng.uniform(0, 0.7, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(0.05, 0.3, (n, 2))], 1)
        flip = rng.uniform(size=n) < 0.4
        boxes[flip] = boxes[flip][:, [2, 3, 0, 1]]
        boxes[rng.uniform(size=(n, 4)) < 0.03] = np.nan
        scores = rng.uniform(0, 1, (n, classes))
        scores[rng.uniform(size=(n, classes)) < 0.05] = np.nan
        scores[rng.uniform(size=(n, classes)) < 0.03] = np.inf  # a candidate, and no 0 * inf in the output
        keras_result, tf_result = both_paths(boxes[None].astype(np.float32), scores[None].astype(np.float32),
                                             tile_size=4)
        assert_same_result(keras_result, tf_result)


def test_one_hot_indices_are_never_negative(monkeypatch):
    # ONNX's OneHot wraps a negative index to the last slot (TF's gives zeros): exported
    # models filled their last detection with a sum of rejected boxes.
    from dlkit.detection import nms

    seen, one_hot = [], nms.ops.one_hot
    monkeypatch.setattr(nms.ops, "one_hot", lambda x, *args, **kwargs: seen.append(np.asarray(x).min())
                        or one_hot(x, *args, **kwargs))
    boxes, scores = overlapping_case(np.random.default_rng(2), 40)
    result = non_max_suppression(boxes, scores, 0.5, 0.2, 4, tile_size=8)
    assert int(result["num_detections"]) == 4  # every slot filled, the last one too
    check_image(result, boxes, reference(boxes, scores, 0.5, 0.2, 4))
    assert seen and min(seen) >= 0


def numpy_greedy(boxes, scores, iou_threshold, score_threshold, max_detections):
    """Brute-force greedy per-class NMS in NumPy (float32, TF's IoU arithmetic): [(score, flat index, box, class)]."""
    boxes = boxes.astype(np.float32)
    x1, x2 = np.minimum(boxes[:, 0], boxes[:, 2]), np.maximum(boxes[:, 0], boxes[:, 2])
    y1, y2 = np.minimum(boxes[:, 1], boxes[:, 3]), np.maximum(boxes[:, 1], boxes[:, 3])
    area = (y2 - y1) * (x2 - x1)
    found = []
    for c in range(scores.shape[1]):
        kept = []
        for i in sorted(np.flatnonzero(scores[:, c] > score_threshold), key=lambda i: (-scores[i, c], i)):
            intersection = (np.maximum(np.minimum(y2[i], y2[kept]) - np.maximum(y1[i], y1[kept]), np.float32(0))
                            * np.maximum(np.minimum(x2[i], x2[kept]) - np.maximum(x1[i], x1[kept]), np.float32(0)))
            if not np.any(intersection / (area[i] + area[kept] - intersection) > np.float32(iou_threshold)):
                kept.append(i)
        found += [(scores[i, c], i * scores.shape[1] + c, i, c) for i in kept]
    found.sort(key=lambda item: (-item[0], item[1]))
    return found[:max_detections]


def clustered_case(rng, count, classes, clusters):
    """``clusters`` groups of near-duplicate boxes, two classes scored per group: few survivors among many."""
    centers, sizes = rng.uniform(0.05, 0.75, (clusters, 2)), rng.uniform(0.08, 0.2, (clusters, 2))
    which = rng.integers(0, clusters, count)
    corner = centers[which] + rng.normal(0, 0.003, (count, 2))
    boxes = np.concatenate([corner, corner + sizes[which] * rng.uniform(0.97, 1.03, (count, 2))], 1)
    scores = np.round(rng.uniform(0, 0.3, (count, classes)), 2)  # ties, and nothing above the threshold
    for shift in (0, 3):
        scores[np.arange(count), (7 * which + shift) % classes] = np.round(rng.uniform(0, 1, count), 2)
    return boxes.astype(np.float32), scores.astype(np.float32)


def test_clustered_worst_case_equals_numpy_greedy(monkeypatch):
    # 12 clusters x 2 classes keep fewer than 30 boxes among ~800 valid candidates:
    # the first block (60) runs out short, and the class rounds decide every
    # candidate (the path of benchmarks/nms.py's clustered case). A batch of two
    # images with different valid counts, in a graph: the gather of each image's
    # valid candidates and the choice of the block size are both exercised.
    rng = np.random.default_rng(5)
    images = [clustered_case(rng, 600, 6, 12), clustered_case(rng, 600, 6, 5)]
    sizes = spy_top_k(monkeypatch)
    graph = tf.function(lambda b, s: non_max_suppression(b, s, 0.5, 0.3, 30, tile_size=16))
    result = graph(np.stack([item[0] for item in images]), np.stack([item[1] for item in images]))
    assert sizes[:1] == [64] and 30 in sizes  # the first block, then only the final top 30
    for index, (boxes, scores) in enumerate(images):
        expected = numpy_greedy(boxes, scores, 0.5, 0.3, 30)
        assert 10 <= len(expected) < 30 and np.sum(scores > 0.3) > 300
        check_image({key: value[index] for key, value in result.items()}, boxes, expected)
