"""Pairwise distances between embeddings, in ``keras.ops``, safe at zero distance.

Three distances are offered, with the names TripletLoss and the verification
tools share:

- ``"squared_l2"``: ``||a - b||^2`` (FaceNet's loss is written with it);
- ``"l2"``: ``||a - b||``, computed with a safe square root whose gradient is
  finite (zero) where two embeddings coincide;
- ``"cosine"``: ``1 - cos(a, b)``, safe for zero vectors.
"""

import numpy as np
from keras import ops

from dlkit.errors import ConfigError

DISTANCES = ("squared_l2", "l2", "cosine")

# Below this, a squared distance is treated as exactly zero: sqrt has an infinite
# derivative at 0, so those entries are taken out of the square root entirely.
_EPSILON = 1e-12


def check_distance(distance):
    """Raises ConfigError unless ``distance`` is one of :data:`DISTANCES`."""
    if distance not in DISTANCES:
        raise ConfigError(f"distance must be one of {', '.join(DISTANCES)}. Received: distance={distance!r}")
    return distance


def safe_sqrt(squared):
    """``sqrt`` whose value and gradient are 0 (not NaN/Inf) where ``squared <= 0``."""
    zero = ops.less_equal(squared, _EPSILON)
    # Feed sqrt a harmless 1 where the value is (near) zero, then put the zeros back:
    # the masked branch receives no gradient, so nothing infinite is multiplied by 0.
    root = ops.sqrt(ops.where(zero, ops.ones_like(squared), squared))
    return ops.where(zero, ops.zeros_like(squared), root)


def l2_normalize(x, axis=-1):
    """``x / ||x||`` with a zero vector mapped to zero (no NaN)."""
    norm_squared = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(norm_squared, _EPSILON))


def pairwise_distances(embeddings, distance="squared_l2"):
    """Distance matrix between all rows of ``embeddings``.

    Args:
        embeddings: float tensor of shape ``(batch, dim)``.
        distance: ``"squared_l2"``, ``"l2"`` or ``"cosine"``.

    Returns:
        A ``(batch, batch)`` tensor with zeros on the diagonal and no negative entry.
    """
    check_distance(distance)
    embeddings = ops.convert_to_tensor(embeddings)
    batch = ops.shape(embeddings)[0]
    if distance == "cosine":
        unit = l2_normalize(embeddings)
        matrix = 1.0 - ops.matmul(unit, ops.transpose(unit))
    else:
        # ||a||^2 - 2 a.b + ||b||^2 is one matmul; rounding can make it slightly negative.
        squares = ops.sum(ops.square(embeddings), axis=1)
        matrix = ops.expand_dims(squares, 1) - 2.0 * ops.matmul(embeddings, ops.transpose(embeddings))
        matrix = matrix + ops.expand_dims(squares, 0)
    matrix = ops.maximum(matrix, 0.0)
    # An embedding is at distance exactly 0 from itself, whatever the rounding.
    matrix = matrix * (1.0 - ops.eye(batch, dtype=matrix.dtype))
    if distance == "l2":
        matrix = safe_sqrt(matrix)
    return matrix


def paired_distances(first, second, distance="squared_l2"):
    """Row-wise distances ``d(first[i], second[i])`` in NumPy (for evaluation, not training).

    Args:
        first: array of shape ``(n, dim)``.
        second: array of shape ``(n, dim)``.
        distance: ``"squared_l2"``, ``"l2"`` or ``"cosine"``.

    Returns:
        A float64 array of shape ``(n,)``.
    """
    check_distance(distance)
    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    if first.shape != second.shape or first.ndim != 2:
        raise ConfigError(
            "paired distances need two (n, dim) arrays of the same shape. "
            f"Received: shapes {first.shape} and {second.shape}"
        )
    if distance == "cosine":
        norms = np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
        cosine = np.sum(first * second, axis=1) / np.maximum(norms, _EPSILON)
        return np.maximum(1.0 - cosine, 0.0)
    squared = np.sum(np.square(first - second), axis=1)
    return np.sqrt(squared) if distance == "l2" else squared


def cross_distances(first, second, distance="squared_l2"):
    """All distances ``d(first[i], second[j])`` in NumPy, shape ``(len(first), len(second))``."""
    check_distance(distance)
    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    if distance == "cosine":
        first = first / np.maximum(np.linalg.norm(first, axis=1, keepdims=True), _EPSILON)
        second = second / np.maximum(np.linalg.norm(second, axis=1, keepdims=True), _EPSILON)
        return np.maximum(1.0 - first @ second.T, 0.0)
    squared = np.sum(first**2, axis=1)[:, None] - 2.0 * first @ second.T + np.sum(second**2, axis=1)[None, :]
    squared = np.maximum(squared, 0.0)
    return np.sqrt(squared) if distance == "l2" else squared
