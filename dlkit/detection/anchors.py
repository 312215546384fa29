"""Anchor shapes from k-means on box sizes with distance ``1 - IoU`` (YOLO9000).

Redmon & Farhadi, "YOLO9000: Better, Faster, Stronger", CVPR 2017, section 2:
Euclidean k-means on ``(w, h)`` favours large boxes, so the distance is
``1 - IoU`` of two boxes sharing their center. The paper's table reports the
mean best IoU of the training boxes with their closest anchor (61.0 for 5
clusters on VOC), which :func:`kmeans_anchors` returns so users can choose ``k``.

Anchors here are ``(width, height)`` pairs in the unit of the input (relative
to the image when given relative boxes); multiply by the grid size for
darknet's grid units.
"""

import numpy as np

from dlkit.errors import ConfigError


def shape_iou(sizes1, sizes2):
    """IoU of boxes that share a center, from their sizes only.

    Args:
        sizes1: array ``(N, 2)`` of ``(width, height)``.
        sizes2: array ``(K, 2)`` of ``(width, height)``.

    Returns:
        Float array ``(N, K)``; zero-size boxes have IoU 0.
    """
    sizes1 = np.asarray(sizes1, dtype=np.float64)[:, None, :]
    sizes2 = np.asarray(sizes2, dtype=np.float64)[None, :, :]
    intersection = np.minimum(sizes1[..., 0], sizes2[..., 0]) * np.minimum(sizes1[..., 1], sizes2[..., 1])
    union = sizes1[..., 0] * sizes1[..., 1] + sizes2[..., 0] * sizes2[..., 1] - intersection
    return np.where(union > 0, intersection / np.maximum(union, 1e-12), 0.0)


def box_sizes(boxes):
    """Returns the ``(width, height)`` of every real box in ``rel_xyxy``/``xyxy`` boxes.

    Args:
        boxes: array ``(..., 4)`` of corner boxes; padding (negative) and
            zero-area rows are left out.

    Returns:
        Float32 array ``(num_boxes, 2)``.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    sizes = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=-1)
    keep = ~np.all(boxes < 0, axis=-1) & np.all(sizes > 0, axis=-1)
    return sizes[keep]


def mean_best_iou(sizes, anchors):
    """Mean over boxes of the IoU with the closest anchor (YOLO9000's "Avg IOU")."""
    return float(shape_iou(sizes, anchors).max(axis=1).mean())


def kmeans_anchors(box_wh, k, seed=0, max_iterations=300, restarts=3):
    """Clusters box sizes into ``k`` anchors with the distance ``1 - IoU``.

    Initialization is k-means++ under the same distance; each cluster's new
    center is the mean size of its members; the best of ``restarts`` seeded runs
    (highest mean best IoU) is kept.

    Args:
        box_wh: array ``(N, 2)`` of box ``(width, height)`` (see :func:`box_sizes`).
        k: number of anchors, ``1 <= k <= N``.
        seed: random seed; the same seed gives the same anchors.
        max_iterations: upper bound on Lloyd iterations per restart.
        restarts: number of seeded initializations.

    Returns:
        ``(anchors, mean_iou)``: float32 array ``(k, 2)`` sorted by area
        (smallest first), and the mean best IoU of the boxes with them.

    Raises:
        ConfigError: ``k`` < 1, fewer boxes than ``k``, or non-positive sizes.
    """
    sizes = np.asarray(box_wh, dtype=np.float64)
    if sizes.ndim != 2 or sizes.shape[-1] != 2:
        raise ConfigError(f"box_wh must have shape (N, 2). Received: shape={sizes.shape}")
    if k < 1 or len(sizes) < k:
        raise ConfigError(f"k-means needs 1 <= k <= number of boxes. Received: k={k}, boxes={len(sizes)}")
    if np.any(sizes <= 0):
        raise ConfigError(f"Box sizes must be positive; drop empty boxes first. Received: min size={sizes.min()}")
    rng = np.random.default_rng(seed)
    best_anchors, best_score = None, -1.0
    for _ in range(max(1, restarts)):
        anchors = _kmeans_plus_plus(sizes, k, rng)
        assignment = None
        for _ in range(max_iterations):
            new_assignment = shape_iou(sizes, anchors).argmax(axis=1)
            if assignment is not None and np.array_equal(new_assignment, assignment):
                break
            assignment = new_assignment
            for cluster in range(k):
                members = sizes[assignment == cluster]
                if len(members):
                    anchors[cluster] = members.mean(axis=0)
                else:  # an emptied cluster restarts on the box worst served by the others
                    anchors[cluster] = sizes[shape_iou(sizes, anchors).max(axis=1).argmin()]
        score = mean_best_iou(sizes, anchors)
        if score > best_score:
            best_anchors, best_score = anchors.copy(), score
    order = np.argsort(best_anchors[:, 0] * best_anchors[:, 1], kind="stable")
    return best_anchors[order].astype(np.float32), best_score


def _kmeans_plus_plus(sizes, k, rng):
    centers = [sizes[rng.integers(len(sizes))]]
    for _ in range(1, k):
        distance = 1.0 - shape_iou(sizes, np.array(centers)).max(axis=1)
        weights = distance**2
        total = weights.sum()
        index = rng.choice(len(sizes), p=weights / total) if total > 0 else rng.integers(len(sizes))
        centers.append(sizes[index])
    return np.array(centers, dtype=np.float64)
