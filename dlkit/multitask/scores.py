"""Test-set scores of the multi-task recipe's two tasks, from NumPy arrays of a whole (fully labeled) test set."""

import numpy as np
from keras import ops

from dlkit.detection.iou import aligned_iou


def multilabel_scores(labels, probabilities, classes):
    """Per-label and mean ROC AUC and accuracy (threshold 0.5) on fully labeled images.

    Args:
        labels: ``(N, len(classes))`` 0/1 truth.
        probabilities: ``(N, len(classes))`` predicted probabilities.
        classes: the label names, one per column.

    Returns:
        ``{"auc_<label>", "accuracy_<label>", "mean_auc", "mean_accuracy": float}``; a label whose
        test images are all positive (or all negative) has AUC NaN, left out of the mean.
    """
    from sklearn.metrics import roc_auc_score

    scores = {}
    for column, label in enumerate(classes):
        truth = labels[:, column]
        both = 0 < truth.sum() < len(truth)  # AUC needs both classes present
        scores[f"auc_{label}"] = float(roc_auc_score(truth, probabilities[:, column])) if both else float("nan")
        scores[f"accuracy_{label}"] = float(np.mean((probabilities[:, column] > 0.5) == truth))
    scores["mean_auc"] = float(np.nanmean([scores[f"auc_{label}"] for label in classes]))
    scores["mean_accuracy"] = float(np.mean([scores[f"accuracy_{label}"] for label in classes]))
    return scores


def localization_scores(truth, predicted, truth_landmarks, predicted_landmarks, image_size):
    """Class accuracy, box IoU and landmark error on the images that hold an object; objectness accuracy on all.

    The same numbers as the ``class_accuracy`` and ``iou`` metrics of a
    ``"localization"`` head over the same images.

    Args:
        truth: ``(N, 5 + classes)`` targets ``[p_c, box rel_xyxy, one-hot class]``.
        predicted: the head's ``(N, 5 + classes)`` outputs.
        truth_landmarks: ``(N, 2 * points)`` relative ``(x, y)`` coordinates.
        predicted_landmarks: the landmarks head's outputs.
        image_size: the image side in pixels (the landmark error is in pixels).

    Returns:
        ``{"objectness_accuracy", "class_accuracy", "mean_iou", "landmark_error_pixels": float}`` (only
        ``objectness_accuracy`` when no image holds an object).
    """
    present = truth[:, 0] > 0.5
    scores = {"objectness_accuracy": float(np.mean((predicted[:, 0] > 0.5) == present))}
    if present.any():
        scores["class_accuracy"] = float(np.mean(np.argmax(truth[present, 5:], 1) == np.argmax(predicted[present, 5:], 1)))
        iou = ops.convert_to_numpy(aligned_iou(truth[present, 1:5], predicted[present, 1:5]))
        scores["mean_iou"] = float(np.mean(iou))
        difference = (truth_landmarks[present] - predicted_landmarks[present]).reshape(-1, 2) * image_size
        scores["landmark_error_pixels"] = float(np.mean(np.linalg.norm(difference, axis=1)))
    return scores
