"""A small VGG-style CNN for tiny images (upsampled digits, glyphs, small face crops).

Reference: Simonyan and Zisserman (2015), "Very Deep Convolutional Networks for
Large-Scale Image Recognition", ICLR (stacks of 3x3 convolutions and 2x2
pooling); Ioffe and Szegedy (2015), "Batch Normalization", ICML.
"""

import keras

from dlkit.errors import ConfigError
from dlkit.models import common
from dlkit.models.registry import register

#: ``pooling`` of :func:`small_cnn`: the zoo's choices plus ``"flatten"`` (keeps where a stroke is).
POOLING_CHOICES = (*common.POOLING_CHOICES, "flatten")


@register()
def small_cnn(
    input_shape=(16, 16, 1),
    num_classes=10,
    include_top=True,
    weights=None,
    pooling=None,
    classifier_activation="softmax",
    filters=(32, 64),
    convs_per_block=1,
    batch_norm=False,
    dropout=0.0,
    standardize=False,
    pooled_blocks=None,
    name="small_cnn",
):
    """Blocks of ``convs_per_block`` 3x3 convolutions (ReLU) and a 2x2 max pool, one block per width.

    The one small CNN dlkit's recipes share: the transfer-learning recipe's
    scratch baseline (two convolutions with batch normalization per block,
    average pooling, dropout 0.2) and the face-verification embedding backbone
    (one convolution per block, flattened maps, dropout) and the multi-task
    trunk (per-image standardization, pools after the first three blocks only).
    A block whose maps are already 1 pixel high or wide skips its pool.

    Layer names: ``standardize`` (with ``standardize``), ``block{b}_conv`` (``block{b}_conv{i}``, ``block{b}_bn{i}``,
    ``block{b}_relu{i}`` with two or more convolutions or batch normalization),
    ``block{b}_pool``, then ``avg_pool``/``max_pool``/``flatten``, ``dropout``
    and ``predictions``.

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: number of classes (with ``include_top``).
        include_top: end with the classifier (pooled with ``pooling``, ``"avg"``
            by default).
        weights: ``None`` or a weights file path.
        pooling: ``None``, ``"avg"``, ``"max"`` or ``"flatten"``: how the last
            block's maps become features.
        classifier_activation: activation of the output layer.
        filters: the width of each block.
        convs_per_block: convolutions per block.
        batch_norm: ``Conv2D`` without bias, ``BatchNormalization`` (momentum
            0.9: quick statistics for short runs), then ReLU.
        dropout: dropout rate on the pooled features (0 for none).
        standardize: first standardize each image's channels over its pixels
            (a parameter-free ``LayerNormalization``): a random background
            colour is gone before the first convolution.
        pooled_blocks: how many leading blocks end in a pool (``None``: all).
        name: model name.

    Returns:
        A ``keras.Model``.
    """
    if pooling not in POOLING_CHOICES:
        raise ConfigError(f"pooling must be one of {POOLING_CHOICES}. Received: pooling={pooling!r}")
    if not filters or convs_per_block < 1 or not 0 <= dropout < 1:
        raise ConfigError(
            "small_cnn needs at least one filter width, convs_per_block >= 1 and 0 <= dropout < 1. "
            f"Received: filters={filters}, convs_per_block={convs_per_block}, dropout={dropout}"
        )
    input_shape = common.check_arguments(input_shape, num_classes, include_top, None)
    inputs = keras.Input(input_shape, name="input")
    x = inputs
    if standardize:
        x = keras.layers.LayerNormalization(axis=(1, 2), center=False, scale=False, name="standardize")(x)
    numbered = convs_per_block > 1 or batch_norm
    for block, width in enumerate(filters, start=1):
        for index in range(1, convs_per_block + 1):
            suffix = str(index) if numbered else ""
            if batch_norm:
                x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{block}_conv{suffix}")(x)
                x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn{suffix}")(x)
                x = keras.layers.Activation("relu", name=f"block{block}_relu{suffix}")(x)
            else:
                x = keras.layers.Conv2D(width, 3, padding="same", activation="relu",
                                        name=f"block{block}_conv{suffix}")(x)
        pooled = pooled_blocks is None or block <= pooled_blocks
        if pooled and min(x.shape[1] or 2, x.shape[2] or 2) >= 2:
            x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    pooling = pooling or ("avg" if include_top else None)
    x = common.global_pool(x, pooling)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    if include_top:
        x = common.classifier_top(x, num_classes, classifier_activation)
    return common.finish(inputs, x, name, weights)
