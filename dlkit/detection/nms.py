"""Per-class non-maximum suppression, batched, with padded outputs.

Two implementations with one contract:

* ``implementation="keras"``: written in ``keras.ops``, so it runs on any
  backend and inside a compiled graph. All classes are handled in one pass:
  every (box, class) pair above the score threshold is a candidate, candidates
  are sorted once by score, and a candidate may only be suppressed by a kept
  candidate of its own class. This is the coordinate-offset trick of
  torchvision's ``batched_nms`` (shift each box by ``class_id * (max_coord +
  1)`` so classes never overlap) written as a class-equality mask, which gives
  the same result without the float32 rounding that large offsets add to IoU.
  Candidates are processed in tiles: each tile is checked against the boxes
  kept so far (at most ``max_detections``), then suppressed within itself by
  iterating the greedy rule to its fixed point; the loop stops as soon as
  ``max_detections`` boxes are kept. Memory is ``O(tile * (tile +
  max_detections))``, not ``O(N^2)``.
* ``implementation="tf"``: ``tf.image.combined_non_max_suppression`` with
  ``clip_boxes=False`` (its default clips to [0, 1], which corrupts pixel
  boxes).

Both follow TensorFlow's kernel: candidates need ``score > score_threshold``,
a candidate is suppressed by a kept box of its class with ``IoU >
iou_threshold``, and equal scores are taken in index order.
"""

import numpy as np
from keras import ops

from dlkit.detection import boxes as box_utils
from dlkit.errors import ConfigError

IMPLEMENTATIONS = ("keras", "tf")


def non_max_suppression(boxes, scores, iou_threshold=0.5, score_threshold=0.0, max_detections=100,
                        bounding_box_format="rel_xyxy", implementation="keras", max_candidates=None, tile_size=256):
    """Greedy per-class NMS for a batch of images.

    Args:
        boxes: float tensor ``(batch, N, 4)`` (or ``(N, 4)``) in
            ``bounding_box_format``; padding rows (-1) are never selected.
        scores: float tensor ``(batch, N, C)`` (or ``(N, C)``) of per-class scores.
        iou_threshold: a kept box suppresses same-class boxes with IoU above it.
        score_threshold: candidates need a score above it.
        max_detections: detections kept per image (over all classes).
        bounding_box_format: format of ``boxes`` and of the returned boxes.
        implementation: ``"keras"`` (``keras.ops``) or ``"tf"``
            (``tf.image.combined_non_max_suppression``).
        max_candidates: keep only the best this many (box, class) candidates
            before NMS (``None``: all; the keras path only).
        tile_size: candidates per tile (the keras path only).

    Returns:
        A dict of ``boxes`` ``(batch, max_detections, 4)``, ``scores``
        ``(batch, max_detections)``, ``classes`` (int32 ``(batch,
        max_detections)``), sorted by decreasing score and padded with -1, and
        ``num_detections`` (int32 ``(batch,)``). Unbatched inputs give
        unbatched outputs.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ConfigError(f"implementation must be 'keras' or 'tf'. Received: implementation={implementation!r}")
    if max_detections < 1:
        raise ConfigError(f"max_detections must be >= 1. Received: max_detections={max_detections}")
    if not 0.0 <= iou_threshold <= 1.0:
        raise ConfigError(f"iou_threshold must be in [0, 1]. Received: iou_threshold={iou_threshold}")
    name = box_utils.check_format(bounding_box_format)
    corners_format = "rel_xyxy" if name.startswith("rel_") else "xyxy"
    boxes = box_utils.convert_format(boxes, name, corners_format)
    scores = ops.cast(ops.convert_to_tensor(scores), "float32")
    batched = len(boxes.shape) == 3
    if not batched:
        boxes, scores = boxes[None], scores[None]
    if len(scores.shape) != 3 or scores.shape[1] != boxes.shape[1]:
        raise ConfigError(
            f"scores must be (batch, N, C) for boxes (batch, N, 4). "
            f"Received: boxes={tuple(boxes.shape)}, scores={tuple(scores.shape)}"
        )
    # Padding boxes can never become candidates.
    scores = ops.where(box_utils.is_padding(boxes)[..., None], -np.inf, scores)
    if implementation == "tf":
        result = _tf_nms(boxes, scores, iou_threshold, score_threshold, max_detections)
    else:
        result = _keras_nms(boxes, scores, iou_threshold, score_threshold, max_detections, max_candidates, tile_size)
    valid = ops.arange(max_detections)[None, :] < result["num_detections"][:, None]
    result["boxes"] = ops.where(valid[..., None], box_utils.convert_format(result["boxes"], corners_format, name), -1.0)
    result["scores"] = ops.where(valid, result["scores"], -1.0)
    result["classes"] = ops.where(valid, result["classes"], -1)
    if not batched:
        result = {key: value[0] for key, value in result.items()}
    return result


def _pairwise_iou(boxes1, boxes2):
    """IoU ``(B, N, M)`` of corner boxes, with TensorFlow's arithmetic (zero-area boxes: 0)."""
    a = [part[:, :, None] for part in ops.unstack(boxes1, 4, axis=-1)]
    b = [part[:, None, :] for part in ops.unstack(boxes2, 4, axis=-1)]
    area1 = (a[3] - a[1]) * (a[2] - a[0])
    area2 = (b[3] - b[1]) * (b[2] - b[0])
    intersection = ops.maximum(ops.minimum(a[3], b[3]) - ops.maximum(a[1], b[1]), 0.0) * ops.maximum(
        ops.minimum(a[2], b[2]) - ops.maximum(a[0], b[0]), 0.0
    )
    union = area1 + area2 - intersection
    iou = intersection / ops.where(union > 0.0, union, 1.0)
    return ops.where((area1 > 0.0) & (area2 > 0.0), iou, 0.0)


