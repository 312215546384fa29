"""VGG: very deep networks of stacked 3×3 convolutions.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015 (https://arxiv.org/abs/1409.1556). Configurations A
(VGG11), B (VGG13), D (VGG16) and E (VGG19) come from one generic :func:`vgg`
builder; layer names equal ``keras.applications`` (``block1_conv1`` ...
``fc1``, ``fc2``, ``predictions``), so ``keras.applications.VGG16`` weights load
unchanged.
"""

import keras

from dlkit import weights as weights_module
from dlkit.errors import WeightsError
from dlkit.models import common, pretrained
from dlkit.models.common import check_width_multiplier, scale_width
from dlkit.models.registry import register

# (filters, convolutions) per block, Table 1 of the paper.
CONFIGURATIONS = {
    "vgg11": ((64, 1), (128, 1), (256, 2), (512, 2), (512, 2)),
    "vgg13": ((64, 2), (128, 2), (256, 2), (512, 2), (512, 2)),
    "vgg16": ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)),
    "vgg19": ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4)),
}


def vgg_block(x, filters, convolutions, block, batch_norm=False, batch_norm_momentum=0.99):
    """``convolutions`` 3×3 same-padded ReLU convolutions then a 2×2 max pool.

    Args:
        x: input feature maps ``(batch, height, width, channels)``.
        filters: output channels of every convolution.
        convolutions: number of convolutions.
        block: the block number used in layer names (``block{block}_conv{i}``).
        batch_norm: insert batch normalization before each ReLU (the later
            "VGG-BN" variant; not in the paper).
        batch_norm_momentum: momentum of the moving statistics.

    Returns:
        The pooled feature maps, half the height and width.
    """
    for index in range(1, convolutions + 1):
        layer_name = f"block{block}_conv{index}"
        if batch_norm:
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=layer_name)(x)
            x = keras.layers.BatchNormalization(momentum=batch_norm_momentum, name=f"{layer_name}_bn")(x)
            x = keras.layers.Activation("relu", name=f"{layer_name}_relu")(x)
        else:
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=layer_name)(x)
    return keras.layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)


def vgg(
    blocks=CONFIGURATIONS["vgg16"],
    input_shape=(224, 224, 3),
    num_classes=1000,
    include_top=True,
    weights=None,
    pooling=None,
    classifier_activation="softmax",
    name="vgg",
    dense_units=4096,
    width_multiplier=1.0,
    batch_norm=False,
    dropout=0.0,
    batch_norm_momentum=0.99,
    named_weights=None,
):
    """Builds a VGG network from its block configuration (the generic builder).

    Args:
        blocks: ``(filters, convolutions)`` per block; five blocks halve the
            input five times, so inputs need height and width >= 32.
        input_shape: ``(height, width, channels)``.
        num_classes: number of classes of the top.
        include_top: build ``flatten``, ``fc1``, ``fc2`` and ``predictions``.
        weights: ``None``, a path to a ``.keras``/``.weights.h5`` file, or a key
            of ``named_weights`` (``"imagenet"`` for VGG16/VGG19).
        pooling: ``None``, ``"avg"`` or ``"max"`` global pooling when
            ``include_top=False``.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name.
        dense_units: units of ``fc1`` and ``fc2`` before ``width_multiplier``.
        width_multiplier: scales every filter and unit count (1.0 is the
            paper's model; 1/16 gives a CPU-size network).
        batch_norm: batch normalization after every convolution.
        dropout: dropout rate after ``fc1`` and ``fc2`` (the paper trains with
            0.5; ``keras.applications`` has none, so the default is 0).
        batch_norm_momentum: momentum of the batch norm moving statistics.
        named_weights: ``{name: loader(model)}`` for named weights.

    Returns:
        A ``keras.Model``.
    """
    width_multiplier = check_width_multiplier(width_multiplier)
    input_shape = common.check_arguments(
        input_shape, num_classes, include_top, pooling, min_size=2 ** len(blocks)
    )
    inputs = keras.Input(shape=input_shape, name="input")
    x = inputs
    for block, (filters, convolutions) in enumerate(blocks, start=1):
        x = vgg_block(x, scale_width(filters, width_multiplier), convolutions, block, batch_norm, batch_norm_momentum)
    if include_top:
        units = scale_width(dense_units, width_multiplier)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(units, activation="relu", name="fc1")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name="fc1_dropout")(x)
        x = keras.layers.Dense(units, activation="relu", name="fc2")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name="fc2_dropout")(x)
        x = common.classifier_top(x, num_classes, classifier_activation)
    else:
        x = common.global_pool(x, pooling)
    model = common.finish(inputs, x, name)
    return weights_module.load_into(model, weights, named=named_weights)


