"""Detection mean average precision: VOC (all-point, 11-point) and COCO-style.

* ``method="voc"``: PASCAL VOC 2010+ — detections of a class are sorted by
  score over the whole set; each is matched to the true box of its image with
  the highest IoU; a match strictly above the threshold to a box not yet taken is a
  true positive, anything else (including a duplicate) a false positive; AP
  is the area under the precision envelope at every recall step
  (all-point interpolation).
* ``method="voc07"``: the same matching, 11-point interpolated AP (VOC 2007).
* ``method="coco"``: pycocotools' rules — per image, each detection (best
  score first, at most ``max_detections_per_image`` per class) takes the
  best-IoU true box *still free* with IoU >= the threshold; when that IoU ties
  between free true boxes, the *later* one is taken (``COCOeval.evaluateImg``
  replaces its match on ``iou >= best``; tested against pycocotools itself);
  AP is the 101-point interpolated precision; averaged over IoU
  0.50:0.05:0.95 by :func:`evaluate_detections`. The VOC methods keep the
  devkit's rule: the first true box of highest IoU.

Classes with no true box have AP ``nan`` and are left out of the mean (COCO
reports -1 for them). Images with no predictions simply contribute misses.
Predictions whose score is NaN are ignored (neither true nor false positives,
and not counted towards ``max_detections_per_image``): a NaN has no rank.
Inputs are padded arrays (boxes -1, labels -1) or lists of per-image arrays.
"""

import keras
import numpy as np
from keras import ops

from dlkit.detection import boxes as box_utils
from dlkit.detection.iou import compute_iou
from dlkit.errors import ConfigError

METHODS = ("voc", "voc07", "coco")
COCO_THRESHOLDS = tuple(np.round(np.linspace(0.5, 0.95, 10), 2))


def _corners_format(bounding_box_format):
    return "rel_xyxy" if box_utils.check_format(bounding_box_format).startswith("rel_") else "xyxy"


def _per_image(boxes, labels, scores, bounding_box_format):
    """Lists of per-image NumPy arrays in corner format, padding (and predictions scored NaN) removed."""
    name = box_utils.check_format(bounding_box_format)
    corners_format = _corners_format(name)
    out = []
    for index in range(len(boxes)):
        image_boxes = np.asarray(boxes[index], dtype=np.float32).reshape(-1, 4)
        image_labels = np.asarray(labels[index]).reshape(-1).astype(np.int64)
        if len(image_boxes) != len(image_labels):
            raise ConfigError(
                f"Image {index} has {len(image_boxes)} boxes but {len(image_labels)} labels. "
                f"Received: boxes={image_boxes.shape}, labels={image_labels.shape}"
            )
        image_scores = None if scores is None else np.asarray(scores[index], dtype=np.float64).reshape(-1)
        keep = (image_labels >= 0) & ~np.all(image_boxes < 0, axis=-1)
        if image_scores is not None:
            if len(image_scores) != len(image_labels):
                raise ConfigError(
                    f"Image {index} has {len(image_labels)} predictions but {len(image_scores)} scores. "
                    f"Received: labels={image_labels.shape}, scores={image_scores.shape}"
                )
            keep &= ~np.isnan(image_scores)
        if len(image_boxes):
            image_boxes = np.asarray(ops.convert_to_numpy(box_utils.convert_format(image_boxes, name, corners_format)))
        out.append((image_boxes[keep], image_labels[keep], None if image_scores is None else image_scores[keep]))
    return out


def _pairwise_iou(predictions, truths, corners_format, chunk=256):
    """Per image, the float64 IoU matrix of its predicted boxes (rows) with its true boxes (columns).

    One :func:`~dlkit.detection.iou.compute_iou` call per ``chunk`` images, on
    boxes padded with -1 to a common length (padding was removed from the
    inputs, so no real box is taken for padding). A box with a NaN coordinate
    overlaps nothing: IoU 0.
    """
    out = []
    for start in range(0, len(truths), chunk):
        pred = [boxes for boxes, _, _ in predictions[start:start + chunk]]
        true = [boxes for boxes, _, _ in truths[start:start + chunk]]
        rows, columns = max(map(len, pred)), max(map(len, true))
        if rows and columns:
            iou = ops.convert_to_numpy(compute_iou(_pad(pred, rows), _pad(true, columns), corners_format,
                                                   dtype="float64"))
            iou = np.where(np.isnan(iou), 0.0, iou)
        else:
            iou = np.zeros((len(pred), rows, columns))
        out.extend(iou[index, :len(p), :len(t)] for index, (p, t) in enumerate(zip(pred, true)))
    return out


