"""Multi-task heads: multi-label with missing labels, classification with localization, landmarks.

Keras has no masked losses (keras #6118, #12878): its ``BinaryCrossentropy``
averages over every entry, and hand-rolled masks that zero the missing entries
but still divide by all of them make the loss shrink as labels go missing. Here a
missing label (``-1`` by default) contributes nothing, neither to the sum nor to
the count: every masked loss is the mean over *observed* entries of the batch.

* :class:`MaskedBinaryCrossentropy`, :class:`MaskedMeanSquaredError` (the
  landmarks loss), :class:`LocalizationLoss` (objectness, box and class, the box
  and class terms only where an object is present);
* metrics that skip missing labels: :class:`MaskedBinaryAccuracy`,
  :class:`MaskedAUC` (per label or averaged), :class:`MaskedMeanAbsoluteError`,
  :class:`LocalizationClassAccuracy`, :class:`LocalizationIoU`;
* :func:`multilabel_head` and :func:`build_multitask`, which puts named heads on
  a shared trunk and returns the ``loss``/``loss_weights``/``metrics`` dicts::

      spec = build_multitask(trunk, {"labels": {"kind": "multilabel", "units": 3}})
      spec.model.compile("adam", **spec.compile_arguments())

Everything is registered with ``keras.saving`` under the package ``"dlkit"``.

Reference: R. Caruana, "Multitask Learning", Machine Learning 28 (1997);
classification with localization as in P. Sermanet et al., "OverFeat", ICLR 2014.
"""

import dataclasses

import keras
from keras import ops

from dlkit.errors import ConfigError

TASK_KINDS = ("multilabel", "softmax", "regression", "localization", "landmarks")
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


def _mask(y_true, missing_label, dtype):
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
        observed, target = _mask(y_true, self.missing_label, y_pred.dtype)
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
        observed, target = _mask(y_true, self.missing_value, y_pred.dtype)
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


# --- metrics -------------------------------------------------------------------------------------


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
        observed, target = _mask(y_true, self.missing_label, self.dtype)
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
        observed, target = _mask(y_true, self.missing_label, y_pred.dtype)
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
        observed, target = _mask(ops.cast(y_true, self.dtype), self.missing_value, self.dtype)
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
        return box_iou(y_true[:, 1:5], y_pred[:, 1:5])


def box_iou(first, second):
    """Element-wise IoU of two box arrays.

    Args:
        first: (..., 4) boxes ``rel_xyxy`` (or any ``xyxy``).
        second: (..., 4) boxes in the same format.

    Returns:
        (...) IoU in [0, 1]; 0 for empty or inverted boxes (no NaN).
    """
    first = ops.convert_to_tensor(first)
    second = ops.cast(second, first.dtype)
    width = ops.relu(ops.minimum(first[..., 2], second[..., 2]) - ops.maximum(first[..., 0], second[..., 0]))
    height = ops.relu(ops.minimum(first[..., 3], second[..., 3]) - ops.maximum(first[..., 1], second[..., 1]))
    intersection = width * height

    def area(box):
        return ops.relu(box[..., 2] - box[..., 0]) * ops.relu(box[..., 3] - box[..., 1])

    union = area(first) + area(second) - intersection
    return ops.divide_no_nan(intersection, union)


def _expand_to(weights, like):
    """Broadcasts per-example ``weights`` (N,) or (N, 1) to the shape of ``like``."""
    weights = ops.convert_to_tensor(weights)
    while len(weights.shape) < len(like.shape):
        weights = ops.expand_dims(weights, -1)
    return ops.broadcast_to(weights, ops.shape(like))


# --- heads and the multi-task model --------------------------------------------------------------


def multilabel_head(units, name="multilabel", activation="sigmoid"):
    """Returns the multi-label output layer: ``units`` independent sigmoids (not a softmax).

    Unlike a softmax, many labels can be true at once; train it with
    :class:`MaskedBinaryCrossentropy` when some labels are unknown.

    Reference: M.-L. Zhang, Z.-H. Zhou, "A review on multi-label learning
    algorithms", IEEE TKDE 26 (2014).

    Args:
        units: number of labels (>= 1).
        name: layer name (the model's output name).
        activation: ``"sigmoid"`` (probabilities) or ``None`` (logits; then use
            ``from_logits=True`` in the loss and metrics).

    Returns:
        A ``keras.layers.Dense`` kept in float32 under mixed precision.
    """
    _check_units(units, name)
    return keras.layers.Dense(units, activation=activation, name=name, dtype="float32")


@dataclasses.dataclass
class Multitask:
    """What :func:`build_multitask` returns.

    Attributes:
        model: the ``keras.Model`` with one named output per task.
        loss: ``{task: loss}``.
        loss_weights: ``{task: weight}``.
        metrics: ``{task: [metrics]}``.
    """

    model: keras.Model
    loss: dict
    loss_weights: dict
    metrics: dict

    def compile_arguments(self):
        """``dict(loss=..., loss_weights=..., metrics=...)`` for ``model.compile`` or ``training.fit``."""
        return {"loss": self.loss, "loss_weights": self.loss_weights, "metrics": self.metrics}


