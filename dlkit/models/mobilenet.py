"""MobileNet v1 (depthwise separable convolutions) and v2 (inverted residuals).

Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
Vision Applications", 2017 (https://arxiv.org/abs/1704.04861); Sandler et al.,
"MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018
(https://arxiv.org/abs/1801.04381). Both equal ``keras.applications.MobileNet``
and ``MobileNetV2`` layer for layer (same names, same order), so Keras's weights
load unchanged. ``alpha`` is the papers' width multiplier; ``width_multiplier``
is accepted as its alias so every dlkit family takes the same argument.
"""

import keras

from dlkit import weights as weights_module
from dlkit.errors import ConfigError, WeightsError
from dlkit.models import common, pretrained
from dlkit.models.registry import register

# (pointwise filters, stride) of the 13 depthwise separable blocks, Table 1 of the v1 paper.
MOBILENET_BLOCKS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)
# (expansion t, output channels c, repeats n, first stride s), Table 2 of the v2 paper.
MOBILENET_V2_STAGES = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)


def _alpha(alpha, width_multiplier):
    if width_multiplier is not None and alpha not in (1.0, width_multiplier):
        raise ConfigError(
            "alpha and width_multiplier are the same setting; pass one of them. "
            f"Received: alpha={alpha}, width_multiplier={width_multiplier}"
        )
    alpha = width_multiplier if width_multiplier is not None else alpha
    if not isinstance(alpha, (int, float)) or alpha <= 0:
        raise ConfigError(f"alpha (the width multiplier) must be > 0. Received: alpha={alpha!r}")
    return float(alpha)


def make_divisible(value, divisor=8, min_value=None):
    """Rounds a channel count to a multiple of ``divisor`` without losing more than 10% (v2 paper's code)."""
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def depthwise_separable_block(x, pointwise_filters, alpha=1.0, depth_multiplier=1, strides=1, block_id=1):
    """A depthwise 3×3 convolution and a pointwise 1×1 convolution, each with batch norm and ReLU6.

    Factorizes a standard 3×3 convolution: the depthwise step filters each
    channel alone, the pointwise step mixes channels (Howard et al., section 3.1).

    Args:
        x: input feature maps.
        pointwise_filters: output channels before ``alpha``.
        alpha: width multiplier of the output channels.
        depth_multiplier: depthwise output channels per input channel (the
            paper's resolution multiplier is the input size instead).
        strides: 1, or 2 to halve height and width.
        block_id: number used in layer names (``conv_dw_{id}``, ``conv_pw_{id}``).

    Returns:
        The block's output feature maps.
    """
    filters = int(pointwise_filters * alpha)
    if strides == 1:
        y = x
    else:
        # Pad bottom/right only, as TensorFlow's original "same" for stride 2 did; keeps Keras's weights exact.
        y = keras.layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    y = keras.layers.DepthwiseConv2D(
        3,
        padding="same" if strides == 1 else "valid",
        depth_multiplier=depth_multiplier,
        strides=strides,
        use_bias=False,
        name=f"conv_dw_{block_id}",
    )(y)
    y = keras.layers.BatchNormalization(name=f"conv_dw_{block_id}_bn")(y)
    y = keras.layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(y)
    y = keras.layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"conv_pw_{block_id}")(y)
    y = keras.layers.BatchNormalization(name=f"conv_pw_{block_id}_bn")(y)
    return keras.layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(y)


def _imagenet(application, file_name, weights, include_top, input_shape, alpha, **extra):
    if weights != "imagenet":
        return None
    return {
        "imagenet": pretrained.imagenet_loader(
            application, file_name, include_top=include_top, input_shape=tuple(input_shape), alpha=alpha, **extra
        )
    }


def _check_imagenet(alpha, rows, cols, alphas, sizes):
    if alpha not in alphas or rows != cols or rows not in sizes:
        raise WeightsError(
            f"ImageNet weights exist for alpha in {alphas} and square inputs of {sizes} pixels. "
            f"Received: alpha={alpha}, input_shape=({rows}, {cols}, ...)"
        )


