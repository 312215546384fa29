"""Named task heads on a shared trunk, their compile arguments, and the small trunk of the multi-task recipe.

    tasks = {"labels": {"kind": "multilabel", "units": 3}}
    spec = build_multitask(conv_trunk((64, 64, 3), (32, 64, 128)), tasks)
    spec.model.compile("adam", **spec.compile_arguments())

:func:`compile_arguments` gives the same ``loss``/``loss_weights``/``metrics``
dicts from the task specs alone, for a ``training.fit`` that builds the model
itself (inside a distribution strategy's scope).

Reference: R. Caruana, "Multitask Learning", Machine Learning 28 (1997) (hard
parameter sharing: one trunk, one head per task).
"""

import dataclasses

import keras

from dlkit.errors import ConfigError
from dlkit.models.common import global_pool
from dlkit.models.small_cnn import small_cnn
from dlkit.multitask.losses import (
    LocalizationLoss,
    MaskedBinaryCrossentropy,
    MaskedMeanSquaredError,
)
from dlkit.multitask.metrics import (
    LocalizationClassAccuracy,
    LocalizationIoU,
    MaskedAUC,
    MaskedBinaryAccuracy,
    MaskedMeanAbsoluteError,
)

TASK_KINDS = ("multilabel", "softmax", "regression", "localization", "landmarks")
POOLINGS = ("avg", "max", "flatten")
_SPEC_KEYS = {"kind", "units", "loss_weight", "hidden", "label_names", "loss"}


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


def compile_arguments(tasks):
    """The ``loss``, ``loss_weights`` and ``metrics`` dicts of ``tasks``, without building a model.

    What :meth:`Multitask.compile_arguments` returns for the same ``tasks`` (see
    :func:`build_multitask` for the task kinds and specs), with new loss and
    metric objects: pass them with a model builder to ``training.fit``, which
    builds the model once, in its strategy's scope.

    Args:
        tasks: ``{name: spec}`` as for :func:`build_multitask`.

    Returns:
        ``{"loss": {task: loss}, "loss_weights": {task: weight}, "metrics": {task: [metrics]}}``.

    Raises:
        ConfigError: no tasks, an unknown kind, bad units, label names or spec keys.
    """
    losses, weights, metrics = {}, {}, {}
    for task, spec in _checked(tasks).items():
        weights[task] = float(spec.get("loss_weight", 1.0))
        losses[task] = spec["loss"] if spec.get("loss") is not None else _default_loss(spec["kind"])
        metrics[task] = _metrics(spec["kind"], spec["units"], spec.get("label_names"))
    return {"loss": losses, "loss_weights": weights, "metrics": metrics}


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

    Layer names: the input ``image``, the trunk, ``avg_pool``/``max_pool``/
    ``flatten`` (feature maps only), per task ``<task>_hidden`` (with
    ``hidden``) and the output ``<task>`` (``<task>_objectness``, ``_box`` and
    ``_classes`` under a localization output).

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
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling must be 'avg', 'max' or 'flatten'. Received: pooling={pooling!r}")
    arguments = compile_arguments(tasks)
    inputs = keras.Input(shape=trunk.input_shape[1:], name="image")
    features = trunk(inputs)
    if len(features.shape) == 4:
        features = global_pool(features, pooling)
    outputs = {}
    for task, spec in tasks.items():
        head = features
        if spec.get("hidden"):
            head = keras.layers.Dense(spec["hidden"], activation="relu", name=f"{task}_hidden")(head)
        outputs[task] = _output(task, spec["kind"], spec["units"], head)
    return Multitask(model=keras.Model(inputs, outputs, name=name), **arguments)


def conv_trunk(input_shape, filters, name="trunk"):
    """The multi-task recipe's trunk: :func:`dlkit.models.small_cnn` standardizing each image, pools after three blocks.

    Standardizing each image's channels over its pixels (a parameter-free
    ``LayerNormalization``) removes a random background colour before the first
    convolution, which speeds learning a lot. A fourth block and later ones keep
    their maps' size.

    Reference: K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for
    Large-Scale Image Recognition", ICLR 2015.

    Args:
        input_shape: ``(height, width, channels)``.
        filters: filters per block (one 3x3 convolution + ReLU each).
        name: model name (layers are ``input``, ``standardize``, ``block<i>_conv``, ``block<i>_pool``).

    Returns:
        A ``keras.Model`` from images to a feature map.
    """
    return small_cnn(input_shape, include_top=False, filters=tuple(filters), standardize=True, pooled_blocks=3,
                     name=name)


def _checked(tasks):
    """Validates every task spec and returns ``tasks``."""
    if not tasks:
        raise ConfigError(f"tasks must name at least one task. Received: tasks={tasks!r}")
    for task, spec in tasks.items():
        kind, units = spec.get("kind"), spec.get("units")
        if kind not in TASK_KINDS:
            raise ConfigError(f"task {task!r}: kind must be one of {TASK_KINDS}. Received: kind={kind!r}")
        _check_units(units, task)
        unknown = set(spec) - _SPEC_KEYS
        if unknown:
            raise ConfigError(f"task {task!r}: unknown spec keys. Received: {sorted(unknown)}")
        label_names = spec.get("label_names")
        if kind == "multilabel" and label_names is not None and len(label_names) != units:
            raise ConfigError(
                f"task {task!r}: label_names must have {units} names. Received: label_names={label_names!r}"
            )
    return tasks


def _default_loss(kind):
    return {
        "multilabel": MaskedBinaryCrossentropy,
        "softmax": lambda: keras.losses.SparseCategoricalCrossentropy(ignore_class=-1),
        "regression": keras.losses.MeanSquaredError,
        "landmarks": MaskedMeanSquaredError,
        "localization": LocalizationLoss,
    }[kind]()


def _metrics(kind, units, label_names):
    if kind == "multilabel":
        metrics = [MaskedBinaryAccuracy(name="accuracy"), MaskedAUC(num_labels=units, name="auc")]
        per_label = enumerate(label_names or ())
        return metrics + [MaskedAUC(label_index=index, name=f"auc_{label}") for index, label in per_label]
    if kind == "softmax":
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if kind == "regression":
        return [keras.metrics.MeanAbsoluteError(name="mae")]
    if kind == "landmarks":
        return [MaskedMeanAbsoluteError(name="mae")]
    return [LocalizationClassAccuracy(), LocalizationIoU()]


def _output(task, kind, units, features):
    """The output tensor of one task head, float32 under mixed precision."""
    if kind == "multilabel":
        return multilabel_head(units, name=task)(features)
    if kind == "localization":  # one vector [p_c, box, class probabilities], as the target is packed
        objectness = keras.layers.Dense(1, activation="sigmoid", name=f"{task}_objectness", dtype="float32")(features)
        box = keras.layers.Dense(4, activation="sigmoid", name=f"{task}_box", dtype="float32")(features)
        classes = keras.layers.Dense(units, activation="softmax", name=f"{task}_classes", dtype="float32")(features)
        return keras.layers.Concatenate(name=task, dtype="float32")([objectness, box, classes])
    activation = {"softmax": "softmax", "regression": None, "landmarks": "sigmoid"}[kind]
    return keras.layers.Dense(units, activation=activation, name=task, dtype="float32")(features)


def _check_units(units, task):
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise ConfigError(f"task {task!r}: units must be an integer >= 1. Received: units={units!r}")
