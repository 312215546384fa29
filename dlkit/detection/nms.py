"""Per-class non-maximum suppression, batched, with padded outputs.

Two implementations with one contract:

* ``implementation="keras"``: written in ``keras.ops``, so it runs on any
  backend and inside a compiled graph. All classes are handled in one pass:
  every (box, class) pair above the score threshold is a candidate, candidates
  are taken in decreasing score, and a candidate may only be suppressed by a
  kept candidate of its own class. This is the coordinate-offset trick of
  torchvision's ``batched_nms`` (shift each box by ``class_id * (max_coord +
  1)`` so classes never overlap) written as a class-equality mask, which gives
  the same result without the float32 rounding that large offsets add to IoU.
  Candidates are processed in tiles: each tile is checked against the boxes
  kept so far (at most ``max_detections``), then suppressed within itself by
  iterating the greedy rule to its fixed point; the loop stops as soon as
  ``max_detections`` boxes are kept. Memory is ``O(tile * (tile +
  max_detections))``, not ``O(N^2)``.

  The loop usually stops within the first few tiles, so the candidates are not
  all sorted up front: ``top_k`` first sorts a block of the best ``2 *
  max_detections`` (rounded up to whole tiles). Only when an image runs
  through its block still short of ``max_detections`` while its last block
  candidate is above the threshold is a block 8 times larger sorted (through
  ``ops.cond``, so in a graph only the branch taken runs), and the loop goes
  on from the tile where it stopped, up to all ``N * C`` candidates. As
  ``top_k`` orders equal scores by index, each block is a prefix of the full
  sort, and the result is exactly the one a single full sort gives. The IoU
  test is TensorFlow's arithmetic (``intersection / union > iou_threshold``).
* ``implementation="tf"``: ``tf.image.combined_non_max_suppression`` with
  ``clip_boxes=False`` (its default clips to [0, 1], which corrupts pixel
  boxes).

Both follow TensorFlow's kernel: candidates need ``score > score_threshold``,
a candidate is suppressed by a kept box of its class with ``IoU >
iou_threshold``, and equal scores are taken in index order. The edge cases
follow ``tf.image.combined_non_max_suppression`` too:

* no boxes (``N = 0``) or no classes (``C = 0``): no detections
  (``num_detections`` 0, every output row -1), in eager mode and in a graph
  with static shapes;
* flipped boxes (``x1 > x2`` or ``y1 > y2``): the IoU test reorders each
  box's corners (min and max of each pair, as TF's kernel does), so a flipped
  box suppresses like its upright twin; the returned box keeps the original
  (flipped) coordinates, as TF returns them;
* a NaN score is never above ``score_threshold``, so that (box, class) pair
  is never a candidate;
* a box with a NaN coordinate is a candidate like any other (TF keeps it and
  returns it with its NaN), but its IoU with any box is 0 or NaN, never above
  the threshold: it never suppresses and is never suppressed. The other
  detections are not touched by its NaN.
"""

import numpy as np
from keras import ops

from dlkit.detection import boxes as box_utils
from dlkit.errors import ConfigError

IMPLEMENTATIONS = ("keras", "tf")


def non_max_suppression(boxes, scores, iou_threshold=0.5, score_threshold=0.0, max_detections=100,
                        bounding_box_format="rel_xyxy", implementation="keras", max_candidates=None, tile_size=128):
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
        tile_size: candidates per tile (the keras path only); each tile costs
            ``O(tile_size * (tile_size + max_detections))``.

    Returns:
        A dict of ``boxes`` ``(batch, max_detections, 4)``, ``scores``
        ``(batch, max_detections)``, ``classes`` (int32 ``(batch,
        max_detections)``), sorted by decreasing score and padded with -1, and
        ``num_detections`` (int32 ``(batch,)``). Unbatched inputs give
        unbatched outputs. No boxes or no classes give no detections; flipped
        boxes are reordered for the IoU test and returned as given; NaN scores
        are never candidates; a box with a NaN coordinate neither suppresses
        nor is suppressed. Both paths give what
        ``tf.image.combined_non_max_suppression`` gives (see the module
        docstring).
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
    # Padding boxes can never become candidates, nor can NaN scores (TF's
    # ``score > score_threshold`` is false for NaN; top_k would sort NaN first).
    scores = ops.where(box_utils.is_padding(boxes)[..., None] | ops.isnan(scores), -np.inf, scores)
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


