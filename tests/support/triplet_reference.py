"""Plain NumPy loops over every triplet: the references the keras.ops code is tested against."""

import itertools

import numpy as np


def distance_matrix(embeddings, distance):
    embeddings = np.asarray(embeddings, dtype=np.float64)
    n = len(embeddings)
    matrix = np.zeros((n, n))
    for i, j in itertools.product(range(n), repeat=2):
        if i == j:
            continue
        a, b = embeddings[i], embeddings[j]
        if distance == "cosine":
            norms = np.linalg.norm(a) * np.linalg.norm(b)
            matrix[i, j] = 1.0 - (a @ b / norms if norms > 0 else 0.0)
        else:
            squared = float(np.sum((a - b) ** 2))
            matrix[i, j] = np.sqrt(squared) if distance == "l2" else squared
    return matrix


def _pairs_and_negatives(labels):
    n = len(labels)
    for a in range(n):
        positives = [p for p in range(n) if p != a and labels[p] == labels[a]]
        negatives = [k for k in range(n) if labels[k] != labels[a]]
        yield a, positives, negatives


def batch_all(d, labels, margin):
    losses = []
    for a, positives, negatives in _pairs_and_negatives(labels):
        for p in positives:
            for n in negatives:
                losses.append(max(d[a, p] - d[a, n] + margin, 0.0))
    active = [loss for loss in losses if loss > 1e-16]
    return sum(active) / len(active) if active else 0.0


def batch_hard(d, labels, margin):
    losses = []
    for a, positives, negatives in _pairs_and_negatives(labels):
        if positives and negatives:
            hardest_positive = max(d[a, p] for p in positives)
            hardest_negative = min(d[a, n] for n in negatives)
            losses.append(max(hardest_positive - hardest_negative + margin, 0.0))
    return sum(losses) / len(losses) if losses else 0.0


def semi_hard(d, labels, margin):
    losses = []
    for a, positives, negatives in _pairs_and_negatives(labels):
        if not negatives:
            continue
        for p in positives:
            farther = [d[a, n] for n in negatives if d[a, n] > d[a, p]]
            negative = min(farther) if farther else max(d[a, n] for n in negatives)
            losses.append(max(d[a, p] - negative + margin, 0.0))
    return sum(losses) / len(losses) if losses else 0.0


def statistics(d, labels, margin):
    valid = active = 0
    positive, negative = [], []
    for a, positives, negatives in _pairs_and_negatives(labels):
        positive += [d[a, p] for p in positives]
        negative += [d[a, n] for n in negatives]
        for p in positives:
            for n in negatives:
                valid += 1
                active += d[a, p] - d[a, n] + margin > 1e-16
    return {
        "active_triplet_fraction": active / valid if valid else 0.0,
        "positive_distance": float(np.mean(positive)) if positive else 0.0,
        "negative_distance": float(np.mean(negative)) if negative else 0.0,
    }


LOSSES = {"batch_all": batch_all, "batch_hard": batch_hard, "semi_hard": semi_hard}


def tf_addons_semi_hard(d, labels, margin):
    """TF Addons' ``triplet_semihard_loss`` transcribed to NumPy, tiling and masked min/max included.

    Its ``_masked_maximum``/``_masked_minimum`` shift by the row minimum/maximum so
    that masked-out entries never win; kept here as written there.
    """
    labels = np.asarray(labels).reshape(-1, 1)
    batch = len(labels)
    adjacency = labels == labels.T
    adjacency_not = ~adjacency

    def masked_minimum(data, mask):
        maximums = data.max(axis=1, keepdims=True)
        return ((data - maximums) * mask).min(axis=1, keepdims=True) + maximums

    def masked_maximum(data, mask):
        minimums = data.min(axis=1, keepdims=True)
        return ((data - minimums) * mask).max(axis=1, keepdims=True) + minimums

    d_tile = np.tile(d, [batch, 1])
    mask = np.tile(adjacency_not, [batch, 1]) & (d_tile > d.T.reshape(-1, 1))
    mask_final = (mask.sum(axis=1, keepdims=True) > 0).reshape(batch, batch).T
    negatives_outside = masked_minimum(d_tile, mask).reshape(batch, batch).T
    negatives_inside = np.tile(masked_maximum(d, adjacency_not), [1, batch])
    semi_hard_negatives = np.where(mask_final, negatives_outside, negatives_inside)
    loss_mat = margin + d - semi_hard_negatives
    mask_positives = adjacency.astype(float) - np.eye(batch)
    return float(np.sum(np.maximum(loss_mat * mask_positives, 0.0)) / np.sum(mask_positives))
