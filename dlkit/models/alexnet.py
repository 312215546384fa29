"""AlexNet, single tower.

Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
Convolutional Neural Networks", NeurIPS 2012. The paper splits the network over
two GPUs (grouped convolutions, about 60 M parameters); this is the one-tower
version of the same layer sizes (62,378,344 parameters at 227×227×3 and 1000
classes): 11×11/4 convolution, 5×5, then three 3×3 convolutions, overlapping
3×3/2 max pooling, two 4096-unit dense layers with dropout 0.5.
"""

import keras

from dlkit.errors import ConfigError
from dlkit.models import common
from dlkit.models.registry import register

NORMALIZATIONS = ("lrn", "batchnorm", None)


def _overlapping_pool(x, name):
    """The paper's overlapping 3×3/2 max pool; maps smaller than 3×3 pool with "same" padding.

    At 227×227 every pool sees at least 13×13 maps and pools "valid" as in the
    paper; the fallback only lets tiny CPU inputs (down to 11×11) through.
    """
    small = any(size is not None and size < 3 for size in x.shape[1:3])
    return keras.layers.MaxPooling2D(3, strides=2, padding="same" if small else "valid", name=name)(x)


@register()
def alexnet(
    input_shape=(227, 227, 3),
    num_classes=1000,
    include_top=True,
    weights=None,
    pooling=None,
    classifier_activation="softmax",
    name="alexnet",
    normalization="lrn",
    width_multiplier=1.0,
    dense_units=4096,
    dropout=0.5,
):
    """AlexNet (Krizhevsky et al., 2012), single tower.

    Args:
        input_shape: ``(height, width, channels)``; 227×227×3 in the paper,
            height and width >= 11.
        num_classes: classes of the top.
        include_top: build ``flatten``, ``fc6``, ``fc7`` and ``predictions``.
        weights: ``None`` or a path to a weights file.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classifier_activation: activation of ``predictions``.
        name: model name.
        normalization: ``"lrn"`` (the paper's local response normalization
            after ``conv1`` and ``conv2``: k=2, n=5, alpha=1e-4, beta=0.75),
            ``"batchnorm"`` (batch norm after every convolution instead) or ``None``.
        width_multiplier: scales every filter and unit count (1.0 is the paper).
        dense_units: units of ``fc6`` and ``fc7`` before ``width_multiplier``.
        dropout: dropout after ``fc6`` and ``fc7``.

    Returns:
        A ``keras.Model``: 62,378,344 parameters with the defaults.
    """
    width_multiplier = common.check_width_multiplier(width_multiplier)
    if normalization not in NORMALIZATIONS:
        raise ConfigError(
            f"normalization must be 'lrn', 'batchnorm' or None. Received: normalization={normalization!r}"
        )
    input_shape = common.check_arguments(input_shape, num_classes, include_top, pooling, min_size=11)
    batch_norm = normalization == "batchnorm"

    def convolution(tensor, filters, kernel_size, layer_name, strides=1, padding="same"):
        filters = common.scale_width(filters, width_multiplier)
        if batch_norm:
            tensor = keras.layers.Conv2D(
                filters, kernel_size, strides=strides, padding=padding, use_bias=False, name=layer_name
            )(tensor)
            tensor = keras.layers.BatchNormalization(name=f"{layer_name}_bn")(tensor)
            return keras.layers.Activation("relu", name=f"{layer_name}_relu")(tensor)
        return keras.layers.Conv2D(
            filters, kernel_size, strides=strides, padding=padding, activation="relu", name=layer_name
        )(tensor)

    def response_normalization(tensor, layer_name):
        if normalization != "lrn":
            return tensor
        return common.LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, name=layer_name)(tensor)

    inputs = keras.Input(shape=input_shape, name="input")
    x = convolution(inputs, 96, 11, "conv1", strides=4, padding="valid")
    x = response_normalization(x, "norm1")
    x = _overlapping_pool(x, "pool1")
    x = convolution(x, 256, 5, "conv2")
    x = response_normalization(x, "norm2")
    x = _overlapping_pool(x, "pool2")
    x = convolution(x, 384, 3, "conv3")
    x = convolution(x, 384, 3, "conv4")
    x = convolution(x, 256, 3, "conv5")
    x = _overlapping_pool(x, "pool5")
    if include_top:
        if None in input_shape[:2]:
            raise ConfigError(
                f"include_top=True needs a fixed input height and width (Flatten). Received: input_shape={input_shape}"
            )
        units = common.scale_width(dense_units, width_multiplier)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(units, activation="relu", name="fc6")(x)
        x = keras.layers.Dropout(dropout, name="fc6_dropout")(x)
        x = keras.layers.Dense(units, activation="relu", name="fc7")(x)
        x = keras.layers.Dropout(dropout, name="fc7_dropout")(x)
        x = common.classifier_top(x, num_classes, classifier_activation)
    else:
        x = common.global_pool(x, pooling)
    return common.finish(inputs, x, name, weights)


@register()
def alexnet_tiny(input_shape=(32, 32, 3), num_classes=10, include_top=True, weights=None, pooling=None,
                 classifier_activation="softmax", name="alexnet_tiny", normalization="batchnorm",
                 width_multiplier=0.125, dense_units=4096, dropout=0.3):
    """A CPU-size AlexNet for quick runs (not in the paper): 1/8 width with batch norm at 32×32.

    Args:
        input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
        normalization, width_multiplier, dense_units, dropout: as in :func:`alexnet`.

    Returns:
        A ``keras.Model``.
    """
    return alexnet(input_shape, num_classes, include_top, weights, pooling, classifier_activation, name,
                   normalization=normalization, width_multiplier=width_multiplier, dense_units=dense_units,
                   dropout=dropout)