def _named(configuration, input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
           width_multiplier, batch_norm, dropout, batch_norm_momentum=0.99):
    named_weights = None
    # VGG16 and VGG19 have ImageNet files (dlkit.weights.WEIGHT_FILES); VGG11 and VGG13 none in keras.applications.
    imagenet = weights_module.keras_weight_file(configuration, include_top) if weights == "imagenet" else None
    if imagenet is not None:
        if width_multiplier != 1.0 or batch_norm:
            raise WeightsError(
                "ImageNet weights exist only for the paper's network (width_multiplier=1.0, batch_norm=False). "
                f"Received: width_multiplier={width_multiplier}, batch_norm={batch_norm}"
            )
        named_weights = {
            "imagenet": pretrained.imagenet_loader(
                imagenet.application, imagenet.file_name, include_top=include_top, input_shape=tuple(input_shape)
            )
        }
    return vgg(
        CONFIGURATIONS[configuration],
        input_shape=input_shape,
        num_classes=num_classes,
        include_top=include_top,
        weights=weights,
        pooling=pooling,
        classifier_activation=classifier_activation,
        name=name,
        width_multiplier=width_multiplier,
        batch_norm=batch_norm,
        dropout=dropout,
        batch_norm_momentum=batch_norm_momentum,
        named_weights=named_weights,
    )


@register()
def vgg11(input_shape=(224, 224, 3), num_classes=1000, include_top=True, weights=None, pooling=None,
        classifier_activation="softmax", name="vgg11", width_multiplier=1.0, batch_norm=False, dropout=0.0):
    """VGG11, configuration A of Simonyan & Zisserman (2015): 8 convolutions + 3 dense layers.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build the three dense layers.
        weights: ``None`` or a weights file.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        width_multiplier: scales all widths (see :func:`vgg`).
        batch_norm: batch normalization after every convolution.
        dropout: dropout after ``fc1`` and ``fc2``.

    Returns:
        A ``keras.Model``: 132,863,336 parameters at 224×224×3 with 1000 classes (the paper: 133 M).
    """
    return _named("vgg11", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, batch_norm, dropout)


@register()
def vgg13(input_shape=(224, 224, 3), num_classes=1000, include_top=True, weights=None, pooling=None,
        classifier_activation="softmax", name="vgg13", width_multiplier=1.0, batch_norm=False, dropout=0.0):
    """VGG13, configuration B of Simonyan & Zisserman (2015): 10 convolutions + 3 dense layers.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build the three dense layers.
        weights: ``None`` or a weights file.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        width_multiplier: scales all widths (see :func:`vgg`).
        batch_norm: batch normalization after every convolution.
        dropout: dropout after ``fc1`` and ``fc2``.

    Returns:
        A ``keras.Model``: 133,047,848 parameters at 224×224×3 with 1000 classes (the paper: 133 M).
    """
    return _named("vgg13", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, batch_norm, dropout)


@register()
def vgg16(input_shape=(224, 224, 3), num_classes=1000, include_top=True, weights=None, pooling=None,
        classifier_activation="softmax", name="vgg16", width_multiplier=1.0, batch_norm=False, dropout=0.0):
    """VGG16, configuration D of Simonyan & Zisserman (2015), identical to ``keras.applications.VGG16``.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build the three dense layers.
        weights: ``None`` or a weights file; ``"imagenet"`` loads Keras's ImageNet weights.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        width_multiplier: scales all widths (see :func:`vgg`).
        batch_norm: batch normalization after every convolution.
        dropout: dropout after ``fc1`` and ``fc2``.

    Returns:
        A ``keras.Model``: 138,357,544 parameters at 224×224×3 with 1000 classes (the paper: 138 M).
    """
    return _named("vgg16", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, batch_norm, dropout)


@register()
def vgg19(input_shape=(224, 224, 3), num_classes=1000, include_top=True, weights=None, pooling=None,
        classifier_activation="softmax", name="vgg19", width_multiplier=1.0, batch_norm=False, dropout=0.0):
    """VGG19, configuration E of Simonyan & Zisserman (2015), identical to ``keras.applications.VGG19``.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32.
        num_classes: classes of the top.
        include_top: build the three dense layers.
        weights: ``None`` or a weights file; ``"imagenet"`` loads Keras's ImageNet weights.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        width_multiplier: scales all widths (see :func:`vgg`).
        batch_norm: batch normalization after every convolution.
        dropout: dropout after ``fc1`` and ``fc2``.

    Returns:
        A ``keras.Model``: 143,667,240 parameters at 224×224×3 with 1000 classes (the paper: 144 M).
    """
    return _named("vgg19", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, batch_norm, dropout)


@register()
def vgg_tiny(input_shape=(32, 32, 3), num_classes=10, include_top=True, weights=None, pooling=None,
             classifier_activation="softmax", name="vgg_tiny", width_multiplier=1 / 16, batch_norm=True, dropout=0.0,
             batch_norm_momentum=0.9):
    """A CPU-size VGG16 for quick runs (not in the paper): VGG16's layout at 1/16 width, with batch norm.

    Args:
        input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
        width_multiplier, batch_norm, dropout, batch_norm_momentum: as in :func:`vgg` (momentum 0.9
        here: a few hundred steps from scratch leave 0.99's moving statistics behind the weights).

    Returns:
        A ``keras.Model``.
    """
    return _named("vgg16", input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                  width_multiplier, batch_norm, dropout, batch_norm_momentum)
