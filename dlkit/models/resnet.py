"""ResNet: deep residual networks (v1, post-activation).

He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
(https://arxiv.org/abs/1512.03385). One generic :func:`resnet` builder makes the
basic-block networks (ResNet18/34) and the bottleneck ones (ResNet50/101/152).
The bottleneck networks equal ``keras.applications.ResNet50/101/152`` layer for
layer (``conv1_conv``, ``conv2_block1_1_conv`` ... ``predictions``), so Keras's
weights load unchanged. The public blocks :func:`identity_block` and
:func:`conv_block` are the course's two skip-connection blocks.
"""

import keras

from dlkit import weights as weights_module
from dlkit.errors import ConfigError, WeightsError
from dlkit.models import common, pretrained
from dlkit.models.registry import register

# Blocks per stage (conv2_x ... conv5_x), Table 1 of the paper.
DEPTHS = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
    "resnet152": ("bottleneck", (3, 8, 36, 3)),
}
BLOCKS = ("basic", "bottleneck")
BATCH_NORM_EPSILON = 1.001e-5  # keras.applications' value; weights are calibrated with it


def _residual_block(x, filters, kernel_size, strides, projection, block, use_bias, name):
    """The residual block behind :func:`identity_block` and :func:`conv_block`."""
    if block not in BLOCKS:
        raise ConfigError(f"block must be 'basic' or 'bottleneck'. Received: block={block!r}")
    out_channels = 4 * filters if block == "bottleneck" else filters

    def normalized(tensor, suffix):
        return keras.layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON, name=f"{name}_{suffix}_bn")(tensor)

    if projection:
        # A 1×1 convolution matches the shortcut's channels and stride to the residual branch.
        shortcut = keras.layers.Conv2D(
            out_channels, 1, strides=strides, use_bias=use_bias, name=f"{name}_0_conv"
        )(x)
        shortcut = normalized(shortcut, "0")
    else:
        shortcut = x

    if block == "bottleneck":
        # keras.applications (and Caffe's ResNet) put the stride on the first 1×1 convolution.
        y = keras.layers.Conv2D(filters, 1, strides=strides, use_bias=use_bias, name=f"{name}_1_conv")(x)
        y = keras.layers.Activation("relu", name=f"{name}_1_relu")(normalized(y, "1"))
        y = keras.layers.Conv2D(filters, kernel_size, padding="same", use_bias=use_bias, name=f"{name}_2_conv")(y)
        y = keras.layers.Activation("relu", name=f"{name}_2_relu")(normalized(y, "2"))
        y = keras.layers.Conv2D(out_channels, 1, use_bias=use_bias, name=f"{name}_3_conv")(y)
        y = normalized(y, "3")
    else:
        y = keras.layers.Conv2D(
            filters, kernel_size, strides=strides, padding="same", use_bias=use_bias, name=f"{name}_1_conv"
        )(x)
        y = keras.layers.Activation("relu", name=f"{name}_1_relu")(normalized(y, "1"))
        y = keras.layers.Conv2D(filters, kernel_size, padding="same", use_bias=use_bias, name=f"{name}_2_conv")(y)
        y = normalized(y, "2")

    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.Activation("relu", name=f"{name}_out")(y)


def identity_block(x, filters, kernel_size=3, block="bottleneck", use_bias=True, name="identity_block"):
    """A residual block whose shortcut is the identity: input and output shapes are equal.

    Args:
        x: input feature maps; must already have the block's output channels
            (``4 * filters`` for bottleneck blocks, ``filters`` for basic ones).
        filters: channels of the inner convolutions.
        kernel_size: size of the middle (bottleneck) or both (basic) convolutions.
        block: ``"bottleneck"`` (1×1, k×k, 1×1) or ``"basic"`` (k×k, k×k).
        use_bias: biases in the convolutions (``keras.applications`` has them).
        name: prefix of the layer names (``{name}_1_conv`` ... ``{name}_out``).

    Returns:
        ``relu(x + F(x))``, the same shape as ``x``.

    Raises:
        ConfigError: ``x`` does not have the block's output channels.
    """
    expected = 4 * filters if block == "bottleneck" else filters
    if x.shape[-1] != expected:
        raise ConfigError(
            f"identity_block needs {expected} input channels to add its shortcut; use conv_block to change "
            f"channels. Received: input channels={x.shape[-1]}, filters={filters}, block={block!r}"
        )
    return _residual_block(x, filters, kernel_size, 1, False, block, use_bias, name)


