"""Intersection over union, the one box IoU of dlkit: pairwise matrices, aligned pairs, generalized IoU.

All functions take ``bounding_box_format`` (Keras names, default ``rel_xyxy``)
and are written in ``keras.ops``; they compute in float32 unless given another
``dtype`` (mAP uses float64, the precision of pycocotools and the VOC devkit).
Padding boxes (every coordinate negative) get IoU ``mask_value`` (0 by
default) with everything. Zero-area boxes have IoU 0 with everything (no
0/0): the union is floored at a tiny epsilon.

Users: the YOLO loss, mAP (:mod:`dlkit.detection.metrics`) and the multitask
localization metrics. Non-max suppression keeps its own threshold test (see
``dlkit.detection.nms._overlaps`` for why).
"""

from keras import ops

from dlkit.detection import boxes as box_utils

EPSILON = 1e-9


def _corners(boxes, bounding_box_format, dtype):
    name = box_utils.check_format(bounding_box_format)
    target = "rel_xyxy" if name.startswith("rel_") else "xyxy"
    corners = box_utils.convert_format(boxes, name, target, dtype=dtype)
    return corners, box_utils.is_padding(corners)


def _area(x1, y1, x2, y2):
    return ops.maximum(x2 - x1, 0.0) * ops.maximum(y2 - y1, 0.0)


def compute_iou(boxes1, boxes2, bounding_box_format="rel_xyxy", mask_value=0.0, dtype="float32"):
    """Pairwise IoU matrix.

    Args:
        boxes1: float tensor ``(..., N, 4)``.
        boxes2: float tensor ``(..., M, 4)``; leading axes broadcast with ``boxes1``'s.
        bounding_box_format: format of both (a Keras name).
        mask_value: the IoU reported for any pair involving a padding box.
        dtype: the float type of the arithmetic and of the result.

    Returns:
        Tensor ``(..., N, M)`` of type ``dtype``.
    """
    corners1, padding1 = _corners(boxes1, bounding_box_format, dtype)
    corners2, padding2 = _corners(boxes2, bounding_box_format, dtype)
    a = [part[..., :, None] for part in ops.unstack(corners1, 4, axis=-1)]
    b = [part[..., None, :] for part in ops.unstack(corners2, 4, axis=-1)]
    inter_w = ops.maximum(ops.minimum(a[2], b[2]) - ops.maximum(a[0], b[0]), 0.0)
    inter_h = ops.maximum(ops.minimum(a[3], b[3]) - ops.maximum(a[1], b[1]), 0.0)
    intersection = inter_w * inter_h
    union = _area(*a) + _area(*b) - intersection
    iou = intersection / ops.maximum(union, EPSILON)
    padding = ops.logical_or(padding1[..., :, None], padding2[..., None, :])
    return ops.where(padding, ops.cast(mask_value, iou.dtype), iou)


def aligned_iou(boxes1, boxes2, bounding_box_format="rel_xyxy", mask_value=0.0):
    """IoU of matching rows: ``boxes1[..., i, :]`` with ``boxes2[..., i, :]``.

    Args:
        boxes1: float tensor ``(..., 4)``.
        boxes2: float tensor ``(..., 4)`` broadcastable to ``boxes1``.
        bounding_box_format: format of both.
        mask_value: the IoU reported when either box is padding.

    Returns:
        Float32 tensor ``(...)``.
    """
    iou, _, _, padding = _aligned_parts(boxes1, boxes2, bounding_box_format)
    return ops.where(padding, ops.cast(mask_value, iou.dtype), iou)


def _aligned_parts(boxes1, boxes2, bounding_box_format):
    corners1, padding1 = _corners(boxes1, bounding_box_format, "float32")
    corners2, padding2 = _corners(boxes2, bounding_box_format, "float32")
    a = ops.unstack(corners1, 4, axis=-1)
    b = ops.unstack(corners2, 4, axis=-1)
    inter_w = ops.maximum(ops.minimum(a[2], b[2]) - ops.maximum(a[0], b[0]), 0.0)
    inter_h = ops.maximum(ops.minimum(a[3], b[3]) - ops.maximum(a[1], b[1]), 0.0)
    intersection = inter_w * inter_h
    union = _area(*a) + _area(*b) - intersection
    iou = intersection / ops.maximum(union, EPSILON)
    enclosing = _area(ops.minimum(a[0], b[0]), ops.minimum(a[1], b[1]), ops.maximum(a[2], b[2]), ops.maximum(a[3], b[3]))
    return iou, union, enclosing, ops.logical_or(padding1, padding2)


def generalized_iou(boxes1, boxes2, bounding_box_format="rel_xyxy", mask_value=0.0):
    """Generalized IoU of matching rows (Rezatofighi et al., CVPR 2019).

    ``GIoU = IoU - (C - U) / C`` with ``C`` the smallest enclosing box's area
    and ``U`` the union; it lies in (-1, 1] and stays informative for
    disjoint boxes, so ``1 - GIoU`` is a usable box-regression loss.

    Args:
        boxes1: float tensor ``(..., 4)``.
        boxes2: float tensor ``(..., 4)`` broadcastable to ``boxes1``.
        bounding_box_format: format of both.
        mask_value: the value reported when either box is padding.

    Returns:
        Float32 tensor ``(...)``.
    """
    iou, union, enclosing, padding = _aligned_parts(boxes1, boxes2, bounding_box_format)
    giou = iou - (enclosing - union) / ops.maximum(enclosing, EPSILON)
    return ops.where(padding, ops.cast(mask_value, giou.dtype), giou)
