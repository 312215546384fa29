"""Online triplet mining inside a batch, in ``keras.ops``.

Each function takes a ``(batch, batch)`` distance matrix and integer identity
labels and returns one scalar loss. A *positive pair* is ``(a, p)`` with
``a != p`` and the same label; a *negative* of ``a`` is any ``n`` with another
label. Batches with no positive pair (or no negative) give a loss of 0, never NaN,
and so does an empty batch (0 embeddings), with a finite (empty) gradient: every
reduction passes NumPy's ``initial`` (0 for a maximum of distances or masks,
which are never negative, +inf for a minimum), so it is defined on an empty
tensor and unchanged on any other.

References:
    Schroff, Kalenichenko, Philbin, "FaceNet: A Unified Embedding for Face
    Recognition and Clustering", CVPR 2015 (semi-hard negatives).
    Hermans, Beyer, Leibe, "In Defense of the Triplet Loss for Person
    Re-Identification", 2017 (batch-hard and batch-all).
"""

from keras import ops

MINING = ("batch_all", "batch_hard", "semi_hard")

# A triplet whose hinge loss is at most this is "easy" (inactive): it adds no gradient.
ACTIVE_TOLERANCE = 1e-16


def label_masks(labels):
    """Returns float masks ``(positive_pairs, negatives)``, both ``(batch, batch)``.

    ``positive_pairs[a, p]`` is 1 for ``a != p`` with the same label;
    ``negatives[a, n]`` is 1 for different labels.
    """
    labels = ops.reshape(labels, (-1,))
    same = ops.equal(ops.expand_dims(labels, 1), ops.expand_dims(labels, 0))
    same = ops.cast(same, "float32")
    positive_pairs = same * (1.0 - ops.eye(ops.shape(labels)[0], dtype="float32"))
    return positive_pairs, 1.0 - same


_INFINITY = float("inf")


def _ceiling(distances):
    """A constant above every distance of the batch (1 for an empty batch)."""
    return ops.stop_gradient(ops.max(distances, initial=0.0)) + 1.0


def _safe_mean(total, count):
    """``total / count`` that is 0 (not NaN) when ``count`` is 0."""
    return ops.divide(total, ops.maximum(count, 1.0))


def triplet_mask(labels):
    """``(batch, batch, batch)`` float mask of valid triplets ``[a, p, n]``."""
    positive_pairs, negatives = label_masks(labels)
    return ops.expand_dims(positive_pairs, 2) * ops.expand_dims(negatives, 1)


def batch_all_loss(distances, labels, margin):
    """Mean hinge loss over the *active* triplets of all valid triplets in the batch.

    Every valid triplet ``(a, p, n)`` gives ``max(d(a, p) - d(a, n) + margin, 0)``;
    the sum is divided by the number of triplets with a positive loss, so easy
    triplets do not dilute the gradient as training progresses.
    """
    valid = triplet_mask(labels)
    hinge = ops.expand_dims(distances, 2) - ops.expand_dims(distances, 1) + margin
    hinge = ops.maximum(hinge, 0.0) * valid
    active = ops.cast(ops.greater(hinge, ACTIVE_TOLERANCE), "float32")
    return _safe_mean(ops.sum(hinge), ops.sum(active))


def batch_hard_loss(distances, labels, margin):
    """Mean over anchors of ``max(max_p d(a, p) - min_n d(a, n) + margin, 0)``.

    Only anchors with at least one positive and one negative count.
    (TF Addons' ``TripletHardLoss`` also averages over anchors without a
    positive, treating their hardest positive distance as 0.)
    """
    positive_pairs, negatives = label_masks(labels)
    hardest_positive = ops.max(distances * positive_pairs, axis=1, initial=0.0)
    # Non-negatives are pushed above every real distance before taking the minimum.
    ceiling = _ceiling(distances)
    hardest_negative = ops.min(distances + (1.0 - negatives) * ceiling, axis=1, initial=_INFINITY)
    has_positive = ops.max(positive_pairs, axis=1, initial=0.0)
    valid = ops.cast(has_positive * ops.max(negatives, axis=1, initial=0.0) > 0, "float32")
    hinge = ops.maximum(hardest_positive - hardest_negative + margin, 0.0) * valid
    return _safe_mean(ops.sum(hinge), ops.sum(valid))


