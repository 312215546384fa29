"""Metrics that skip missing labels, and the metrics of a classification-with-localization head.

* :class:`MaskedBinaryAccuracy`, :class:`MaskedAUC` (per label or averaged) and
  :class:`MaskedMeanAbsoluteError` ignore entries equal to the missing value;
* :class:`LocalizationClassAccuracy` and :class:`LocalizationIoU` score a
  ``[p_c, box, classes]`` output over the images that hold an object; the IoU is
  :func:`dlkit.detection.iou.aligned_iou`, the one IoU of dlkit.

Registered with ``keras.saving`` under the package ``"dlkit"``.
"""

import keras
from keras import ops

from dlkit.detection.iou import aligned_iou
from dlkit.multitask.losses import mask_missing


@keras.saving.register_keras_serializable(package="dlkit")
class MaskedBinaryAccuracy(keras.metrics.Metric):
    """Fraction of observed binary labels predicted right (missing labels skipped).

    Args:
        threshold: decision threshold on probabilities (on logits: 0 when
            ``from_logits``).
        missing_label: the target value that marks a missing label.
        from_logits: whether predictions are logits.
        name: metric name.
        dtype: metric dtype.
    """

    def __init__(self, threshold=0.5, missing_label=-1, from_logits=False, name="masked_binary_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.threshold = float(threshold)
        self.missing_label = missing_label
        self.from_logits = from_logits
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.observed = self.add_variable(shape=(), initializer="zeros", name="observed")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(y_pred, self.dtype)
        y_true = ops.cast(y_true, self.dtype)
        if self.from_logits:
            y_pred = ops.sigmoid(y_pred)
        observed, target = mask_missing(y_true, self.missing_label, self.dtype)
        if sample_weight is not None:
            observed = observed * ops.cast(_expand_to(sample_weight, observed), self.dtype)
        predicted = ops.cast(y_pred > self.threshold, self.dtype)
        right = ops.cast(ops.equal(predicted, target), self.dtype)
        self.correct.assign_add(ops.sum(right * observed))
        self.observed.assign_add(ops.sum(observed))

    def result(self):
        return ops.divide_no_nan(self.correct, self.observed)

    def reset_state(self):
        self.correct.assign(0.0)
        self.observed.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config.update(threshold=self.threshold, missing_label=self.missing_label, from_logits=self.from_logits)
        return config


@keras.saving.register_keras_serializable(package="dlkit")
class MaskedAUC(keras.metrics.AUC):
    """ROC AUC that skips missing labels: of one label, or the mean over labels.

    Keras's ``AUC`` with the missing entries given zero weight. With
    ``label_index`` it is that label's AUC; with ``num_labels`` (and no
    ``label_index``) the mean of the per-label AUCs; with neither, one AUC over
    all observed entries. A label with no observed positive (or negative) gives
    0, not NaN.

    Reference: T. Fawcett, "An introduction to ROC analysis", Pattern
    Recognition Letters 27 (2006).

    Args:
        num_labels: number of labels, for the mean of per-label AUCs.
        label_index: the one label (column) to score.
        missing_label: the target value that marks a missing label.
        from_logits: whether predictions are logits.
        num_thresholds: thresholds of the ROC approximation.
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: Keras's Riemann-sum method.
        name: metric name.
        dtype: metric dtype.
    """

    def __init__(
        self,
        num_labels=None,
        label_index=None,
        missing_label=-1,
        from_logits=False,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name="masked_auc",
        dtype=None,
    ):
        per_label = label_index is None and num_labels is not None
        super().__init__(
            num_thresholds=num_thresholds,
            curve=curve,
            summation_method=summation_method,
            name=name,
            dtype=dtype,
            multi_label=per_label,
            num_labels=num_labels if per_label else None,
            from_logits=from_logits,
        )
        self.label_count = num_labels
        self.label_index = label_index
        self.missing_label = missing_label

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        if self.label_index is not None:
            y_true = y_true[:, self.label_index : self.label_index + 1]
            y_pred = y_pred[:, self.label_index : self.label_index + 1]
        observed, target = mask_missing(y_true, self.missing_label, y_pred.dtype)
        if sample_weight is not None:
            observed = observed * ops.cast(_expand_to(sample_weight, observed), observed.dtype)
        super().update_state(target, y_pred, sample_weight=observed)

    def get_config(self):
        return {
            "num_labels": self.label_count,
            "label_index": self.label_index,
            "missing_label": self.missing_label,
            "from_logits": self._from_logits,
            "num_thresholds": self.num_thresholds,
            "curve": self.curve.value,
            "summation_method": self.summation_method.value,
            "name": self.name,
            "dtype": self.dtype,
        }


@keras.saving.register_keras_serializable(package="dlkit")
class MaskedMeanAbsoluteError(keras.metrics.Metric):
    """Mean absolute error over observed targets (e.g. landmarks of present objects).

    Args:
        missing_value: the target value that marks a missing coordinate.
        name: metric name.
        dtype: metric dtype.
    """

    def __init__(self, missing_value=-1, name="masked_mean_absolute_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.missing_value = missing_value
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.observed = self.add_variable(shape=(), initializer="zeros", name="observed")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(y_pred, self.dtype)
        observed, target = mask_missing(ops.cast(y_true, self.dtype), self.missing_value, self.dtype)
        if sample_weight is not None:
            observed = observed * ops.cast(_expand_to(sample_weight, observed), self.dtype)
        self.total.assign_add(ops.sum(ops.abs(y_pred - target) * observed))
        self.observed.assign_add(ops.sum(observed))

    def result(self):
        return ops.divide_no_nan(self.total, self.observed)

    def reset_state(self):
        self.total.assign(0.0)
        self.observed.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config.update(missing_value=self.missing_value)
        return config


class _LocalizationMetric(keras.metrics.Metric):
    """Mean of a per-image score over the images that hold an object (target ``p_c = 1``)."""

    def __init__(self, name, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def score(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        y_pred = ops.cast(y_pred, self.dtype)
        present = ops.cast(y_true[:, 0] > 0.5, self.dtype)
        if sample_weight is not None:
            present = present * ops.cast(ops.reshape(sample_weight, (-1,)), self.dtype)
        self.total.assign_add(ops.sum(self.score(y_true, y_pred) * present))
        self.count.assign_add(ops.sum(present))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


@keras.saving.register_keras_serializable(package="dlkit")
class LocalizationClassAccuracy(_LocalizationMetric):
    """Class accuracy of a localization head, over images that hold an object.

    Args:
        name: metric name.
        dtype: metric dtype.
    """

    def __init__(self, name="class_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def score(self, y_true, y_pred):
        return ops.cast(ops.equal(ops.argmax(y_true[:, 5:], -1), ops.argmax(y_pred[:, 5:], -1)), self.dtype)


@keras.saving.register_keras_serializable(package="dlkit")
class LocalizationIoU(_LocalizationMetric):
    """Mean IoU of the predicted and true boxes (``rel_xyxy``), over images that hold an object.

    Args:
        name: metric name.
        dtype: metric dtype.
    """

    def __init__(self, name="iou", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def score(self, y_true, y_pred):
        return aligned_iou(y_true[:, 1:5], y_pred[:, 1:5])


def _expand_to(weights, like):
    """Broadcasts per-example ``weights`` (N,) or (N, 1) to the shape of ``like``."""
    weights = ops.convert_to_tensor(weights)
    while len(weights.shape) < len(like.shape):
        weights = ops.expand_dims(weights, -1)
    return ops.broadcast_to(weights, ops.shape(like))
