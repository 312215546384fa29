import json

import numpy as np
import pytest

from dlkit.detection.metrics import (
    average_precision,
    evaluate_detections,
    mean_average_precision,
)

TRUE = np.array([[[0.1, 0.1, 0.4, 0.4], [0.5, 0.5, 0.9, 0.9]]], np.float32)
LABELS = np.array([[0, 0]])


def map50(boxes, labels, scores, method="voc"):
    return mean_average_precision(TRUE, LABELS, boxes, labels, scores, 2, 0.5, method)


def test_toy_cases():
    perfect = map50(TRUE, LABELS, np.array([[0.9, 0.8]]))
    assert perfect[0] == 1.0 and np.isnan(perfect[1][1])  # class 1 has no truth: nan, left out
    # One false positive ranked first: precision 0, 1/2, 2/3; the envelope is 2/3 at both recall steps.
    fp = np.array([[[0.6, 0.1, 0.7, 0.2], TRUE[0, 0], TRUE[0, 1]]], np.float32)
    assert map50(fp, np.array([[0, 0, 0]]), np.array([[0.95, 0.9, 0.8]]))[0] == pytest.approx(2 / 3)
    # A missed object: recall stops at 1/2.
    assert map50(TRUE[:, :1], LABELS[:, :1], np.array([[0.9]]))[0] == pytest.approx(0.5)
    # A duplicate detection is a false positive after the true positive.
    dup = np.array([[TRUE[0, 0], TRUE[0, 0], TRUE[0, 1]]], np.float32)
    assert map50(dup, np.array([[0, 0, 0]]), np.array([[0.9, 0.8, 0.7]]))[0] == pytest.approx(0.5 + 0.5 * 2 / 3)
    # No predictions at all.
    assert map50(np.full((1, 1, 4), -1, np.float32), np.array([[-1]]), np.array([[0.0]]))[0] == 0.0
    assert average_precision([0.5, 1.0], [1.0, 0.5], "11_point") == pytest.approx((6 * 1.0 + 5 * 0.5) / 11)