def _keras_nms(boxes, scores, iou_threshold, score_threshold, max_detections, max_candidates, tile_size):
    batch = ops.shape(boxes)[0]
    num_boxes, num_classes = boxes.shape[1], scores.shape[2]
    total = num_boxes * num_classes
    count = total if max_candidates is None else min(int(max_candidates), total)
    # Flat candidate index n * C + c: top_k keeps equal scores in index order,
    # which is TensorFlow's tie rule within a class.
    top_scores, top_index = ops.top_k(ops.reshape(scores, (batch, total)), k=count)
    candidate_boxes = ops.take_along_axis(boxes, (top_index // num_classes)[..., None], axis=1)
    candidate_classes = top_index % num_classes
    tile = max(1, min(int(tile_size), count))
    num_tiles = -(-count // tile)
    padded = num_tiles * tile - count
    if padded:
        candidate_boxes = ops.pad(candidate_boxes, [[0, 0], [0, padded], [0, 0]])
        candidate_classes = ops.pad(candidate_classes, [[0, 0], [0, padded]], constant_values=-1)
        top_scores = ops.pad(top_scores, [[0, 0], [0, padded]], constant_values=-np.inf)
    candidate_valid = top_scores > score_threshold
    earlier = ops.arange(tile)[:, None] < ops.arange(tile)[None, :]  # [j, i]: j comes before i

    def condition(index, kept_count, kept_boxes, kept_classes, kept_scores):
        start = ops.minimum(index * tile, num_tiles * tile - 1)
        more = ops.take(candidate_valid, start, axis=1) & (kept_count < max_detections)
        return (index < num_tiles) & ops.any(more)

    def body(index, kept_count, kept_boxes, kept_classes, kept_scores):
        start = index * tile
        tile_boxes = ops.slice(candidate_boxes, [0, start, 0], [batch, tile, 4])
        tile_classes = ops.slice(candidate_classes, [0, start], [batch, tile])
        tile_scores = ops.slice(top_scores, [0, start], [batch, tile])
        tile_valid = ops.slice(candidate_valid, [0, start], [batch, tile])
        same_as_kept = ops.equal(tile_classes[:, :, None], kept_classes[:, None, :])
        by_kept = ops.any((_pairwise_iou(tile_boxes, kept_boxes) > iou_threshold) & same_as_kept, axis=-1)
        allowed = tile_valid & ops.logical_not(by_kept)
        suppresses = (
            (_pairwise_iou(tile_boxes, tile_boxes) > iou_threshold)
            & ops.equal(tile_classes[:, :, None], tile_classes[:, None, :])
            & earlier[None]
        )

        # Greedy NMS inside the tile is the unique fixed point of
        # keep[i] = allowed[i] and no kept j < i suppresses i; iterating from
        # "keep all allowed" fixes one more position per step at worst.
        def settle_condition(keep, changed):
            return changed

        def settle_body(keep, changed):
            new_keep = allowed & ops.logical_not(ops.any(keep[:, :, None] & suppresses, axis=1))
            return new_keep, ops.any(ops.not_equal(new_keep, keep))

        keep, _ = ops.while_loop(settle_condition, settle_body, (allowed, ops.convert_to_tensor(True)))
        position = kept_count[:, None] + ops.cumsum(ops.cast(keep, "int32"), axis=1) - 1
        position = ops.where(keep, position, -1)
        slots = ops.one_hot(position, max_detections)  # rows of -1 or >= max_detections are all zero
        kept_boxes = kept_boxes + ops.einsum("btd,btk->bdk", slots, tile_boxes)
        kept_scores = kept_scores + ops.einsum("btd,bt->bd", slots, ops.where(keep, tile_scores, 0.0))
        new_classes = ops.einsum("btd,bt->bd", slots, ops.cast(tile_classes + 1, "float32"))
        kept_classes = kept_classes + ops.cast(new_classes, "int32")
        kept_count = ops.minimum(kept_count + ops.sum(ops.cast(keep, "int32"), axis=1), max_detections)
        return index + 1, kept_count, kept_boxes, kept_classes, kept_scores

    # Empty slots hold class -1, so they never match a candidate's class.
    state = (
        ops.convert_to_tensor(0),
        ops.zeros((batch,), "int32"),
        ops.zeros((batch, max_detections, 4), "float32"),
        ops.full((batch, max_detections), -1, "int32"),
        ops.zeros((batch, max_detections), "float32"),
    )
    _, kept_count, kept_boxes, kept_classes, kept_scores = ops.while_loop(condition, body, state)
    return {"boxes": kept_boxes, "scores": kept_scores, "classes": kept_classes, "num_detections": kept_count}


def _tf_nms(boxes, scores, iou_threshold, score_threshold, max_detections):
    import tensorflow as tf

    x1, y1, x2, y2 = tf.unstack(tf.convert_to_tensor(boxes), 4, axis=-1)
    result = tf.image.combined_non_max_suppression(
        tf.stack([y1, x1, y2, x2], axis=-1)[:, :, None, :],
        tf.convert_to_tensor(scores),
        max_output_size_per_class=max_detections,
        max_total_size=max_detections,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        pad_per_class=False,
        clip_boxes=False,
    )
    y1, x1, y2, x2 = tf.unstack(result.nmsed_boxes, 4, axis=-1)
    return {
        "boxes": tf.stack([x1, y1, x2, y2], axis=-1),
        "scores": result.nmsed_scores,
        "classes": tf.cast(result.nmsed_classes, tf.int32),
        "num_detections": tf.cast(result.valid_detections, tf.int32),
    }
