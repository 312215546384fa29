"""Masked multi-task losses: a missing label contributes nothing, neither to the sum nor to the count.

Keras has no masked losses (keras #6118, #12878): its ``BinaryCrossentropy``
averages over every entry, and hand-rolled masks that zero the missing entries
but still divide by all of them make the loss shrink as labels go missing. Here
every masked loss is the mean over the *observed* entries of the batch.

* :class:`MaskedBinaryCrossentropy` (multi-label with missing labels);
* :class:`MaskedMeanSquaredError` (the landmarks loss);
* :class:`LocalizationLoss` (objectness, box and class; box and class only
  where an object is present).

Registered with ``keras.saving`` under the package ``"dlkit"``.

Reference: R. Caruana, "Multitask Learning", Machine Learning 28 (1997).
"""

import keras
from keras import ops

_EPSILON = 1e-7


def _observed_mean(values, observed):
    """Per-example values whose batch mean is ``sum(values * observed) / max(sum(observed), 1)``.

    Keras reduces a loss by averaging the per-example values over the batch;
    scaling each example's sum by ``batch / observed`` turns that average into a
    mean over the observed entries of the whole batch, whatever their spread.
    """
    values = ops.where(observed > 0, values, ops.zeros_like(values))
    axes = tuple(range(1, len(values.shape)))
    per_example = ops.sum(values, axis=axes) if axes else values
    batch = ops.cast(ops.shape(values)[0], values.dtype)
    count = ops.maximum(ops.sum(observed), 1.0)
    return per_example * batch / count


def _binary_crossentropy(target, output, from_logits):
    """Element-wise binary cross-entropy, finite for any target (missing ones are masked later)."""
    if from_logits:
        # max(x, 0) - x z + log(1 + exp(-|x|)): stable for large |x|.
        return ops.relu(output) - output * target + ops.log1p(ops.exp(-ops.abs(output)))
    output = ops.clip(output, _EPSILON, 1.0 - _EPSILON)
    return -(target * ops.log(output) + (1.0 - target) * ops.log(1.0 - output))


def mask_missing(y_true, missing_label, dtype):
    """Returns ``(observed, target)``: 1 where ``y_true != missing_label`` (else 0), and ``y_true`` with 0 there."""
    observed = ops.cast(ops.not_equal(y_true, missing_label), dtype)
    return observed, ops.where(observed > 0, y_true, ops.zeros_like(y_true))


@keras.saving.register_keras_serializable(package="dlkit")
class MaskedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy over the observed labels only, averaged over them.

    ``loss = sum(bce(y, p) * observed) / max(number observed, 1)`` over the whole
    batch, where ``observed = (y != missing_label)``. Missing labels give zero
    loss and zero gradient, and hiding labels does not change the loss's scale.
    A batch with no observed label gives 0, not NaN.

    Reference: the multi-label setting with unknown labels of Y.-Y. Sun et al.,
    "Multi-label learning with weak label", AAAI 2010.

    Args:
        missing_label: the target value that marks a missing label.
        from_logits: whether predictions are logits (else probabilities).
        name: loss name.
        reduction: Keras reduction of the per-example values (keep the default
            ``"sum_over_batch_size"`` for the observed-label mean).
        dtype: loss dtype.
    """

    def __init__(
        self,
        missing_label=-1,
        from_logits=False,
        name="masked_binary_crossentropy",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.missing_label = missing_label
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        observed, target = mask_missing(y_true, self.missing_label, y_pred.dtype)
        return _observed_mean(_binary_crossentropy(target, y_pred, self.from_logits), observed)

    def get_config(self):
        config = super().get_config()
        config.update(missing_label=self.missing_label, from_logits=self.from_logits)
        return config


@keras.saving.register_keras_serializable(package="dlkit")
class MaskedMeanSquaredError(keras.losses.Loss):
    """Squared error averaged over observed targets: the landmarks loss.

    Coordinates equal to ``missing_value`` (an absent object, an unannotated
    point) give no loss and no gradient; the mean is over the observed ones.

    Reference: landmark regression as in Y. Sun, X. Wang, X. Tang, "Deep
    Convolutional Network Cascade for Facial Point Detection", CVPR 2013.

    Args:
        missing_value: the target value that marks a missing coordinate.
        name: loss name.
        reduction: Keras reduction (keep ``"sum_over_batch_size"``).
        dtype: loss dtype.
    """

    def __init__(
        self, missing_value=-1, name="masked_mean_squared_error", reduction="sum_over_batch_size", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.missing_value = missing_value

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        observed, target = mask_missing(y_true, self.missing_value, y_pred.dtype)
        return _observed_mean(ops.square(y_pred - target), observed)

    def get_config(self):
        config = super().get_config()
        config.update(missing_value=self.missing_value)
        return config


@keras.saving.register_keras_serializable(package="dlkit")
class LocalizationLoss(keras.losses.Loss):
    """Classification with localization: ``y = [p_c, x_min, y_min, x_max, y_max, c_1 .. c_k]``.

    Per image: ``object_weight * logistic(p_c)`` always, plus, only where the
    target ``p_c = 1``, ``box_weight * sum((box - box_true)^2)`` and
    ``class_weight * cross_entropy(classes)``. Where ``p_c = 0`` the box and the
    classes are ignored (they may hold anything, e.g. ``-1``). Predictions are the
    head's activated outputs (:func:`build_multitask` ``"localization"``):
    ``p_c`` a probability, box in ``rel_xyxy``, classes a softmax.

    Reference: classification with localization as in P. Sermanet et al.,
    "OverFeat", ICLR 2014; the conditional loss of YOLO (J. Redmon et al., CVPR 2016).

    Args:
        object_weight: weight of the objectness term.
        box_weight: weight of the box term (squared errors of relative
            coordinates are small, hence > 1).
        class_weight: weight of the class term.
        name: loss name.
        reduction: Keras reduction of the per-image losses.
        dtype: loss dtype.
    """

    def __init__(
        self,
        object_weight=1.0,
        box_weight=5.0,
        class_weight=1.0,
        name="localization_loss",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.object_weight = float(object_weight)
        self.box_weight = float(box_weight)
        self.class_weight = float(class_weight)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        present = y_true[:, 0]
        objectness = _binary_crossentropy(present, y_pred[:, 0], from_logits=False)
        # Replace the targets of empty images before the arithmetic, so their
        # padding values never reach the loss or its gradient.
        has_object = ops.expand_dims(present > 0.5, -1)
        box_true = ops.where(has_object, y_true[:, 1:5], y_pred[:, 1:5])
        box = ops.sum(ops.square(y_pred[:, 1:5] - box_true), axis=-1)
        class_true = ops.where(has_object, y_true[:, 5:], ops.zeros_like(y_true[:, 5:]))
        classes = -ops.sum(class_true * ops.log(ops.clip(y_pred[:, 5:], _EPSILON, 1.0)), axis=-1)
        return self.object_weight * objectness + present * (self.box_weight * box + self.class_weight * classes)

    def get_config(self):
        config = super().get_config()
        config.update(object_weight=self.object_weight, box_weight=self.box_weight, class_weight=self.class_weight)
        return config