def _pad(boxes, length):
    padded = np.full((len(boxes), length, 4), -1.0)
    for index, image_boxes in enumerate(boxes):
        padded[index, :len(image_boxes)] = image_boxes
    return padded


def average_precision(recall, precision, interpolation="all_point"):
    """Area under a precision/recall curve.

    Args:
        recall: increasing recall after each ranked detection.
        precision: precision after each ranked detection.
        interpolation: ``"all_point"`` (VOC 2010+), ``"11_point"`` (VOC 2007)
            or ``"101_point"`` (COCO).

    Returns:
        The AP as a float (0 for an empty curve).
    """
    recall = np.asarray(recall, dtype=np.float64)
    precision = np.asarray(precision, dtype=np.float64)
    if interpolation == "all_point":
        recall = np.concatenate([[0.0], recall, [1.0]])
        precision = np.concatenate([[0.0], precision, [0.0]])
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        steps = np.nonzero(recall[1:] != recall[:-1])[0]
        return float(np.sum((recall[steps + 1] - recall[steps]) * envelope[steps + 1]))
    if interpolation == "11_point":
        points = np.linspace(0.0, 1.0, 11)
        return float(np.mean([precision[recall >= t].max() if np.any(recall >= t) else 0.0 for t in points]))
    if interpolation == "101_point":
        if len(precision) == 0:
            return 0.0
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        points = np.linspace(0.0, 1.0, 101)
        index = np.searchsorted(recall, points, side="left")
        values = np.where(index < len(envelope), envelope[np.minimum(index, len(envelope) - 1)], 0.0)
        return float(values.mean())
    raise ConfigError(f"Unknown interpolation. Received: interpolation={interpolation!r}")


def _class_ap(truths, predictions, overlaps, class_id, iou_threshold, method, max_detections_per_image):
    num_true = sum(int(np.sum(labels == class_id)) for _, labels, _ in truths)
    if num_true == 0:
        return np.nan
    records = []  # (score, image order, detection order, is true positive)
    for image, ((_, true_labels, _), (_, pred_labels, pred_scores), image_iou) in enumerate(
        zip(truths, predictions, overlaps)
    ):
        scores = pred_scores[pred_labels == class_id]
        order = np.argsort(-scores, kind="mergesort")
        if method == "coco":
            order = order[:max_detections_per_image]
        scores = scores[order]
        iou = image_iou[pred_labels == class_id][order][:, true_labels == class_id]
        taken = np.zeros(iou.shape[1], dtype=bool)
        for rank in range(len(scores)):
            hit = False
            if len(taken):
                if method == "coco":
                    candidates = np.where(~taken & (iou[rank] >= iou_threshold), iou[rank], -1.0)
                    # pycocotools takes the last true box of highest IoU (argmax takes the first).
                    best = len(candidates) - 1 - int(np.argmax(candidates[::-1]))
                    hit = candidates[best] >= iou_threshold
                else:
                    best = int(np.argmax(iou[rank]))
                    hit = iou[rank, best] > iou_threshold and not taken[best]  # the devkit's ovmax > ovthresh
                if hit:
                    taken[best] = True
            records.append((scores[rank], image, rank, hit))
    if not records:
        return 0.0
    scores = np.array([record[0] for record in records])
    hits = np.array([record[3] for record in records], dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")
    true_positives = np.cumsum(hits[order])
    false_positives = np.cumsum(1.0 - hits[order])
    recall = true_positives / num_true
    precision = true_positives / np.maximum(true_positives + false_positives, np.finfo(np.float64).eps)
    interpolation = {"voc": "all_point", "voc07": "11_point", "coco": "101_point"}[method]
    return average_precision(recall, precision, interpolation)


def mean_average_precision(true_boxes, true_labels, pred_boxes, pred_labels, pred_scores, num_classes,
                           iou_threshold=0.5, method="voc", bounding_box_format="rel_xyxy",
                           max_detections_per_image=100):
    """Mean average precision at one IoU threshold.

    Args:
        true_boxes: ``(images, M, 4)`` padded with -1, or a list of ``(M_i, 4)``.
        true_labels: ``(images, M)`` padded with -1, or a list of ``(M_i,)``.
        pred_boxes: ``(images, K, 4)`` padded with -1, or a list.
        pred_labels: ``(images, K)`` padded with -1, or a list.
        pred_scores: ``(images, K)``, or a list; predictions scored NaN are ignored.
        num_classes: number of classes ``C``.
        iou_threshold: IoU needed for a true positive.
        method: ``"voc"``, ``"voc07"`` or ``"coco"`` (see the module docstring;
            ``"coco"`` breaks IoU ties towards the later true box, as
            pycocotools does).
        bounding_box_format: format of all boxes (Keras name).
        max_detections_per_image: per image and class, COCO only.

    Returns:
        ``(map, per_class)``: the mean over classes that have true boxes
        (``nan`` when none has), and a float array ``(C,)`` with ``nan`` for
        classes without true boxes.
    """
    if method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}. Received: method={method!r}")
    if len(true_boxes) != len(pred_boxes):
        raise ConfigError(
            f"Need predictions for every image. Received: {len(true_boxes)} true, {len(pred_boxes)} predicted"
        )
    truths = _per_image(true_boxes, true_labels, None, bounding_box_format)
    predictions = _per_image(pred_boxes, pred_labels, pred_scores, bounding_box_format)
    overlaps = _pairwise_iou(predictions, truths, _corners_format(bounding_box_format))
    per_class = np.array([
        _class_ap(truths, predictions, overlaps, c, iou_threshold, method, max_detections_per_image)
        for c in range(num_classes)
    ])
    observed = per_class[~np.isnan(per_class)]
    return (float(observed.mean()) if len(observed) else float("nan")), per_class


