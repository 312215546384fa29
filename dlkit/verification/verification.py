"""Verification: is this pair the same identity? Thresholds, 10-fold accuracy, ROC, EER, TAR@FAR.

A pair is accepted as "same" when its distance is at most the threshold.
The protocol is LFW's: the pairs are split into 10 folds; for each fold the
threshold with the best accuracy on the other 9 is applied to it; the accuracy
is the mean over the 10 folds (Huang et al., "Labeled Faces in the Wild", 2007).
"""

import numpy as np
from sklearn import metrics as sk_metrics
from sklearn.model_selection import StratifiedKFold

from dlkit.errors import ConfigError


def _check_pairs(distances, same):
    distances = np.asarray(distances, dtype=np.float64).reshape(-1)
    same = np.asarray(same).reshape(-1).astype(bool)
    if len(distances) != len(same) or len(distances) == 0:
        raise ConfigError(
            f"distances and same need one entry per pair. Received: {len(distances)} distances, {len(same)} labels"
        )
    if not np.all(np.isfinite(distances)):
        raise ConfigError(f"distances must be finite. Received: {np.sum(~np.isfinite(distances))} non-finite values")
    return distances, same


def make_pairs(labels, num_pairs=6000, *, seed=0):
    """Balanced same/different index pairs drawn from ``labels`` (half of each).

    Args:
        labels: identity of each example, shape ``(n,)``.
        num_pairs: total pairs (LFW's protocol has 6000: 10 folds of 300 + 300).
        seed: random seed.

    Returns:
        ``(first, second, same)``: index arrays into ``labels`` and the boolean truth.
    """
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    identities = np.unique(labels)
    members = {identity: np.flatnonzero(labels == identity) for identity in identities}
    repeated = [identity for identity in identities if len(members[identity]) >= 2]
    if not repeated or len(identities) < 2:
        raise ConfigError(
            "pairs need an identity with two examples and at least two identities. "
            f"Received: {len(identities)} identities, {len(repeated)} with two or more examples"
        )
    half = num_pairs // 2
    first, second = [], []
    for identity in rng.choice(repeated, size=half):
        a, b = rng.choice(members[identity], size=2, replace=False)
        first.append(a)
        second.append(b)
    for _ in range(num_pairs - half):
        one, other = rng.choice(identities, size=2, replace=False)
        first.append(rng.choice(members[one]))
        second.append(rng.choice(members[other]))
    first, second = np.asarray(first), np.asarray(second)
    return first, second, labels[first] == labels[second]


def choose_threshold(distances, same, target_far=None):
    """The distance threshold with the best accuracy on these pairs.

    Candidates are the midpoints between consecutive sorted distances plus one
    below the smallest and one above the largest, so every split of the pairs is
    tried; ties in accuracy go to the smallest threshold.

    Args:
        distances: one distance per pair.
        same: True where the pair is one identity.
        target_far: if given, the largest threshold whose false-accept rate
            (different pairs accepted / different pairs) is at most this.

    Returns:
        The threshold (accept a pair when ``distance <= threshold``).
    """
    distances, same = _check_pairs(distances, same)
    values = np.unique(distances)
    candidates = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2.0, [values[-1] + 1.0]])
    # Pairs accepted by each candidate, counted by binary search: O(n log n), not n x n.
    same_accepted = np.searchsorted(np.sort(distances[same]), candidates, side="right")
    different_accepted = np.searchsorted(np.sort(distances[~same]), candidates, side="right")
    if target_far is not None:
        if not 0.0 <= target_far <= 1.0:
            raise ConfigError(f"target_far must be in [0, 1]. Received: target_far={target_far}")
        false_accept_rate = different_accepted / max(int(np.sum(~same)), 1)
        return float(candidates[np.flatnonzero(false_accept_rate <= target_far)[-1]])
    correct = same_accepted + (np.sum(~same) - different_accepted)
    return float(candidates[int(np.argmax(correct))])


def accuracy_at(distances, same, threshold):
    """Fraction of pairs decided right at ``threshold``."""
    distances, same = _check_pairs(distances, same)
    return float(np.mean((distances <= threshold) == same))


def equal_error_rate(distances, same):
    """The error rate where false accepts equal false rejects (interpolated on the ROC)."""
    distances, same = _check_pairs(distances, same)
    false_positive, true_positive, _ = sk_metrics.roc_curve(same, -distances)
    false_negative = 1.0 - true_positive
    gap = false_positive - false_negative
    crossing = int(np.flatnonzero(gap >= 0)[0])
    if crossing == 0 or gap[crossing] == 0:
        return float(false_positive[crossing])
    # Linear interpolation between the two ROC points around the crossing.
    before = crossing - 1
    weight = -gap[before] / (gap[crossing] - gap[before])
    return float(false_positive[before] + weight * (false_positive[crossing] - false_positive[before]))


def tar_at_far(distances, same, far=1e-3):
    """True-accept rate at the best threshold whose false-accept rate is <= ``far``."""
    distances, same = _check_pairs(distances, same)
    false_positive, true_positive, _ = sk_metrics.roc_curve(same, -distances)
    return float(np.max(true_positive[false_positive <= far]))


def evaluate_verification(distances, same, *, folds=10, fold_of=None, seed=0):
    """LFW-style verification report of pair distances.

    Args:
        distances: one distance per pair (smaller = more alike).
        same: True where the pair is one identity.
        folds: number of folds (LFW: 10); stratified and seeded unless ``fold_of`` is given.
        fold_of: optional fold index of each pair (LFW's own split).
        seed: seed of the fold split.

    Returns:
        A flat dict: ``accuracy`` (mean over folds of the accuracy at the threshold
        chosen on the other folds), ``accuracy_std``, ``threshold`` (chosen on all
        pairs), ``roc_auc``, ``eer``, ``tar_at_far_1e-3``, ``pairs``.
    """
    distances, same = _check_pairs(distances, same)
    if same.all() or not same.any():
        raise ConfigError(
            f"verification needs both same and different pairs. Received: {int(same.sum())} same of {len(same)}"
        )
    if fold_of is None:
        if folds < 2 or min(same.sum(), (~same).sum()) < folds:
            raise ConfigError(
                f"folds must be >= 2 and at most the number of pairs of each kind. Received: folds={folds}"
            )
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        fold_of = np.empty(len(same), dtype=int)
        for index, (_, test) in enumerate(splitter.split(distances, same)):
            fold_of[test] = index
    fold_of = np.asarray(fold_of).reshape(-1)
    accuracies = []
    for fold in np.unique(fold_of):
        held = fold_of == fold
        threshold = choose_threshold(distances[~held], same[~held])
        accuracies.append(accuracy_at(distances[held], same[held], threshold))
    return {
        "accuracy": float(np.mean(accuracies)),
        "accuracy_std": float(np.std(accuracies)),
        "threshold": choose_threshold(distances, same),
        "roc_auc": float(sk_metrics.roc_auc_score(same, -distances)),
        "eer": equal_error_rate(distances, same),
        "tar_at_far_1e-3": tar_at_far(distances, same, 1e-3),
        "pairs": len(same),
    }
