"""Inception: 1×1 convolutions, Inception modules and GoogLeNet (Inception v1).

Lin, Chen & Yan, "Network In Network", ICLR 2014 (https://arxiv.org/abs/1312.4400):
1×1 convolutions as a per-pixel fully connected layer across channels, the
course's way to shrink (or grow) the channel count cheaply.
Szegedy et al., "Going Deeper with Convolutions", CVPR 2015
(https://arxiv.org/abs/1409.4842): the Inception module (parallel 1×1, 3×3,
5×5 convolutions and a max pool, concatenated), its 1×1 "reduction" version
that cuts the multiplications ~10×, and GoogLeNet with two auxiliary
classifiers whose losses are added with weight 0.3 during training and which
are dropped at inference.

Layer names follow Caffe's ``bvlc_googlenet`` (``inception_3a_1x1``,
``inception_3a_3x3_reduce`` ...), with ``_`` instead of ``/``.
"""

import keras

from dlkit.errors import ConfigError
from dlkit.models import common
from dlkit.models.registry import register

AUX_LOSS_WEIGHT = 0.3  # the paper: "their loss gets added to the total loss of the network with a discount weight"
MAIN_OUTPUT = "predictions"
AUX_OUTPUTS = ("aux_1_predictions", "aux_2_predictions")
NORMALIZATIONS = ("lrn", "batchnorm", None)

# Table 1 of the paper: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj.
GOOGLENET_MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _convolution(x, filters, kernel_size, name, strides=1, batch_norm=False, batch_norm_momentum=0.99):
    """Conv + ReLU, or Conv + batch norm + ReLU (bias dropped: batch norm has its own shift)."""
    if not batch_norm:
        return keras.layers.Conv2D(
            filters, kernel_size, strides=strides, padding="same", activation="relu", name=name
        )(x)
    x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = keras.layers.BatchNormalization(momentum=batch_norm_momentum, name=f"{name}_bn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def network_in_network_block(
    x, filters, kernel_size=1, strides=1, pointwise_layers=0, batch_norm=False, name="nin"
):
    """A convolution followed by ``pointwise_layers`` 1×1 convolutions, all with ReLU (NiN's "mlpconv").

    With the defaults it is the single 1×1 convolution of the course: each
    output pixel is a fully connected layer over the input pixel's channels,
    so ``28×28×192`` becomes ``28×28×filters`` (fewer channels: cheaper
    layers after it) while height and width stay.

    Args:
        x: input feature maps ``(batch, height, width, channels)``.
        filters: output channels of every convolution.
        kernel_size: size of the first convolution (1 for a pure 1×1 block).
        strides: stride of the first convolution.
        pointwise_layers: 1×1 convolutions after the first (NiN uses 2).
        batch_norm: batch normalization before each ReLU.
        name: prefix of the layer names (``{name}_conv``, ``{name}_pointwise1`` ...).

    Returns:
        The feature maps with ``filters`` channels.
    """
    if int(filters) < 1 or int(pointwise_layers) < 0:
        raise ConfigError(
            f"filters must be >= 1 and pointwise_layers >= 0. Received: filters={filters}, "
            f"pointwise_layers={pointwise_layers}"
        )
    x = _convolution(x, filters, kernel_size, f"{name}_conv", strides, batch_norm)
    for index in range(1, int(pointwise_layers) + 1):
        x = _convolution(x, filters, 1, f"{name}_pointwise{index}", 1, batch_norm)
    return x


def inception_module(
    x,
    filters_1x1,
    filters_3x3,
    filters_5x5,
    *,
    filters_3x3_reduce=None,
    filters_5x5_reduce=None,
    filters_pool_projection=None,
    batch_norm=False,
    batch_norm_momentum=0.99,
    name="inception",
):
    """An Inception module: 1×1, 3×3 and 5×5 convolutions and a 3×3 max pool side by side, concatenated.

    Naive (the paper's Figure 2a) when no reduction is given: the pool branch
    passes all input channels through, so the output grows with every module.
    With 1×1 reductions (Figure 2b) a 1×1 convolution shrinks the channels
    before the 3×3 and 5×5 convolutions and projects the pool branch.

    Args:
        x: input feature maps.
        filters_1x1: channels of the 1×1 branch.
        filters_3x3: channels of the 3×3 branch.
        filters_5x5: channels of the 5×5 branch.
        filters_3x3_reduce: channels of the 1×1 before the 3×3 (reduction version).
        filters_5x5_reduce: channels of the 1×1 before the 5×5 (reduction version).
        filters_pool_projection: channels of the 1×1 after the pool (reduction version).
        batch_norm: batch normalization in every convolution.
        batch_norm_momentum: momentum of the moving statistics.
        name: prefix of the layer names (``{name}_1x1`` ... ``{name}_concat``).

    Returns:
        Feature maps of the same height and width with ``filters_1x1 +
        filters_3x3 + filters_5x5 + (filters_pool_projection or input channels)``
        channels.

    Raises:
        ConfigError: only some of the three reductions are given.
    """
    reductions = (filters_3x3_reduce, filters_5x5_reduce, filters_pool_projection)
    if any(value is None for value in reductions) and any(value is not None for value in reductions):
        raise ConfigError(
            "Give all three reductions (filters_3x3_reduce, filters_5x5_reduce, filters_pool_projection) "
            f"or none (the naive module). Received: {reductions}"
        )
    naive = filters_3x3_reduce is None

    def convolution(tensor, filters, kernel_size, suffix):
        return _convolution(tensor, filters, kernel_size, f"{name}_{suffix}", 1, batch_norm, batch_norm_momentum)

    branch_1x1 = convolution(x, filters_1x1, 1, "1x1")
    branch_3x3 = x if naive else convolution(x, filters_3x3_reduce, 1, "3x3_reduce")
    branch_3x3 = convolution(branch_3x3, filters_3x3, 3, "3x3")
    branch_5x5 = x if naive else convolution(x, filters_5x5_reduce, 1, "5x5_reduce")
    branch_5x5 = convolution(branch_5x5, filters_5x5, 5, "5x5")
    branch_pool = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    if not naive:
        branch_pool = convolution(branch_pool, filters_pool_projection, 1, "pool_proj")
    return keras.layers.Concatenate(name=f"{name}_concat")([branch_1x1, branch_3x3, branch_5x5, branch_pool])