def evaluate_detections(true_boxes, true_labels, pred_boxes, pred_labels, pred_scores, num_classes,
                        bounding_box_format="rel_xyxy", class_names=None):
    """The figures a detection run reports.

    Returns:
        A flat dict: ``map50`` (VOC all-point at IoU 0.5), ``map50_95`` (COCO
        101-point AP averaged over IoU 0.50:0.05:0.95), and
        ``map50_per_class_<name>`` for every class with true boxes.
    """
    arguments = (true_boxes, true_labels, pred_boxes, pred_labels, pred_scores, num_classes)
    map50, per_class = mean_average_precision(*arguments, 0.5, "voc", bounding_box_format)
    coco = [mean_average_precision(*arguments, t, "coco", bounding_box_format)[0] for t in COCO_THRESHOLDS]
    names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
    metrics = {"map50": map50, "map50_95": float(np.mean(coco))}
    for name, value in zip(names, per_class):
        if not np.isnan(value):
            metrics[f"map50_per_class_{name}"] = float(value)
    return metrics


class MeanAveragePrecisionCallback(keras.callbacks.Callback):
    """Evaluates mAP on held-out images every ``every`` epochs during training.

    Adds ``val_map50`` and ``val_map50_95`` to the epoch logs (so checkpoints
    and early stopping can monitor them) and keeps the history in ``self.history``.

    Args:
        images: float array ``(N, height, width, 3)``.
        true_boxes: ``(N, M, 4)`` ``rel_xyxy`` padded with -1.
        true_labels: ``(N, M)`` padded with -1.
        anchors: the detector's anchors.
        num_classes: ``C``.
        every: evaluate every this many epochs (and always after the last).
        score_threshold: detection score threshold.
        iou_threshold: NMS threshold.
    """

    def __init__(self, images, true_boxes, true_labels, anchors, num_classes, every=1, score_threshold=0.05,
                 iou_threshold=0.45):
        super().__init__()
        self.images, self.true_boxes, self.true_labels = images, true_boxes, true_labels
        self.anchors, self.num_classes, self.every = anchors, num_classes, max(1, int(every))
        self.score_threshold, self.iou_threshold = score_threshold, iou_threshold
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == (self.params or {}).get("epochs")
        if (epoch + 1) % self.every and not last:
            return
        from dlkit.detection.yolo import detect

        result = detect(self.model, self.images, self.anchors, self.score_threshold, self.iou_threshold)
        metrics = evaluate_detections(
            self.true_boxes, self.true_labels, result["boxes"], result["classes"], result["scores"], self.num_classes
        )
        self.history.append({"epoch": epoch + 1, **metrics})
        if logs is not None:
            logs["val_map50"] = metrics["map50"]
            logs["val_map50_95"] = metrics["map50_95"]