def conv_block(x, filters, kernel_size=3, strides=2, block="bottleneck", use_bias=True, name="conv_block"):
    """A residual block with a projection shortcut (1×1 convolution + batch norm).

    Used where the shapes differ: the first block of a stage, which changes
    the channel count and (except in ``conv2_x``) halves height and width.

    Args:
        x: input feature maps.
        filters: channels of the inner convolutions (the output has
            ``4 * filters`` for bottleneck blocks, ``filters`` for basic ones).
        kernel_size: size of the middle (bottleneck) or both (basic) convolutions.
        strides: stride of the block (and of its shortcut).
        block: ``"bottleneck"`` or ``"basic"``.
        use_bias: biases in the convolutions.
        name: prefix of the layer names (``{name}_0_conv`` is the shortcut).

    Returns:
        ``relu(projection(x) + F(x))``.
    """
    return _residual_block(x, filters, kernel_size, strides, True, block, use_bias, name)


def resnet(
    depths=DEPTHS["resnet50"][1],
    block="bottleneck",
    input_shape=(224, 224, 3),
    num_classes=1000,
    include_top=True,
    weights=None,
    pooling=None,
    classifier_activation="softmax",
    name="resnet",
    width_multiplier=1.0,
    use_bias=True,
    named_weights=None,
):
    """Builds a ResNet v1 from blocks per stage (the generic builder).

    Stem: 7×7/2 convolution, batch norm, ReLU, 3×3/2 max pool; then stages
    ``conv2`` ... ``conv{len(depths)+1}`` with 64, 128, 256, 512 (doubling)
    inner channels, each starting with a :func:`conv_block` (stride 1 in
    ``conv2``, else 2) followed by :func:`identity_block` s; global average
    pooling and the classifier.

    Args:
        depths: blocks per stage, e.g. ``(3, 4, 6, 3)`` for ResNet50.
        block: ``"bottleneck"`` or ``"basic"``.
        input_shape: ``(height, width, channels)``; height/width >= 32 for four stages.
        num_classes: classes of the top.
        include_top: build ``avg_pool`` + ``predictions``.
        weights: ``None``, a weights file, or a key of ``named_weights``.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        width_multiplier: scales every channel count (1.0 is the paper).
        use_bias: biases in the convolutions (``keras.applications`` keeps
            them; torchvision and most re-implementations drop them before
            batch norm).
        named_weights: ``{name: loader(model)}`` for named weights.

    Returns:
        A ``keras.Model``.
    """
    width_multiplier = common.check_width_multiplier(width_multiplier)
    if block not in BLOCKS:
        raise ConfigError(f"block must be 'basic' or 'bottleneck'. Received: block={block!r}")
    if not depths or any(int(depth) < 1 for depth in depths):
        raise ConfigError(f"depths needs one or more stages of >= 1 block. Received: depths={depths}")
    input_shape = common.check_arguments(
        input_shape, num_classes, include_top, pooling, min_size=2 ** (len(depths) + 1)
    )
    inputs = keras.Input(shape=input_shape, name="input")
    x = keras.layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = keras.layers.Conv2D(common.scale_width(64, width_multiplier), 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    x = keras.layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON, name="conv1_bn")(x)
    x = keras.layers.Activation("relu", name="conv1_relu")(x)
    x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, depth in enumerate(depths):
        filters = common.scale_width(64 * 2**stage, width_multiplier)
        prefix = f"conv{stage + 2}"
        out_channels = 4 * filters if block == "bottleneck" else filters
        strides = 1 if stage == 0 else 2
        if strides == 1 and x.shape[-1] == out_channels:
            # Basic blocks in conv2_x keep 64 channels and stride 1: no projection needed.
            x = identity_block(x, filters, block=block, use_bias=use_bias, name=f"{prefix}_block1")
        else:
            x = conv_block(x, filters, strides=strides, block=block, use_bias=use_bias, name=f"{prefix}_block1")
        for index in range(2, depth + 1):
            x = identity_block(x, filters, block=block, use_bias=use_bias, name=f"{prefix}_block{index}")
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = common.classifier_top(x, num_classes, classifier_activation)
    else:
        x = common.global_pool(x, pooling)
    model = common.finish(inputs, x, name)
    return weights_module.load_into(model, weights, named=named_weights)


def _named(architecture, input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
           width_multiplier, use_bias):
    block, depths = DEPTHS[architecture]
    named_weights = None
    # ResNet50/101/152 have ImageNet files (dlkit.weights.WEIGHT_FILES); ResNet18/34 none in keras.applications.
    imagenet = weights_module.keras_weight_file(architecture, include_top) if weights == "imagenet" else None
    if imagenet is not None:
        if width_multiplier != 1.0 or not use_bias:
            raise WeightsError(
                "ImageNet weights exist only for the paper's network (width_multiplier=1.0, use_bias=True). "
                f"Received: width_multiplier={width_multiplier}, use_bias={use_bias}"
            )
        named_weights = {
            "imagenet": pretrained.imagenet_loader(
                imagenet.application, imagenet.file_name, include_top=include_top, input_shape=tuple(input_shape)
            )
        }
    return resnet(
        depths,
        block,
        input_shape=input_shape,
        num_classes=num_classes,
        include_top=include_top,
        weights=weights,
        pooling=pooling,
        classifier_activation=classifier_activation,
        name=name,
        width_multiplier=width_multiplier,
        use_bias=use_bias,
        named_weights=named_weights,
    )