def _auxiliary_head(x, num_classes, classifier_activation, width_multiplier, dropout, name):
    """The paper's auxiliary classifier: 5×5/3 average pool, 1×1 conv 128, FC 1024, dropout 0.7, classifier."""
    height = x.shape[1]
    # 14×14 maps (224 inputs) pool to 4×4 as in the paper; smaller maps pool with a smaller window.
    pool_size = 5 if height is None else min(5, height, x.shape[2])
    x = keras.layers.AveragePooling2D(pool_size, strides=3, name=f"{name}_pool")(x)
    x = keras.layers.Conv2D(common.scale_width(128, width_multiplier), 1, activation="relu", name=f"{name}_conv")(x)
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dense(common.scale_width(1024, width_multiplier), activation="relu", name=f"{name}_fc")(x)
    x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return common.classifier_top(x, num_classes, classifier_activation, name=f"{name}_predictions")


@register()
def googlenet(
    input_shape=(224, 224, 3),
    num_classes=1000,
    include_top=True,
    weights=None,
    pooling=None,
    classifier_activation="softmax",
    name="googlenet",
    aux_heads=False,
    width_multiplier=1.0,
    normalization="lrn",
    dropout=0.4,
    aux_dropout=0.7,
    batch_norm_momentum=0.99,
):
    """GoogLeNet, the Inception v1 network of Szegedy et al. (2015, Table 1).

    Stem (7×7/2 conv, 3×3/2 max pool, LRN, 1×1 and 3×3 convs, LRN, max pool),
    nine :func:`inception_module` s with reductions (3a–5b, max pools after 3b
    and 4e), global average pooling, dropout 0.4 and the classifier. With
    ``aux_heads=True`` the model has three named outputs: ``predictions`` and
    the auxiliary classifiers on 4a and 4d, ``aux_1_predictions`` and
    ``aux_2_predictions``; train with :func:`auxiliary_loss_weights` and call
    :func:`drop_aux_heads` for inference.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top (and of the auxiliary heads).
        include_top: build the classifier.
        weights: ``None`` or a path to a weights file.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of every classifier.
        name: model name.
        aux_heads: add the two auxiliary classifiers (needs ``include_top``).
        width_multiplier: scales every channel and unit count (1.0 is the paper).
        normalization: ``"lrn"`` (the paper's local response normalization in
            the stem), ``"batchnorm"`` (batch norm in every convolution, as in
            Inception v2 and most re-implementations) or ``None``.
        dropout: dropout before the main classifier.
        aux_dropout: dropout in the auxiliary heads.
        batch_norm_momentum: momentum of the moving statistics (``"batchnorm"``).

    Returns:
        A ``keras.Model``: 6,998,552 parameters at 224×224×3 with 1000 classes
        (13,378,280 with the auxiliary heads); the paper's Table 1 sums to
        about 6.8 M weights (no biases, with a 2.7 K entry for the 9,408-weight
        first convolution).
    """
    width_multiplier = common.check_width_multiplier(width_multiplier)
    if normalization not in NORMALIZATIONS:
        raise ConfigError(
            f"normalization must be 'lrn', 'batchnorm' or None. Received: normalization={normalization!r}"
        )
    input_shape = common.check_arguments(input_shape, num_classes, include_top, pooling, min_size=32)
    if aux_heads and not include_top:
        raise ConfigError("aux_heads=True needs include_top=True: the auxiliary heads are classifiers. "
                          f"Received: aux_heads={aux_heads}, include_top={include_top}")
    if aux_heads and None in input_shape[:2]:
        raise ConfigError(f"aux_heads=True needs a fixed input height and width. Received: input_shape={input_shape}")
    batch_norm = normalization == "batchnorm"

    def width(channels):
        return common.scale_width(channels, width_multiplier)

    def local_response_normalization(tensor, layer_name):
        if normalization != "lrn":
            return tensor
        return common.LocalResponseNormalization(depth_radius=2, bias=1.0, alpha=1e-4, beta=0.75, name=layer_name)(tensor)

    inputs = keras.Input(shape=input_shape, name="input")
    x = _convolution(inputs, width(64), 7, "conv1_7x7", 2, batch_norm, batch_norm_momentum)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = local_response_normalization(x, "norm1")
    x = _convolution(x, width(64), 1, "conv2_3x3_reduce", 1, batch_norm, batch_norm_momentum)
    x = _convolution(x, width(192), 3, "conv2_3x3", 1, batch_norm, batch_norm_momentum)
    x = local_response_normalization(x, "norm2")
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)

    auxiliary = []
    for module, filters in GOOGLENET_MODULES.items():
        if module in ("4a", "5a"):
            x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{int(module[0]) - 1}")(x)
        one, reduce3, three, reduce5, five, projection = (width(value) for value in filters)
        x = inception_module(
            x, one, three, five,
            filters_3x3_reduce=reduce3, filters_5x5_reduce=reduce5, filters_pool_projection=projection,
            batch_norm=batch_norm, batch_norm_momentum=batch_norm_momentum, name=f"inception_{module}",
        )
        if aux_heads and module in ("4a", "4d"):
            auxiliary.append(
                _auxiliary_head(
                    x, num_classes, classifier_activation, width_multiplier, aux_dropout,
                    name=f"aux_{len(auxiliary) + 1}",
                )
            )

    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dropout(dropout, name="dropout")(x)
        x = common.classifier_top(x, num_classes, classifier_activation, name=MAIN_OUTPUT)
    else:
        x = common.global_pool(x, pooling)
    outputs = x
    if auxiliary:
        outputs = {MAIN_OUTPUT: x, AUX_OUTPUTS[0]: auxiliary[0], AUX_OUTPUTS[1]: auxiliary[1]}
    return common.finish(inputs, outputs, name, weights)


