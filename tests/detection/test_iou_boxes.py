import keras
import numpy as np
import pytest
from keras import ops

from dlkit.detection import boxes as box_utils
from dlkit.detection.iou import aligned_iou, compute_iou, generalized_iou
from dlkit.errors import DatasetError


def random_boxes(rng, n):
    xy = rng.uniform(0, 0.7, (n, 2))
    wh = rng.uniform(0.01, 0.3, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


def brute_iou(a, b):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - w * h
            out[i, j] = w * h / union
    return out


def test_iou_matches_numpy_and_keras():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 7), random_boxes(rng, 5)
    ours = np.asarray(compute_iou(a, b))
    np.testing.assert_allclose(ours, brute_iou(a, b), atol=1e-6)
    pixel_a, pixel_b = a * 100, b * 100
    reference = keras.utils.bounding_boxes.compute_iou(pixel_a, pixel_b, "xyxy")
    np.testing.assert_allclose(np.asarray(compute_iou(pixel_a, pixel_b, "xyxy")), np.asarray(reference), atol=1e-5)
    np.testing.assert_allclose(np.asarray(aligned_iou(a[:5], b)), np.diag(brute_iou(a[:5], b)), atol=1e-6)


def test_float64_iou_is_numpy_exact():
    rng = np.random.default_rng(3)
    a, b = random_boxes(rng, 9).astype(np.float64) * 640, random_boxes(rng, 6).astype(np.float64) * 640
    ours = compute_iou(a, b, "xyxy", dtype="float64")
    assert ours.dtype == "float64"
    np.testing.assert_allclose(np.asarray(ours), brute_iou(a, b), rtol=1e-14, atol=0)


def test_padding_masked_and_zero_area_safe():
    a = np.array([[0.1, 0.1, 0.4, 0.4], [-1, -1, -1, -1], [0.2, 0.2, 0.2, 0.2]], np.float32)
    result = np.asarray(compute_iou(a, a))
    assert result[0, 0] == pytest.approx(1.0)
    assert np.all(result[1] == 0) and np.all(result[:, 1] == 0)
    assert np.all(np.isfinite(result)) and result[2, 2] == 0.0
    keras_masked = keras.utils.bounding_boxes.compute_iou(a[:2] * 10, a[:2] * 10, "xyxy", use_masking=True)
    np.testing.assert_allclose(np.asarray(compute_iou(a[:2], a[:2], mask_value=-1.0)), np.asarray(keras_masked),
                               atol=1e-5)


def test_giou_brute_force():
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 20), random_boxes(rng, 20)
    iou = np.diag(brute_iou(a, b))
    enclosing = (np.maximum(a[:, 2], b[:, 2]) - np.minimum(a[:, 0], b[:, 0])) * (
        np.maximum(a[:, 3], b[:, 3]) - np.minimum(a[:, 1], b[:, 1]))
    areas = [(x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1]) for x in (a, b)]
    inter = np.maximum(0, np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])) * np.maximum(
        0, np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]))
    union = areas[0] + areas[1] - inter
    expected = iou - (enclosing - union) / enclosing
    np.testing.assert_allclose(np.asarray(generalized_iou(a, b)), expected, atol=1e-5)


@pytest.mark.parametrize("target", box_utils.FORMATS)
def test_convert_round_trip_and_keras(target):
    rng = np.random.default_rng(2)
    boxes = np.concatenate([random_boxes(rng, 4), -np.ones((1, 4), np.float32)])
    converted = box_utils.convert_format(boxes, "rel_xyxy", target, height=48, width=64)
    back = np.asarray(box_utils.convert_format(converted, target, "rel_xyxy", height=48, width=64))
    np.testing.assert_allclose(back, boxes, atol=1e-5)
    assert np.all(np.asarray(converted)[-1] == -1)
    if target in ("xyxy", "yxyx", "xywh", "center_xywh", "rel_yxyx"):
        reference = keras.utils.bounding_boxes.convert_format(boxes[:4], "rel_xyxy", target, height=48, width=64)
        np.testing.assert_allclose(np.asarray(converted)[:4], np.asarray(reference), atol=1e-4)


def test_validate_documented_behaviour():
    boxes = np.array([[0.1, 0.1, 0.5, 0.5], [0.3, 0.3, 0.3, 0.6], [0.8, 0.2, 1.3, 0.4], [-1, -1, -1, -1]], np.float32)
    labels = np.array([0, 1, 2, -1])
    with pytest.raises(DatasetError, match="Received"):
        box_utils.validate(boxes, labels)
    dropped, dropped_labels, invalid = box_utils.validate(boxes, labels, on_invalid="drop")
    assert invalid.tolist() == [False, True, True, False]
    assert dropped_labels.tolist() == [0, -1, -1, -1] and np.all(dropped[1:] == -1)
    clipped, clipped_labels, _ = box_utils.validate(boxes, labels, on_invalid="clip")
    np.testing.assert_allclose(clipped[2], [0.8, 0.2, 1.0, 0.4])
    assert clipped_labels.tolist() == [0, -1, 2, -1]
    assert np.asarray(ops.convert_to_numpy(box_utils.clip(boxes)))[2, 2] == 1.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_validate_rejects_non_finite_boxes(bad):
    boxes = np.array([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.6], [-1, -1, -1, -1], [0.3, 0.3, 0.9, 0.9]], np.float32)
    boxes[1, 2] = bad
    boxes[3, 0] = bad
    labels = np.array([0, 1, -1, 2])
    with pytest.raises(DatasetError, match=r"Box \(1,\) has a NaN or infinite coordinate.*Received: box="):
        box_utils.validate(boxes, labels)
    # The same mask a NumPy brute force gives: every non-padding row with a non-finite coordinate.
    expected = ~np.isfinite(boxes).all(axis=1)
    for mode in ("drop", "clip"):
        out, out_labels, invalid = box_utils.validate(boxes, labels, on_invalid=mode)
        assert invalid.tolist() == expected.tolist()
        assert np.all(out[expected] == -1) and out_labels.tolist() == [0, -1, -1, -1]
        np.testing.assert_array_equal(out[0], boxes[0])
    # Pixel formats too, where the frame check needs height and width; a row of all -inf is not padding.
    pixels = np.array([[[10, 10, 50, 50], [np.nan, 5, 20, 30]], [[-np.inf] * 4, [-1, -1, -1, -1]]], np.float32)
    _, _, invalid = box_utils.validate(pixels, bounding_box_format="xywh", height=100, width=100, on_invalid="drop")
    assert invalid.tolist() == [[False, True], [True, False]]