@register()
def mobilenet(
    input_shape=(224, 224, 3),
    num_classes=1000,
    include_top=True,
    weights=None,
    pooling=None,
    classifier_activation="softmax",
    name="mobilenet",
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
    width_multiplier=None,
):
    """MobileNet v1 (Howard et al., 2017), identical to ``keras.applications.MobileNet``.

    A 3×3/2 convolution then 13 :func:`depthwise_separable_block` s; the top is
    global average pooling, dropout and a 1×1 convolution (``conv_preds``),
    as in Keras.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build the classifier.
        weights: ``None``, a weights file, or ``"imagenet"`` (alpha 0.25, 0.5,
            0.75 or 1.0; depth_multiplier 1; square 128–224 pixel inputs).
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        alpha: the width multiplier (paper section 4.2).
        depth_multiplier: depthwise channels per input channel.
        dropout: dropout rate before the classifier.
        width_multiplier: alias of ``alpha``.

    Returns:
        A ``keras.Model``: 4,253,864 parameters at alpha 1.0, 224×224×3, 1000 classes.
    """
    alpha = _alpha(alpha, width_multiplier)
    if int(depth_multiplier) < 1:
        raise ConfigError(f"depth_multiplier must be >= 1. Received: depth_multiplier={depth_multiplier}")
    input_shape = common.check_arguments(input_shape, num_classes, include_top, pooling, min_size=32)
    named_weights = None
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise WeightsError(f"ImageNet weights need depth_multiplier=1. Received: depth_multiplier={depth_multiplier}")
        _check_imagenet(alpha, input_shape[0], input_shape[1], (0.25, 0.5, 0.75, 1.0), (128, 160, 192, 224))
        alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}[alpha]
        suffix = "_tf.h5" if include_top else "_tf_no_top.h5"
        named_weights = _imagenet(
            "MobileNet", f"mobilenet_{alpha_text}_{input_shape[0]}{suffix}", weights, include_top, input_shape, alpha
        )

    inputs = keras.Input(shape=input_shape, name="input")
    x = keras.layers.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="conv1_bn")(x)
    x = keras.layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, strides) in enumerate(MOBILENET_BLOCKS, start=1):
        x = depthwise_separable_block(x, filters, alpha, depth_multiplier, strides, block_id)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(keepdims=True, name="global_average_pooling")(x)
        x = keras.layers.Dropout(dropout, name="dropout")(x)
        # Float32 like common.classifier_top, so mixed precision keeps a stable softmax.
        x = keras.layers.Conv2D(num_classes, 1, padding="same", dtype="float32", name="conv_preds")(x)
        x = keras.layers.Reshape((num_classes,), dtype="float32", name="reshape_2")(x)
        x = keras.layers.Activation(classifier_activation, dtype="float32", name="predictions")(x)
    else:
        x = common.global_pool(x, pooling)
    model = common.finish(inputs, x, name)
    return weights_module.load_into(model, weights, named=named_weights)


def inverted_residual_block(x, expansion, filters, strides, alpha=1.0, block_id=0):
    """MobileNetV2's inverted residual: expand (1×1), filter (depthwise 3×3), project (linear 1×1).

    The bottleneck is thin at both ends and wide inside; the projection has
    no activation (a linear bottleneck) and the shortcut adds when the input and
    output shapes agree (Sandler et al., section 3).

    Args:
        x: input feature maps.
        expansion: the expansion factor t of the first 1×1 convolution.
        filters: output channels before ``alpha`` (rounded to a multiple of 8).
        strides: 1 or 2.
        alpha: width multiplier.
        block_id: number used in layer names (``block_{id}_expand`` ...);
            block 0 has no expansion and is named ``expanded_conv_...``.

    Returns:
        The block's output feature maps.
    """
    in_channels = x.shape[-1]
    out_channels = make_divisible(int(filters * alpha), 8)
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    y = x
    if block_id:
        y = keras.layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False, name=f"{prefix}expand")(y)
        y = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=f"{prefix}expand_BN")(y)
        y = keras.layers.ReLU(6.0, name=f"{prefix}expand_relu")(y)
    if strides == 2:
        y = keras.layers.ZeroPadding2D(_correct_pad(y, 3), name=f"{prefix}pad")(y)
    y = keras.layers.DepthwiseConv2D(
        3, strides=strides, use_bias=False, padding="same" if strides == 1 else "valid", name=f"{prefix}depthwise"
    )(y)
    y = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=f"{prefix}depthwise_BN")(y)
    y = keras.layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(y)
    y = keras.layers.Conv2D(out_channels, 1, padding="same", use_bias=False, name=f"{prefix}project")(y)
    y = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=f"{prefix}project_BN")(y)
    if in_channels == out_channels and strides == 1:
        return keras.layers.Add(name=f"{prefix}add")([x, y])
    return y