def pycocotools_stats(true, true_labels, pred, pred_labels, scores, classes):
    """``COCOeval(...).stats`` for pixel ``xyxy`` boxes: [0] AP@[.5:.95], [1] AP@.5."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images = len(true)
    gt = {"images": [{"id": i} for i in range(images)], "categories": [{"id": c} for c in range(classes)],
          "annotations": []}
    for i in range(images):
        for box, label in zip(true[i], true_labels[i]):
            w, h = box[2] - box[0], box[3] - box[1]
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i, "category_id": int(label),
                                      "bbox": [float(box[0]), float(box[1]), float(w), float(h)],
                                      "area": float(w * h), "iscrowd": 0})
    coco = COCO()
    coco.dataset = json.loads(json.dumps(gt))
    coco.createIndex()
    detections = [{"image_id": i, "category_id": int(pred_labels[i, k]), "score": float(scores[i, k]),
                   "bbox": [float(pred[i, k, 0]), float(pred[i, k, 1]), float(pred[i, k, 2] - pred[i, k, 0]),
                            float(pred[i, k, 3] - pred[i, k, 1])]}
                  for i in range(images) for k in range(pred.shape[1])]
    evaluation = COCOeval(coco, coco.loadRes(detections), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return evaluation.stats


def test_agrees_with_pycocotools():
    rng = np.random.default_rng(0)
    images, per_image, classes = 12, 5, 3
    xy = rng.uniform(0, 60, (images, per_image, 2))
    true = np.concatenate([xy, xy + rng.uniform(8, 40, (images, per_image, 2))], -1).astype(np.float32)
    true_labels = rng.integers(0, classes, (images, per_image))
    pred = np.concatenate([true + rng.normal(0, 4, true.shape), true[:, :3] + rng.normal(0, 12, (images, 3, 4))], 1)
    pred[..., 2:] = np.maximum(pred[..., 2:], pred[..., :2] + 1)
    pred_labels = np.concatenate([true_labels, rng.integers(0, classes, (images, 3))], 1)
    pred_labels[:, 1] = (pred_labels[:, 1] + 1) % classes  # some wrong classes
    scores = rng.uniform(0, 1, pred_labels.shape)
    stats = pycocotools_stats(true, true_labels, pred, pred_labels, scores, classes)
    ours = evaluate_detections(true, true_labels, pred, pred_labels, scores, classes, bounding_box_format="xyxy")
    assert ours["map50_95"] == pytest.approx(stats[0], abs=1e-6)
    coco50 = mean_average_precision(true, true_labels, pred, pred_labels, scores, classes, 0.5, "coco", "xyxy")[0]
    assert coco50 == pytest.approx(stats[1], abs=1e-6)


def test_coco_iou_tie_takes_the_later_true_box_like_pycocotools():
    # The first detection overlaps both true boxes with the same IoU (80 / 120); the second is the first true
    # box exactly and overlaps the second true box below 0.5 (60 / 140). pycocotools gives the tie to the later
    # true box, so the second detection is a true positive too: AP@0.5 is 1.0 (the first true box would leave
    # the second detection nothing to match: 0.505).
    true = np.array([[[0, 0, 10, 10], [4, 0, 14, 10]]], np.float32)
    true_labels = np.array([[0, 0]])
    pred = np.array([[[2, 0, 12, 10], [0, 0, 10, 10]]], np.float32)
    pred_labels, scores = np.array([[0, 0]]), np.array([[0.9, 0.8]])
    stats = pycocotools_stats(true, true_labels, pred, pred_labels, scores, 1)
    assert stats[1] == pytest.approx(1.0)
    coco50 = mean_average_precision(true, true_labels, pred, pred_labels, scores, 1, 0.5, "coco", "xyxy")[0]
    assert coco50 == pytest.approx(stats[1], abs=1e-12)
    ours = evaluate_detections(true, true_labels, pred, pred_labels, scores, 1, bounding_box_format="xyxy")
    assert ours["map50_95"] == pytest.approx(stats[0], abs=1e-12)
    # The true boxes in the other order: the tie now goes to [0, 0, 10, 10], in pycocotools as here.
    swapped = np.ascontiguousarray(true[:, ::-1])
    stats = pycocotools_stats(swapped, true_labels, pred, pred_labels, scores, 1)
    assert stats[1] == pytest.approx(51 / 101)
    coco50 = mean_average_precision(swapped, true_labels, pred, pred_labels, scores, 1, 0.5, "coco", "xyxy")[0]
    assert coco50 == pytest.approx(stats[1], abs=1e-12)


@pytest.mark.parametrize("method", ["voc", "voc07", "coco"])
def test_nan_scored_predictions_are_ignored(method):
    pred = np.array([[TRUE[0, 0], TRUE[0, 1], [0.6, 0.1, 0.7, 0.2]]], np.float32)
    labels = np.array([[0, 0, 0]])
    scores = np.array([[0.9, np.nan, 0.5]])
    result = map50(pred, labels, scores, method)
    # The same as without the NaN-scored prediction (which would otherwise be a true positive).
    expected = map50(pred[:, [0, 2]], labels[:, [0, 2]], scores[:, [0, 2]], method)
    assert result[0] == pytest.approx(expected[0])
    assert result[0] == pytest.approx({"voc": 0.5, "voc07": 6 / 11, "coco": 51 / 101}[method])
    only_nan = map50(TRUE, LABELS, np.array([[np.nan, np.nan]]), method)
    assert only_nan[0] == 0.0


def test_a_prediction_with_a_nan_coordinate_overlaps_nothing():
    nan_box = np.array([0.1, np.nan, 0.4, 0.4], np.float32)
    pred = np.array([[nan_box, TRUE[0, 0], TRUE[0, 1]]], np.float32)
    # Ranked first, the NaN box is a false positive and takes no true box: precision 1/2, 2/3 at recall 1/2, 1.
    assert map50(pred, np.array([[0, 0, 0]]), np.array([[0.9, 0.8, 0.7]]))[0] == pytest.approx(2 / 3)


def test_map_callback_evaluates_every_n_epochs_and_after_the_last():
    import keras

    from dlkit.detection import yolo
    from dlkit.detection.metrics import MeanAveragePrecisionCallback

    anchors = np.array([[0.2, 0.2], [0.5, 0.5]], np.float32)
    model = yolo.yolo_detector(input_size=(32, 32), anchors=anchors, num_classes=2,
                               backbone_options={"widths": (8, 8), "final_width": 8})
    images = np.random.default_rng(0).uniform(size=(4, 32, 32, 3)).astype(np.float32)
    boxes = np.tile(np.array([[[0.1, 0.1, 0.4, 0.4], [-1, -1, -1, -1]]], np.float32), (4, 1, 1))
    labels = np.where(boxes[..., 0] >= 0, 1, -1).astype(np.int32)
    targets = yolo.encode_targets(boxes, labels, 8, anchors, 2)
    callback = MeanAveragePrecisionCallback(images, boxes, labels, anchors, 2, every=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=yolo.YoloLoss(anchors))
    history = model.fit(images, targets, epochs=3, verbose=0, callbacks=[callback])
    assert [entry["epoch"] for entry in callback.history] == [2, 3]
    assert all(0.0 <= entry["map50"] <= 1.0 for entry in callback.history)
    assert history.history["val_map50"] == [entry["map50"] for entry in callback.history]
