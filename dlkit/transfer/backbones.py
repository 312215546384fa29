"""Backbones from anywhere, and the classifier built on one.

A backbone is given as a dlkit builder name (``"vgg16"``, ``"mobilenet_v2"``), a
``keras.applications`` name (``"DenseNet121"``, ``"EfficientNetB0"``), a saved
``.keras`` model (cut below its head), or a ``keras.Model``. :func:`build_classifier`
wraps it the way the Keras transfer-learning guide recommends::

    [0, 255] pixels -> family preprocessing -> base(training=False) -> pooling -> Dropout -> Dense

The base runs in inference mode even after it is unfrozen for fine-tuning, so its
batch-norm statistics (learned on millions of images) are not overwritten by a
few small batches, and its dropout stays off. Note that in Keras 3 (checked with
3.15) writing ``base(x, training=False)`` while building a functional model is
*not* enough: ``fit`` calls the outer model with ``training=True`` and the
functional graph passes that on to every layer, overriding the recorded
``False``. :class:`InferenceMode` makes the ``training=False`` stick.
"""

import difflib
import os

import keras

from dlkit import weights as weights_module
from dlkit.errors import ConfigError, WeightsError
from dlkit.models.common import global_pool
from dlkit.transfer.preprocessing import BackbonePreprocessing, check_mode, mode_for

POOLINGS = ("avg", "max", "flatten")


def keras_application_names():
    """Returns the model functions of ``keras.applications`` (``"VGG16"``, ``"MobileNetV2"``, ...)."""
    return sorted(
        name for name in dir(keras.applications) if name[:1].isupper() and callable(getattr(keras.applications, name))
    )


def _keras_application(name):
    """Returns the ``keras.applications`` name matching ``name`` (case and ``_`` ignored), or ``None``."""
    wanted = str(name).replace("_", "").replace("-", "").lower()
    for candidate in keras_application_names():
        if candidate.lower() == wanted:
            return candidate
    return None


def backbone_choices():
    """Returns every accepted backbone name: dlkit builders, then ``keras.applications``."""
    from dlkit import models

    return [*models.names(), *keras_application_names()]