def _corners(boxes):
    """``(x1, y1, x2, y2, area)`` of corner boxes ``(B, N, 4)``, each ``(B, N)``, as TensorFlow's kernel computes them.

    Each corner pair is reordered (``x1 = min(x1, x2)``, ``x2 = max(x1,
    x2)``, the same for y), so a flipped box has the corners and the area of
    its upright twin.
    """
    # Slices, not ops.unstack: tf2onnx cannot convert the Unpack op inside the loop's conditional (ONNX export).
    first_x, first_y, second_x, second_y = (boxes[..., index] for index in range(4))
    x1, x2 = ops.minimum(first_x, second_x), ops.maximum(first_x, second_x)
    y1, y2 = ops.minimum(first_y, second_y), ops.maximum(first_y, second_y)
    return x1, y1, x2, y2, (y2 - y1) * (x2 - x1)


def _overlaps(first, second, iou_threshold):
    """``(B, T, M)`` bool: IoU above ``iou_threshold`` for ``_corners`` tuples of ``(B, T)`` and ``(B, M)``.

    The arithmetic is TensorFlow's (``intersection / (area1 + area2 -
    intersection)``). TF gives IoU 0 to a box of zero area; here such a box has
    intersection 0 with every box, so its IoU is 0 (or NaN) and never above a
    threshold >= 0, and no mask is needed. A box with a NaN coordinate has a
    NaN area (or a zero one, where min/max dropped the NaN), so its IoU is NaN
    or 0: never above the threshold, as in TF.

    Why not :func:`dlkit.detection.iou.compute_iou`: NMS must decide exactly as
    TF's kernel does, and ``compute_iou`` decides differently on purpose (a
    flipped box has area 0 there, all-negative boxes are padding, the union is
    floored at an epsilon). The corners and areas are also computed once per
    block by :func:`_corners` and sliced per tile, and read with slices rather
    than ``ops.unstack``, which tf2onnx cannot convert inside the loop (ONNX export).
    """
    ax1, ay1, ax2, ay2, a_area = [part[:, :, None] for part in first]
    bx1, by1, bx2, by2, b_area = [part[:, None, :] for part in second]
    intersection = ops.maximum(ops.minimum(ay2, by2) - ops.maximum(ay1, by1), 0.0) * ops.maximum(
        ops.minimum(ax2, bx2) - ops.maximum(ax1, bx1), 0.0
    )
    return intersection / (a_area + b_area - intersection) > iou_threshold