def semi_hard_negatives(distances, labels):
    """The negative distance TF Addons' ``TripletSemiHardLoss`` pairs with each ``(a, p)``.

    For each positive pair, the smallest ``d(a, n)`` that is greater than
    ``d(a, p)``; if no negative is farther than the positive, the largest
    ``d(a, n)`` (the least hard of the hard negatives).

    Returns:
        ``(batch, batch)`` tensor indexed ``[a, p]`` (meaningful where ``a`` has a negative).
    """
    _, negatives = label_masks(labels)
    anchor_positive = ops.expand_dims(distances, 2)  # [a, p, 1]
    anchor_negative = ops.expand_dims(distances, 1)  # [a, 1, n]
    farther = ops.expand_dims(negatives, 1) * ops.cast(ops.greater(anchor_negative, anchor_positive), "float32")
    ceiling = _ceiling(distances)
    outside = ops.min(anchor_negative + (1.0 - farther) * ceiling, axis=2, initial=_INFINITY)
    has_outside = ops.max(farther, axis=2, initial=0.0) > 0
    inside = ops.max(distances * negatives, axis=1, keepdims=True, initial=0.0)  # distances are >= 0
    return ops.where(has_outside, outside, ops.broadcast_to(inside, ops.shape(outside)))


def semi_hard_loss(distances, labels, margin):
    """FaceNet's semi-hard triplet loss with TF Addons' ``TripletSemiHardLoss`` semantics.

    The mean over positive pairs ``(a, p)`` of ``max(d(a, p) - d(a, n*) + margin, 0)``
    where ``n*`` is chosen by :func:`semi_hard_negatives`. Positive pairs whose
    anchor has no negative at all are left out (TF Addons falls back to a
    distance of 0 there, charging ``margin + d(a, p)`` for a triplet that does not
    exist); with P >= 2 identities per batch both agree exactly.
    """
    positive_pairs, negatives = label_masks(labels)
    negative_distances = semi_hard_negatives(distances, labels)
    has_negative = ops.max(negatives, axis=1, keepdims=True, initial=0.0)
    pairs = positive_pairs * has_negative
    hinge = ops.maximum(distances - negative_distances + margin, 0.0) * pairs
    return _safe_mean(ops.sum(hinge), ops.sum(pairs))


def triplet_statistics(distances, labels, margin):
    """Diagnostics of a batch: a collapsed or exploded embedding shows at once.

    Returns:
        A dict of scalars: ``active_triplet_fraction`` (valid triplets with a
        positive hinge loss, over all valid triplets), ``positive_distance``
        (mean ``d(a, p)`` over positive pairs) and ``negative_distance`` (mean
        ``d(a, n)`` over negative pairs). Each is 0 when there is nothing to average.
    """
    positive_pairs, negatives = label_masks(labels)
    valid = triplet_mask(labels)
    hinge = ops.expand_dims(distances, 2) - ops.expand_dims(distances, 1) + margin
    active = ops.cast(ops.greater(hinge, ACTIVE_TOLERANCE), "float32") * valid
    return {
        "active_triplet_fraction": _safe_mean(ops.sum(active), ops.sum(valid)),
        "positive_distance": _safe_mean(ops.sum(distances * positive_pairs), ops.sum(positive_pairs)),
        "negative_distance": _safe_mean(ops.sum(distances * negatives), ops.sum(negatives)),
    }


LOSSES = {"batch_all": batch_all_loss, "batch_hard": batch_hard_loss, "semi_hard": semi_hard_loss}