def _unknown_backbone(backbone):
    choices = backbone_choices()
    close = difflib.get_close_matches(str(backbone), choices, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return ConfigError(
        f"Unknown backbone.{hint} Use a saved .keras model, a keras.Model, or one of: {', '.join(choices)}. "
        f"Received: backbone={backbone!r}"
    )


def load_backbone(backbone, weights=None, input_shape=(224, 224, 3), cut_at=None):
    """Returns ``(base, preprocessing_mode)`` for any kind of backbone.

    Args:
        backbone: a dlkit builder name, a ``keras.applications`` name, a path to
            a saved ``.keras`` model, or a ``keras.Model``.
        weights: ``None`` (random), ``"imagenet"`` (downloaded by Keras; offline
            a fast :class:`~dlkit.errors.WeightsError`), an offline name such as
            ``"vgg16-hed"``, or a ``.weights.h5`` / ``.keras`` file. Ignored for a
            saved model or a ``keras.Model``, which bring their own weights.
        input_shape: ``(height, width, channels)`` the base is built for; named
            pretrained weights need 3 channels, so a 1-channel shape builds an
            RGB base (the classifier repeats the grey channel).
        cut_at: the name of the layer whose output becomes the base's output:
            an inner layer of a named backbone (``"block4_pool"``), or where to
            cut a saved or given model (default: see :func:`cut_below_head`).

    Returns:
        ``(base, mode)``: a ``keras.Model`` without classifier top and the name
        of its preprocessing mode (``"caffe"``, ``"tf"``, ...).

    Raises:
        ConfigError: unknown backbone name (the message lists the choices) or
            layer name.
        WeightsError: weights that cannot be loaded (e.g. ``"imagenet"`` offline).
    """
    if isinstance(backbone, keras.Model):
        return cut_below_head(backbone, cut_at)
    text = os.fspath(backbone) if isinstance(backbone, os.PathLike) else backbone
    if not isinstance(text, str):
        raise ConfigError(f"backbone must be a name, a .keras path or a keras.Model. Received: {type(backbone)}")
    if text.endswith(".keras") or os.path.sep in text:
        if not os.path.isfile(text):
            raise ConfigError(f"Saved backbone not found. Received: backbone={text!r}")
        try:
            model = keras.models.load_model(text, compile=False)
        except Exception as error:  # Keras raises many types for a file it cannot read.
            raise WeightsError(f"Cannot load the saved model {text}: {error}. Received: backbone={text!r}") from error
        return cut_below_head(model, cut_at)

    height, width, channels = tuple(input_shape)
    if weights is not None and channels == 1:
        channels = 3  # pretrained weights are RGB: the preprocessing repeats the grey channel
    shape = (height, width, channels)
    from dlkit import models

    if text in models.names():
        try:
            base = models.build(text, include_top=False, weights=weights, input_shape=shape)
        except WeightsError as error:
            if weights != "imagenet":
                raise
            raise WeightsError(_with_offline_hint(str(error))) from error
        return _cut(base, cut_at), mode_for(text)
    application = _keras_application(text)
    if application is None:
        raise _unknown_backbone(text)
    received = f"Received: backbone={text!r}, weights={weights!r}"
    build = getattr(keras.applications, application)
    if weights == "imagenet":
        if channels != 3:
            raise WeightsError(f"ImageNet weights need 3 input channels. {received}, input_shape={shape}")
        weights_module.require_download(
            weights_module.imagenet_cache_path(application),
            what=f"ImageNet weights for {application}",
            received=received,
            hint=f"use the offline weights='{weights_module.VGG16_HED_NAME}' with backbone='vgg16', or pass "
            "weights=None or a weights file",
        )
        try:
            base = build(include_top=False, weights="imagenet", input_shape=shape)
        except Exception as error:  # URL, hash and shape errors all mean "no weights"
            raise WeightsError(
                f"keras.applications.{application} could not provide ImageNet weights: {error}. {received}"
            ) from error
    else:
        base = build(include_top=False, weights=None, input_shape=shape)
        weights_module.load_into(base, weights)
    return _cut(base, cut_at), mode_for(application)


def _with_offline_hint(message):
    """Adds the offline alternative to an ImageNet-weights error, before its ``Received:`` part."""
    hint = f"Offline, backbone='vgg16' with weights='{weights_module.VGG16_HED_NAME}' needs no download. "
    head, separator, tail = message.rpartition("Received:")
    return f"{head}{hint}{separator}{tail}" if separator else f"{message} {hint}"


def _cut(base, cut_at):
    """A named backbone cut at an inner layer (e.g. ``block4_pool`` for mid-level features)."""
    return base if cut_at is None else cut_below_head(base, cut_at)[0]


def cut_below_head(model, cut_at=None):
    """Returns ``(base, preprocessing_mode)``: ``model`` without its classifier head.

    Args:
        model: a ``keras.Model`` (e.g. loaded from ``.keras``).
        cut_at: name of the layer whose output becomes the base's output.
            Default: a classifier made by :func:`build_classifier` gives back its
            backbone (and its preprocessing mode); any other model is cut after
            its last layer with a 4-D (feature-map) output, i.e. below the
            pooling / flatten / dense head.

    Raises:
        ConfigError: ``cut_at`` is not a layer of ``model``, or the model has no
            feature-map layer to cut at.
    """
    if cut_at is not None:
        names = [layer.name for layer in model.layers]
        if cut_at not in names:
            raise ConfigError(f"Layer to cut at not found; layers are: {', '.join(names)}. Received: cut_at={cut_at!r}")
        layer = model.get_layer(cut_at)
        return keras.Model(_single(model.inputs), layer.output, name=f"{model.name}_to_{cut_at}"), _saved_mode(model)

    preprocessing = [layer for layer in model.layers if isinstance(layer, BackbonePreprocessing)]
    nested = find_base(model)
    if nested is not model and preprocessing:
        return nested, preprocessing[0].mode
    feature_layers = [layer for layer in model.layers if _rank(layer) == 4]
    if not feature_layers:
        raise ConfigError(
            f"Model {model.name!r} has no layer with a 4-D (feature map) output to cut at; pass cut_at= "
            f"one of: {', '.join(layer.name for layer in model.layers)}. Received: backbone={model.name!r}"
        )
    last = feature_layers[-1]
    if last is model.layers[-1]:
        return model, _saved_mode(model)  # already a headless base
    return keras.Model(_single(model.inputs), last.output, name=f"{model.name}_to_{last.name}"), _saved_mode(model)


def _single(inputs):
    """One input tensor rather than a one-element list, so the cut model is called with a plain tensor."""
    return inputs[0] if len(inputs) == 1 else inputs


def _rank(layer):
    try:
        return len(layer.output.shape)
    except (AttributeError, ValueError):  # a layer used several times has no single output
        return None


def _saved_mode(model):
    """Preprocessing of a saved model: none if it carries its own, else by family name."""
    if any(isinstance(layer, BackbonePreprocessing) for layer in model.layers):
        return "none"
    return mode_for(model.name)


def _head_input(backbone, weights, input_shape, cut_at, preprocessing, pooling, inference_mode=True):
    """Input -> preprocessing -> base(training=False); returns ``(inputs, features, base)``."""
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling must be one of {', '.join(POOLINGS)}. Received: pooling={pooling!r}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[-1] not in (1, 3):
        raise ConfigError(f"input_shape must be (height, width, 1 or 3). Received: input_shape={input_shape}")
    base, mode = load_backbone(backbone, weights=weights, input_shape=input_shape, cut_at=cut_at)
    if preprocessing != "auto":
        mode = check_mode(preprocessing)
    base_shape = tuple(base.input_shape)[1:] if hasattr(base, "input_shape") else tuple(base.inputs[0].shape[1:])
    for given, expected in zip(input_shape[:2], base_shape[:2]):
        if expected is not None and given != expected:
            raise ConfigError(
                f"The backbone takes {base_shape[0]}x{base_shape[1]} images; pass a matching input_shape "
                f"(or resize the data). Received: input_shape={input_shape}"
            )
    if base_shape[-1] not in (1, 3):
        raise ConfigError(f"The backbone must take 1 or 3 channels. Received: base input {base_shape}")
    inputs = keras.Input(input_shape, name="images")
    x = BackbonePreprocessing(mode, channels=base_shape[-1], name="preprocessing")(inputs)
    if inference_mode:
        # The base always runs with training=False: batch norm stays in inference mode, frozen or not.
        x = InferenceMode(base, name=f"{base.name}_inference")(x)
    else:
        x = base(x)
    return inputs, x, base


def _pooled(x, pooling):
    """Feature maps pooled (or flattened) by :func:`dlkit.models.common.global_pool`; other features unchanged."""
    return global_pool(x, pooling) if len(x.shape) == 4 else x


def build_feature_extractor(
    backbone, weights=None, input_shape=(224, 224, 3), pooling="avg", preprocessing="auto", cut_at=None, name=None
):
    """Builds ``[0, 255] images -> preprocessing -> base(training=False) -> pooled features``.

    Use it with :func:`dlkit.transfer.extract_features` for the feature-extraction
    shortcut. The base is frozen. Arguments as in :func:`build_classifier`.

    Returns:
        A ``keras.Model`` giving ``(batch, features)``.
    """
    inputs, x, base = _head_input(backbone, weights, input_shape, cut_at, preprocessing, pooling)
    set_trainable(base, False)
    outputs = _pooled(x, pooling)
    return keras.Model(inputs, outputs, name=name or f"{base.name}_features")


def build_classifier(
    backbone,
    num_classes,
    weights=None,
    input_shape=(224, 224, 3),
    freeze=True,
    dropout=0.2,
    pooling="avg",
    preprocessing="auto",
    cut_at=None,
    classifier_activation="softmax",
    name=None,
    inference_mode=True,
    standardize=True,
):
    """Builds a classifier on a (pretrained) backbone, ready for transfer learning.

    Following the Keras transfer-learning guide: the base is called with
    ``training=False`` and frozen; the new head is pooling, ``Dropout`` and a
    float32 ``Dense`` named ``predictions``, whose weights start at zero (every
    class at the same logit; random weights on pooled features of norm ~200
    saturate the softmax and a small folder's few steps never recover), after
    a fixed standardization of the pooled features (``standardize``). Feed ``[0, 255]`` pixels
    (``dlkit.data.load(..., normalize=False)``): the family's preprocessing is
    part of the model, so it is saved with it and cannot be forgotten at
    inference time.

    Args:
        backbone: a dlkit builder name, a ``keras.applications`` name, a saved
            ``.keras`` model (cut below its head) or a ``keras.Model``.
        num_classes: number of classes of the new head (>= 1).
        weights: ``None``, ``"imagenet"``, ``"vgg16-hed"`` (offline VGG16 conv
            weights) or a weights file; see :func:`load_backbone`.
        input_shape: ``(height, width, channels)`` of the images; 1 channel
            feeds an RGB backbone by repeating the grey value.
        freeze: freeze the base (phase one of fine-tuning).
        dropout: dropout rate before the last layer (0 for none).
        pooling: ``"avg"``, ``"max"`` or ``"flatten"`` for a feature-map base.
        preprocessing: ``"auto"`` (the family's mode; see
            :mod:`dlkit.transfer.preprocessing`) or a mode name.
        cut_at: the layer whose output is the feature map (an inner layer of
            a named backbone, or where to cut a saved model).
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name (default ``<base>_classifier``).
        inference_mode: run the base with ``training=False`` always (see
            :class:`InferenceMode`). ``False`` lets it follow the outer model,
            e.g. to train the same architecture from scratch with live batch norm.
        standardize: put a :class:`FeatureStandardization` before the head
            (identity until :func:`~dlkit.transfer.fine_tune` sets it from the
            training features).

    Returns:
        A ``keras.Model``; :func:`find_base` gives its backbone, which runs
        inside an :class:`InferenceMode` layer.

    Raises:
        ConfigError: bad arguments or unknown backbone (with the list of choices).
        WeightsError: weights that cannot be loaded.
    """
    if num_classes is None or int(num_classes) < 1:
        raise ConfigError(f"num_classes must be >= 1. Received: num_classes={num_classes}")
    if not 0 <= dropout < 1:
        raise ConfigError(f"dropout must be in [0, 1). Received: dropout={dropout}")
    inputs, x, base = _head_input(backbone, weights, input_shape, cut_at, preprocessing, pooling, inference_mode)
    set_trainable(base, not freeze)
    x = _pooled(x, pooling)
    if standardize and len(x.shape) == 2:
        x = FeatureStandardization(name="head_standardization")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    # Zero weights: every class starts at the same logit (loss log C) instead of random logits of the scale of
    # the pooled features (~10 for VGG16 on caffe inputs), which saturate the softmax (Kolesnikov et al., BiT 2020).
    outputs = keras.layers.Dense(
        int(num_classes), activation=classifier_activation, kernel_initializer="zeros", dtype="float32",
        name="predictions",
    )(x)
    return keras.Model(inputs, outputs, name=name or f"{base.name}_classifier")


@keras.saving.register_keras_serializable(package="dlkit")
class FeatureStandardization(keras.layers.Layer):
    """``(x - mean) / sqrt(variance + epsilon)`` per feature, with fixed (non-trainable) statistics.

    The head of :func:`build_classifier` standardizes the pooled features
    before its ``Dense``, as a logistic regression on standardized features
    does: pooled VGG16 features on caffe inputs have norms ~200 and per-feature
    scales that differ by orders of magnitude. It starts as the identity;
    :func:`dlkit.transfer.fine_tune` sets the statistics from the training
    features before phase 1 (:meth:`adapt`).

    Args:
        epsilon: added to the variance.
        **kwargs: ``keras.layers.Layer`` arguments (``name``).
    """

    def __init__(self, epsilon=1e-6, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        size = int(input_shape[-1])
        self.mean = self.add_weight(shape=(size,), initializer="zeros", trainable=False, name="mean")
        self.variance = self.add_weight(shape=(size,), initializer="ones", trainable=False, name="variance")

    def adapt(self, features):
        """Sets the statistics from ``(N, size)`` features (NumPy)."""
        import numpy as np

        features = np.asarray(features, np.float64)
        self.mean.assign(features.mean(axis=0).astype("float32"))
        self.variance.assign(features.var(axis=0).astype("float32"))

    def call(self, inputs):
        x = keras.ops.cast(inputs, "float32")
        return (x - self.mean) / keras.ops.sqrt(self.variance + self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def set_trainable(layer, value):
    """Sets ``layer.trainable`` and, always, that of every layer inside it.

    With the TensorFlow backend, ``layer.trainable = True`` on a layer that is
    already trainable is skipped altogether (TF's ``AutoTrackable.__setattr__``
    ignores an assignment of the value an attribute already has), so layers
    frozen one by one inside it would stay frozen. Toggling first makes the
    assignment recurse.
    """
    layer.trainable = not value
    layer.trainable = value


def find_base(model):
    """Returns the backbone of a classifier made here (its nested model), else ``model`` itself."""
    nested = [
        layer.base if isinstance(layer, InferenceMode) else layer
        for layer in model.layers
        if isinstance(layer, (InferenceMode, keras.Model))
    ]
    return nested[0] if len(nested) == 1 else model


@keras.saving.register_keras_serializable(package="dlkit")
class InferenceMode(keras.layers.Layer):
    """Calls a backbone with ``training=False``, whatever mode the outer model runs in.

    Batch normalization inside then always uses (and never updates) its moving
    statistics, and dropout inside stays off, also while the backbone's weights
    are being fine-tuned. Its ``trainable`` flags are the backbone's own.

    Args:
        base: the backbone ``keras.Model``.
        **kwargs: ``keras.layers.Layer`` arguments (``name``).
    """

    def __init__(self, base, **kwargs):
        super().__init__(**kwargs)
        self.base = base

    def call(self, inputs):
        # An explicit training argument wins over the call context that fit() sets.
        return self.base(inputs, training=False)

    def compute_output_shape(self, input_shape):
        return self.base.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "base": keras.saving.serialize_keras_object(self.base)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["base"] = keras.saving.deserialize_keras_object(config["base"])
        return cls(**config)