def _keras_nms(boxes, scores, iou_threshold, score_threshold, max_detections, max_candidates, tile_size):
    batch = ops.shape(boxes)[0]
    num_boxes, num_classes = boxes.shape[1], scores.shape[2]
    total = num_boxes * num_classes
    count = total if max_candidates is None else min(int(max_candidates), total)
    if count <= 0:
        # No (box, class) pair at all (N = 0, C = 0 or max_candidates = 0): no
        # detections, as TF's combined NMS gives; the caller pads with -1.
        return {
            "boxes": ops.zeros((batch, max_detections, 4), "float32"),
            "scores": ops.zeros((batch, max_detections), "float32"),
            "classes": ops.zeros((batch, max_detections), "int32"),
            "num_detections": ops.zeros((batch,), "int32"),
        }
    flat_scores = ops.reshape(scores, (batch, total))
    tile = max(1, min(int(tile_size), count))
    blocks = _block_sizes(count, tile, max_detections)
    earlier = ops.arange(tile)[:, None] < ops.arange(tile)[None, :]  # [j, i]: j comes before i

    def candidates(size):
        """The best ``size`` candidates by score, padded to whole tiles."""
        # Flat candidate index n * C + c: top_k keeps equal scores in index
        # order, which is TensorFlow's tie rule within a class, and makes the
        # best ``size`` candidates a prefix of the best ``count``.
        top_scores, top_index = ops.top_k(flat_scores, k=size)
        top_boxes = ops.take_along_axis(boxes, (top_index // num_classes)[..., None], axis=1)
        top_classes = top_index % num_classes
        padded = -size % tile
        if padded:
            top_boxes = ops.pad(top_boxes, [[0, 0], [0, padded], [0, 0]])
            top_classes = ops.pad(top_classes, [[0, 0], [0, padded]], constant_values=-1)
            top_scores = ops.pad(top_scores, [[0, 0], [0, padded]], constant_values=-np.inf)
        return top_boxes, top_classes, top_scores

    def greedy(size, state):
        """The tile loop over the best ``size`` candidates, from the tile where ``state`` stopped."""
        top_boxes, top_classes, top_scores = candidates(size)
        top_valid = top_scores > score_threshold
        top_corners = _corners(top_boxes)
        num_tiles = -(-size // tile)

        def condition(index, kept_count, kept_boxes, kept_classes, kept_scores):
            start = ops.minimum(index * tile, num_tiles * tile - 1)
            more = ops.take(top_valid, start, axis=1) & (kept_count < max_detections)
            return (index < num_tiles) & ops.any(more)

        def body(index, kept_count, kept_boxes, kept_classes, kept_scores):
            start = index * tile
            tile_corners = [ops.slice(part, [0, start], [batch, tile]) for part in top_corners]
            tile_boxes = ops.slice(top_boxes, [0, start, 0], [batch, tile, 4])
            tile_classes = ops.slice(top_classes, [0, start], [batch, tile])
            tile_scores = ops.slice(top_scores, [0, start], [batch, tile])
            tile_valid = ops.slice(top_valid, [0, start], [batch, tile])

            def by_kept():
                same_class = ops.equal(tile_classes[:, :, None], kept_classes[:, None, :])
                return ops.any(_overlaps(tile_corners, _corners(kept_boxes), iou_threshold) & same_class, axis=-1)

            # Nothing is kept before the first tile: skip its check against the kept boxes.
            allowed = tile_valid & ops.logical_not(
                ops.cond(ops.any(kept_count > 0), by_kept, lambda: ops.zeros_like(tile_valid))
            )
            suppresses = (
                _overlaps(tile_corners, tile_corners, iou_threshold)
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
            # Not kept: max_detections, out of range. Not -1: ONNX's OneHot
            # wraps negative indices (-1 is the last slot), TF's does not.
            position = ops.where(keep, position, max_detections)
            # [b, t, d]: rows of an index >= max_detections are all False.
            slots = ops.one_hot(position, max_detections) > 0
            # Select with ``where``, then sum: a one-hot product would give
            # 0 * NaN = NaN (a NaN box, or an infinite score, anywhere in the
            # tile would spread NaN to every slot).
            filled = ops.any(slots, axis=1)
            payload = ops.concatenate(
                [tile_boxes, tile_scores[..., None], ops.cast(tile_classes, "float32")[..., None]], axis=-1
            )
            found = ops.sum(ops.where(slots[..., None], payload[:, :, None, :], 0.0), axis=1)  # [b, d, 6]
            kept_boxes = ops.where(filled[..., None], found[..., :4], kept_boxes)
            kept_scores = ops.where(filled, found[..., 4], kept_scores)
            kept_classes = ops.where(filled, ops.cast(found[..., 5], "int32"), kept_classes)
            kept_count = ops.minimum(kept_count + ops.sum(ops.cast(keep, "int32"), axis=1), max_detections)
            return index + 1, kept_count, kept_boxes, kept_classes, kept_scores

        state = ops.while_loop(condition, body, state)
        return state, top_scores[:, size - 1]

    def run(level, state):
        state, last_score = greedy(blocks[level], state)
        if level + 1 == len(blocks):
            return state
        # An image still short of max_detections whose last block candidate is
        # valid may have valid candidates beyond the block: sort a larger block
        # and go on from the next tile. The block is a prefix of the larger
        # one, so the result is the one a single full sort gives.
        short = ops.any((state[1] < max_detections) & (last_score > score_threshold))
        return ops.cond(short, lambda: run(level + 1, state), lambda: state)

    # Empty slots hold class -1, so they never match a candidate's class.
    state = (
        ops.convert_to_tensor(0),
        ops.zeros((batch,), "int32"),
        ops.zeros((batch, max_detections, 4), "float32"),
        ops.full((batch, max_detections), -1, "int32"),
        ops.zeros((batch, max_detections), "float32"),
    )
    _, kept_count, kept_boxes, kept_classes, kept_scores = run(0, state)
    return {"boxes": kept_boxes, "scores": kept_scores, "classes": kept_classes, "num_detections": kept_count}


def _block_sizes(count, tile, max_detections):
    """Sizes of the candidate blocks sorted in turn: tile multiples growing 8-fold, the last ``count``."""
    size = tile * -(-2 * max_detections // tile)
    sizes = []
    while size * 4 < count:  # top_k of a large share of the scores costs more than a full sort
        sizes.append(size)
        size *= 8
    return sizes + [count]


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