def build_multitask(trunk, tasks, *, pooling="avg", name="multitask"):
    """Puts one named head per task on a shared trunk.

    Task kinds (``units`` is the number of outputs of the kind):

    * ``"multilabel"``: ``units`` sigmoids; :class:`MaskedBinaryCrossentropy`
      (missing labels ``-1``); :class:`MaskedBinaryAccuracy` and :class:`MaskedAUC`
      (mean, plus one per label when ``label_names`` is given, named
      ``auc_<label>``).
    * ``"softmax"``: ``units`` classes; sparse cross-entropy that ignores class
      ``-1``; accuracy.
    * ``"regression"``: ``units`` linear outputs; mean squared error; MAE.
    * ``"localization"``: ``units`` classes; output ``[p_c, box rel_xyxy,
      class probabilities]`` (5 + units) from sigmoid/sigmoid/softmax layers;
      :class:`LocalizationLoss`; class accuracy and IoU over images with an object.
    * ``"landmarks"``: ``units`` relative coordinates (sigmoid, e.g. 6 for three
      ``(x, y)`` points); :class:`MaskedMeanSquaredError` (``-1`` = missing);
      masked MAE.

    Reference: R. Caruana, "Multitask Learning", Machine Learning 28 (1997)
    (hard parameter sharing: one trunk, one head per task).

    Args:
        trunk: a ``keras.Model`` from images to features, shared by all heads.
        tasks: ``{name: spec}``; a spec is a dict with ``kind``, ``units``, and
            optionally ``loss_weight`` (default 1), ``hidden`` (units of a ReLU
            layer of the head's own, default 0 = none), ``label_names``
            (multilabel), and ``loss`` (a loss instance replacing the default).
        pooling: how a trunk's feature map (rank 4) becomes a vector: ``"avg"``,
            ``"max"`` or ``"flatten"``; vectors pass unchanged.
        name: the model name.

    Returns:
        A :class:`Multitask` (model, loss, loss_weights, metrics).

    Raises:
        ConfigError: no tasks, an unknown kind, bad units or a bad pooling.
    """
    if not isinstance(trunk, keras.Model):
        raise ConfigError(f"trunk must be a keras.Model. Received: trunk={type(trunk).__name__}")
    if not tasks:
        raise ConfigError(f"tasks must name at least one task. Received: tasks={tasks!r}")
    if pooling not in ("avg", "max", "flatten"):
        raise ConfigError(f"pooling must be 'avg', 'max' or 'flatten'. Received: pooling={pooling!r}")
    inputs = keras.Input(shape=trunk.input_shape[1:], name="image")
    features = trunk(inputs)
    if len(features.shape) == 4:
        layer = {
            "avg": keras.layers.GlobalAveragePooling2D,
            "max": keras.layers.GlobalMaxPooling2D,
            "flatten": keras.layers.Flatten,
        }[pooling]
        features = layer(name="features")(features)
    outputs, losses, weights, metrics = {}, {}, {}, {}
    for task, spec in tasks.items():
        spec = dict(spec)
        kind, units = spec.pop("kind", None), spec.pop("units", None)
        if kind not in TASK_KINDS:
            raise ConfigError(f"task {task!r}: kind must be one of {TASK_KINDS}. Received: kind={kind!r}")
        _check_units(units, task)
        weights[task] = float(spec.pop("loss_weight", 1.0))
        hidden = spec.pop("hidden", 0)
        label_names = spec.pop("label_names", None)
        custom_loss = spec.pop("loss", None)
        if spec:
            raise ConfigError(f"task {task!r}: unknown spec keys. Received: {sorted(spec)}")
        head = features
        if hidden:
            head = keras.layers.Dense(hidden, activation="relu", name=f"{task}_hidden")(head)
        outputs[task], losses[task], metrics[task] = _head(task, kind, units, head, label_names)
        if custom_loss is not None:
            losses[task] = custom_loss
    model = keras.Model(inputs, outputs, name=name)
    return Multitask(model=model, loss=losses, loss_weights=weights, metrics=metrics)


def _head(task, kind, units, features, label_names):
    """Returns ``(output tensor, loss, metrics)`` of one task head."""
    if kind == "multilabel":
        output = multilabel_head(units, name=task)(features)
        metrics = [MaskedBinaryAccuracy(name="accuracy"), MaskedAUC(num_labels=units, name="auc")]
        if label_names is not None:
            if len(label_names) != units:
                raise ConfigError(
                    f"task {task!r}: label_names must have {units} names. Received: label_names={label_names!r}"
                )
            metrics += [MaskedAUC(label_index=index, name=f"auc_{label}") for index, label in enumerate(label_names)]
        return output, MaskedBinaryCrossentropy(), metrics
    if kind == "softmax":
        output = keras.layers.Dense(units, activation="softmax", name=task, dtype="float32")(features)
        loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
        return output, loss, [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if kind == "regression":
        output = keras.layers.Dense(units, name=task, dtype="float32")(features)
        return output, keras.losses.MeanSquaredError(), [keras.metrics.MeanAbsoluteError(name="mae")]
    if kind == "landmarks":
        output = keras.layers.Dense(units, activation="sigmoid", name=task, dtype="float32")(features)
        return output, MaskedMeanSquaredError(), [MaskedMeanAbsoluteError(name="mae")]
    # localization: one vector [p_c, box, class probabilities], as the target is packed.
    objectness = keras.layers.Dense(1, activation="sigmoid", name=f"{task}_objectness", dtype="float32")(features)
    box = keras.layers.Dense(4, activation="sigmoid", name=f"{task}_box", dtype="float32")(features)
    classes = keras.layers.Dense(units, activation="softmax", name=f"{task}_classes", dtype="float32")(features)
    output = keras.layers.Concatenate(name=task, dtype="float32")([objectness, box, classes])
    return output, LocalizationLoss(), [LocalizationClassAccuracy(), LocalizationIoU()]


def _check_units(units, task):
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise ConfigError(f"task {task!r}: units must be an integer >= 1. Received: units={units!r}")