def _correct_pad(x, kernel_size):
    """Padding that makes a stride-2 valid convolution match Keras's (``imagenet_utils.correct_pad``)."""
    height, width = x.shape[1], x.shape[2]
    adjust = (1, 1) if height is None else (1 - height % 2, 1 - width % 2)
    correct = (kernel_size // 2, kernel_size // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


@register()
def mobilenet_v2(
    input_shape=(224, 224, 3),
    num_classes=1000,
    include_top=True,
    weights=None,
    pooling=None,
    classifier_activation="softmax",
    name="mobilenet_v2",
    alpha=1.0,
    width_multiplier=None,
):
    """MobileNetV2 (Sandler et al., 2018), identical to ``keras.applications.MobileNetV2``.

    A 3×3/2 convolution, 17 :func:`inverted_residual_block` s, a 1×1
    convolution to 1280 channels (not thinned when alpha < 1, as in the paper),
    global average pooling and the classifier.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build the classifier.
        weights: ``None``, a weights file, or ``"imagenet"`` (alpha 0.35, 0.5,
            0.75, 1.0, 1.3 or 1.4; square 96–224 pixel inputs).
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        alpha: the width multiplier.
        width_multiplier: alias of ``alpha``.

    Returns:
        A ``keras.Model``: 3,538,984 parameters at alpha 1.0, 224×224×3, 1000 classes.
    """
    alpha = _alpha(alpha, width_multiplier)
    input_shape = common.check_arguments(input_shape, num_classes, include_top, pooling, min_size=32)
    named_weights = None
    if weights == "imagenet":
        _check_imagenet(
            alpha, input_shape[0], input_shape[1], (0.35, 0.5, 0.75, 1.0, 1.3, 1.4), (96, 128, 160, 192, 224)
        )
        stem = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{input_shape[0]}"
        named_weights = _imagenet(
            "MobileNetV2", f"{stem}.h5" if include_top else f"{stem}_no_top.h5", weights, include_top, input_shape, alpha
        )

    inputs = keras.Input(shape=input_shape, name="input")
    x = keras.layers.Conv2D(
        make_divisible(32 * alpha, 8), 3, strides=2, padding="same", use_bias=False, name="Conv1"
    )(inputs)
    x = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="bn_Conv1")(x)
    x = keras.layers.ReLU(6.0, name="Conv1_relu")(x)
    block_id = 0
    for expansion, filters, repeats, first_strides in MOBILENET_V2_STAGES:
        for repeat in range(repeats):
            strides = first_strides if repeat == 0 else 1
            x = inverted_residual_block(x, expansion, filters, strides, alpha, block_id)
            block_id += 1
    last_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = keras.layers.Conv2D(last_filters, 1, use_bias=False, name="Conv_1")(x)
    x = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = keras.layers.ReLU(6.0, name="out_relu")(x)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = common.classifier_top(x, num_classes, classifier_activation)
    else:
        x = common.global_pool(x, pooling)
    model = common.finish(inputs, x, name)
    return weights_module.load_into(model, weights, named=named_weights)


@register()
def mobilenet_tiny(input_shape=(32, 32, 3), num_classes=10, include_top=True, weights=None, pooling=None,
                   classifier_activation="softmax", name="mobilenet_tiny", alpha=0.25, depth_multiplier=1,
                   width_multiplier=None):
    """A CPU-size MobileNet v1 for quick runs: alpha 0.25 (the paper's smallest width) at 32×32.

    Args:
        input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
        alpha, depth_multiplier, width_multiplier: as in :func:`mobilenet`.

    Returns:
        A ``keras.Model``.
    """
    return mobilenet(input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                     alpha=alpha if width_multiplier is None else width_multiplier,
                     depth_multiplier=depth_multiplier)


@register()
def mobilenet_v2_tiny(input_shape=(32, 32, 3), num_classes=10, include_top=True, weights=None, pooling=None,
                      classifier_activation="softmax", name="mobilenet_v2_tiny", alpha=0.35,
                      width_multiplier=None):
    """A CPU-size MobileNetV2 for quick runs: alpha 0.35 (the paper's smallest width) at 32×32.

    Args:
        input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
        alpha, width_multiplier: as in :func:`mobilenet_v2`.

    Returns:
        A ``keras.Model``.
    """
    return mobilenet_v2(input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                        alpha=alpha if width_multiplier is None else width_multiplier)
