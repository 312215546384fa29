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
  through that block still short of ``max_detections`` while its last block
  candidate is above the threshold (clustered boxes: thousands of
  near-duplicates, few survivors) does the batch start again, through
  ``ops.cond``, with class rounds over all its valid candidates
  (``_class_rounds``): the valid candidates are gathered without a sort (a
  running count and a binary search), then each round keeps every class's
  best live candidate (``segment_max``) and kills the live candidates of that
  class it overlaps, until none is live or the top ``max_detections`` cannot
  change. That is greedy per-class NMS for all classes at once, ``O(V)`` per
  round for ``V`` valid candidates, with as many rounds as one class keeps
  boxes; it does not walk the candidates tile by tile. ``top_k`` orders equal
  scores by index and the rounds break ties by the lower flat index, so both
  give the result of one full sort. The IoU test is TensorFlow's arithmetic
  (``intersection / union > iou_threshold``).
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
    # The first block: the best 2 * max_detections in whole tiles, or all candidates where that is a large share.
    first_block = tile * -(-2 * max_detections // tile)
    if first_block * 4 >= count:  # top_k of a large share of the scores costs more than a full sort
        first_block = count
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

    state = (
        ops.convert_to_tensor(0),
        ops.zeros((batch,), "int32"),
        ops.zeros((batch, max_detections, 4), "float32"),
        # Empty slots hold class -1, so they never match a candidate's class.
        ops.full((batch, max_detections), -1, "int32"),
        ops.zeros((batch, max_detections), "float32"),
    )
    state, last_score = greedy(first_block, state)
    _, kept_count, kept_boxes, kept_classes, kept_scores = state
    result = {"boxes": kept_boxes, "scores": kept_scores, "classes": kept_classes, "num_detections": kept_count}
    if first_block == count:
        return result
    # An image still short of max_detections whose last block candidate is
    # valid may have valid candidates beyond the block: start again on all of
    # them with class rounds (``_class_rounds``), which neither sorts them nor
    # walks them tile by tile.
    short = ops.any((kept_count < max_detections) & (last_score > score_threshold))
    return ops.cond(
        short,
        lambda: _class_rounds(boxes, flat_scores, num_classes, iou_threshold, score_threshold, max_detections,
                              8 * first_block),
        lambda: result,
    )


def _class_rounds(boxes, flat_scores, num_classes, iou_threshold, score_threshold, max_detections, smallest):
    """Exact greedy per-class NMS over all valid candidates by rounds: each class keeps its best one per round.

    Per-class greedy NMS keeps, in every class, the best candidate not yet
    suppressed and then suppresses the candidates of that class it overlaps.
    Classes do not interact, so one round does that step for every class at
    once: ``segment_max`` over the class finds each class's best live
    candidate (ties: the lowest flat index, TensorFlow's order), every live
    candidate is tested against the one box of its class kept this round, and
    the overlapped ones die: the greedy algorithm (Neubeck & Van Gool,
    "Efficient Non-Maximum Suppression", ICPR 2006) run for all classes in
    parallel. The rounds stop when no candidate is live, or when each image has
    ``max_detections`` kept boxes scored above its best live candidate (no
    later keep can enter its top ``max_detections``). A round costs ``O(V)``
    for ``V`` valid candidates, and there are as many rounds as the most boxes
    one class keeps before that stop (at most ``max_detections + 1``); nothing
    is sorted but the final ``max_detections``.

    The valid candidates (``score > score_threshold``) are first gathered in
    flat-index order into a block of a static size, the smallest of
    ``smallest * 8**i`` (or all ``N * C``) that holds every image's count
    (``ops.cond``, so only the branch taken runs): a running count and a
    binary search (:func:`_lower_bound`) find each image's ``j``-th valid
    candidate, with no sort and no scatter.

    Args:
        boxes: ``(B, N, 4)`` corner boxes.
        flat_scores: ``(B, N * C)`` scores, ``-inf`` where never a candidate.
        num_classes: ``C``.
        iou_threshold, score_threshold, max_detections: as :func:`non_max_suppression`.
        smallest: the smallest block size.

    Returns:
        The dict of ``_keras_nms`` (not yet padded with -1).
    """
    batch = ops.shape(flat_scores)[0]
    total = flat_scores.shape[1]
    num_boxes = boxes.shape[1]
    valid = flat_scores > score_threshold
    counts = ops.sum(ops.cast(valid, "int32"), axis=1)
    running = ops.cumsum(ops.cast(valid, "int32"), axis=1)  # (B, N * C), non-decreasing along each image

    def block(size):
        # One flat axis of batch * size slots (image after image), so that every op of a round is one kernel.
        length = batch * size
        position = ops.arange(length, dtype="int32")
        image, slot = position // size, position % size
        slot_valid = slot < ops.take(counts, image)
        # The (j + 1)-th valid candidate is the first position where the running count reaches j + 1.
        index = _lower_bound(running, ops.reshape(slot + 1, (batch, size)))  # n * C + c within the image
        index = ops.reshape(ops.where(ops.reshape(slot_valid, (batch, size)), index, 0), (-1,))
        gathered = ops.take_along_axis(flat_scores, ops.reshape(index, (batch, size)), axis=1)
        scores = ops.where(slot_valid, ops.reshape(gathered, (-1,)), -np.inf)
        classes = ops.where(slot_valid, index % num_classes, 0)
        block_boxes = ops.take(ops.reshape(boxes, (-1, 4)), image * num_boxes + index // num_classes, axis=0)
        packed = ops.stack(_corners(block_boxes), axis=-1)  # (length, 5): x1, y1, x2, y2, area
        segments = image * num_classes + classes
        segment_count = batch * num_classes
        rank = size - slot  # larger for an earlier slot, i.e. a lower flat index within the image
        rank_value = ops.cast(rank, "float32" if size < 2**24 else "int32")
        segment_start = (ops.arange(segment_count, dtype="int32") // num_classes) * size  # its image's first slot

        def per_image(values):
            return ops.reshape(values, (batch, size))

        def condition(live, kept):
            best_live = ops.max(per_image(ops.where(live, scores, -np.inf)), axis=1)
            above = ops.sum(ops.cast(per_image(kept) & (per_image(scores) > best_live[:, None]), "int32"), axis=1)
            return ops.any(ops.any(per_image(live), axis=1) & (above < max_detections))

        def body(live, kept):
            live_scores = ops.where(live, scores, -np.inf)
            best = ops.take(ops.segment_max(live_scores, segments, segment_count), segments)
            # In float32 (exact below 2**24): tf2onnx converts a segment max of floats, not of ints.
            first = ops.segment_max(ops.where(live & (live_scores == best), rank_value, 0), segments, segment_count)
            first = ops.cast(ops.maximum(first, 0), "int32")  # 0: the class has no live candidate
            picked_corners = ops.take(packed, ops.where(first > 0, segment_start + size - first, 0), axis=0)
            candidate_first = ops.take(first, segments)
            picked = live & (rank == candidate_first)  # one per class that has a live candidate
            other = ops.take(picked_corners, segments, axis=0)  # the box of this candidate's class, this round
            # _overlaps's arithmetic (TensorFlow's), candidate by candidate.
            intersection = ops.maximum(
                ops.minimum(packed[:, 3], other[:, 3]) - ops.maximum(packed[:, 1], other[:, 1]), 0.0
            ) * ops.maximum(ops.minimum(packed[:, 2], other[:, 2]) - ops.maximum(packed[:, 0], other[:, 0]), 0.0)
            overlap = intersection / (packed[:, 4] + other[:, 4] - intersection) > iou_threshold
            suppressed = (candidate_first > 0) & overlap
            return live & ops.logical_not(suppressed | picked), kept | picked

        _, kept = ops.while_loop(condition, body, (slot_valid, ops.zeros_like(slot_valid)))
        width = min(max_detections, size)
        # top_k orders ties by the lower slot, i.e. the lower flat index.
        top_scores, top_slot = ops.top_k(per_image(ops.where(kept, scores, -np.inf)), k=width)
        chosen = top_slot + (ops.arange(batch, dtype="int32") * size)[:, None]
        padding = [[0, 0], [0, max_detections - width]]
        return {
            "boxes": ops.pad(ops.take(block_boxes, chosen, axis=0), padding + [[0, 0]]),
            "scores": ops.pad(top_scores, padding),
            "classes": ops.pad(ops.take(classes, chosen), padding),
            "num_detections": ops.minimum(ops.sum(ops.cast(per_image(kept), "int32"), axis=1), max_detections),
        }

    sizes = []
    size = max(1, int(smallest))
    while size < total:
        sizes.append(size)
        size *= 8
    sizes.append(total)
    most = ops.max(counts)

    def choose(level):
        if level + 1 == len(sizes):
            return block(sizes[level])
        return ops.cond(most <= sizes[level], lambda: block(sizes[level]), lambda: choose(level + 1))

    return choose(0)


def _lower_bound(sorted_values, targets):
    """``searchsorted(row, targets_row, side="left")`` for each row, as a binary search of elementwise ops and gathers.

    ``ops.searchsorted`` becomes TensorFlow's ``LowerBound``, which ONNX (tf2onnx) cannot convert, and takes one
    sequence only; this unrolled search (``ceil(log2(n + 1))`` steps over all targets at once) exports everywhere.

    Args:
        sorted_values: ``(B, n)`` int32, each row non-decreasing (``n`` static).
        targets: ``(B, m)`` int32.

    Returns:
        ``(B, m)`` int32: in each row, the first position whose value is ``>= target`` (``n`` if none).
    """
    size = int(sorted_values.shape[1])
    low, high = ops.zeros_like(targets), ops.full_like(targets, size)
    for _ in range(max(1, size).bit_length()):
        middle = (low + high) // 2
        right = ops.take_along_axis(sorted_values, ops.minimum(middle, size - 1), axis=1) < targets
        searching = low < high
        low = ops.where(searching & right, middle + 1, low)
        high = ops.where(searching & ops.logical_not(right), middle, high)
    return low


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