@register()
def resnet18(input_shape=(224, 224, 3), num_classes=1000, include_top=True, weights=None, pooling=None,
             classifier_activation="softmax", name="resnet18", width_multiplier=1.0, use_bias=False):
    """ResNet18 (He et al., 2016, Table 1): basic blocks [2, 2, 2, 2].

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build ``avg_pool`` + ``predictions``.
        weights: ``None`` or a weights file.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        width_multiplier: scales all channel counts (see :func:`resnet`).
        use_bias: biases in the convolutions (see :func:`resnet`).

    Returns:
        A ``keras.Model``: 11,699,112 parameters at 224×224×3 with 1000 classes, of which
        11,689,512 trainable (torchvision's resnet18 count).
    """
    return _named("resnet18", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, use_bias)


@register()
def resnet34(input_shape=(224, 224, 3), num_classes=1000, include_top=True, weights=None, pooling=None,
             classifier_activation="softmax", name="resnet34", width_multiplier=1.0, use_bias=False):
    """ResNet34 (He et al., 2016, Table 1): basic blocks [3, 4, 6, 3].

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build ``avg_pool`` + ``predictions``.
        weights: ``None`` or a weights file.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        width_multiplier: scales all channel counts (see :func:`resnet`).
        use_bias: biases in the convolutions (see :func:`resnet`).

    Returns:
        A ``keras.Model``: 21,814,696 parameters at 224×224×3 with 1000 classes, of which
        21,797,672 trainable (torchvision's resnet34 count).
    """
    return _named("resnet34", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, use_bias)


@register()
def resnet50(input_shape=(224, 224, 3), num_classes=1000, include_top=True, weights=None, pooling=None,
             classifier_activation="softmax", name="resnet50", width_multiplier=1.0, use_bias=True):
    """ResNet50 (He et al., 2016, Table 1): bottleneck blocks [3, 4, 6, 3], identical to
    ``keras.applications.ResNet50``.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build ``avg_pool`` + ``predictions``.
        weights: ``None`` or a weights file; ``"imagenet"`` loads Keras's ImageNet weights.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        width_multiplier: scales all channel counts (see :func:`resnet`).
        use_bias: biases in the convolutions (see :func:`resnet`).

    Returns:
        A ``keras.Model``: 25,636,712 parameters at 224×224×3 with 1000 classes.
    """
    return _named("resnet50", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, use_bias)


@register()
def resnet101(input_shape=(224, 224, 3), num_classes=1000, include_top=True, weights=None, pooling=None,
              classifier_activation="softmax", name="resnet101", width_multiplier=1.0, use_bias=True):
    """ResNet101 (He et al., 2016, Table 1): bottleneck blocks [3, 4, 23, 3], identical to
    ``keras.applications.ResNet101``.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build ``avg_pool`` + ``predictions``.
        weights: ``None`` or a weights file; ``"imagenet"`` loads Keras's ImageNet weights.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        width_multiplier: scales all channel counts (see :func:`resnet`).
        use_bias: biases in the convolutions (see :func:`resnet`).

    Returns:
        A ``keras.Model``: 44,707,176 parameters at 224×224×3 with 1000 classes.
    """
    return _named("resnet101", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, use_bias)


@register()
def resnet152(input_shape=(224, 224, 3), num_classes=1000, include_top=True, weights=None, pooling=None,
              classifier_activation="softmax", name="resnet152", width_multiplier=1.0, use_bias=True):
    """ResNet152 (He et al., 2016, Table 1): bottleneck blocks [3, 8, 36, 3], identical to
    ``keras.applications.ResNet152``.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build ``avg_pool`` + ``predictions``.
        weights: ``None`` or a weights file; ``"imagenet"`` loads Keras's ImageNet weights.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        width_multiplier: scales all channel counts (see :func:`resnet`).
        use_bias: biases in the convolutions (see :func:`resnet`).

    Returns:
        A ``keras.Model``: 60,419,944 parameters at 224×224×3 with 1000 classes.
    """
    return _named("resnet152", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, use_bias)


@register()
def resnet_tiny(input_shape=(32, 32, 3), num_classes=10, include_top=True, weights=None, pooling=None,
                classifier_activation="softmax", name="resnet_tiny", width_multiplier=0.25, use_bias=False):
    """A CPU-size ResNet for quick runs (not in the paper): ResNet18's basic blocks at quarter width.

    Args:
        input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
        width_multiplier, use_bias: as in :func:`resnet18`.

    Returns:
        A ``keras.Model``.
    """
    return _named("resnet18", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, use_bias)