def auxiliary_loss_weights(weight=AUX_LOSS_WEIGHT):
    """Loss weights for a GoogLeNet with auxiliary heads: 1 for the main output, ``weight`` for each head.

    Args:
        weight: the auxiliary heads' weight (the paper: 0.3).

    Returns:
        ``{"predictions": 1.0, "aux_1_predictions": weight, "aux_2_predictions": weight}``,
        ready for ``dlkit.training.fit(..., loss_weights=...)``.
    """
    return {MAIN_OUTPUT: 1.0, AUX_OUTPUTS[0]: float(weight), AUX_OUTPUTS[1]: float(weight)}


def auxiliary_losses(loss="sparse_categorical_crossentropy"):
    """The same ``loss`` for the main output and both auxiliary heads, keyed by output name.

    Args:
        loss: a Keras loss (name or instance) for every output.

    Returns:
        ``{"predictions": loss, "aux_1_predictions": loss, "aux_2_predictions": loss}``,
        to pass with :func:`auxiliary_loss_weights` to ``dlkit.training.fit``.
    """
    return {name: loss for name in (MAIN_OUTPUT, *AUX_OUTPUTS)}


def drop_aux_heads(model):
    """Returns ``model`` without its auxiliary classifiers, for inference.

    The returned model shares every layer (and so every weight) with
    ``model`` and has the single output ``predictions``; the auxiliary heads'
    layers are not part of it, so they cost nothing at inference.

    Args:
        model: a :func:`googlenet` built with ``aux_heads=True`` (a model
            without auxiliary outputs is returned unchanged).

    Returns:
        A ``keras.Model`` with one output.
    """
    if len(model.outputs) == 1:
        return model
    try:
        main = model.get_layer(MAIN_OUTPUT).output
    except ValueError as error:
        raise ConfigError(
            f"drop_aux_heads needs a model with a {MAIN_OUTPUT!r} output layer. Received: model={model.name}"
        ) from error
    return keras.Model(model.inputs, main, name=model.name)


@register()
def googlenet_tiny(input_shape=(32, 32, 3), num_classes=10, include_top=True, weights=None, pooling=None,
                   classifier_activation="softmax", name="googlenet_tiny", aux_heads=False, width_multiplier=0.25,
                   normalization="batchnorm", dropout=0.2, aux_dropout=0.3, batch_norm_momentum=0.9):
    """A CPU-size GoogLeNet for quick runs (not in the paper): quarter width, batch norm, 32×32 inputs.

    Args:
        input_shape, num_classes, include_top, weights, pooling, classifier_activation, name, aux_heads,
        width_multiplier, normalization, dropout, aux_dropout, batch_norm_momentum: as in :func:`googlenet`
        (momentum 0.9 here: a few hundred steps from scratch leave 0.99's moving statistics behind).

    Returns:
        A ``keras.Model``.
    """
    return googlenet(input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                     aux_heads=aux_heads, width_multiplier=width_multiplier, normalization=normalization,
                     dropout=dropout, aux_dropout=aux_dropout, batch_norm_momentum=batch_norm_momentum)
