"""LeNet-5.

Reference: LeCun, Bottou, Bengio and Haffner (1998), "Gradient-Based Learning
Applied to Document Recognition", Proc. IEEE 86(11).
"""

import keras

from dlkit.models import common
from dlkit.models.registry import register


@register()
def lenet5(
    input_shape=(32, 32, 1),
    num_classes=10,
    include_top=True,
    weights=None,
    pooling=None,
    classifier_activation="softmax",
    activation="tanh",
    subsampling="average",
    name="lenet5",
):
    """LeNet-5 in its classic form: 61,706 parameters at 32x32x1 with 10 classes.

    C1 (6 5x5 convolutions) -> S2 (2x2 subsampling) -> C3 (16 5x5 convolutions,
    fully connected to S2's maps rather than the paper's sparse table) -> S4 ->
    C5 (120 units) -> F6 (84) -> output. C5 is a ``Dense`` on the flattened S4
    maps, which equals the paper's 5x5 convolution at 32x32 and also accepts
    other input sizes (28x28 MNIST). The paper's trainable subsampling
    coefficients and RBF output are replaced by plain pooling and softmax, as is
    usual.

    Layer names: ``c1``, ``s2``, ``c3``, ``s4``, ``flatten``, ``c5``, ``f6``,
    ``predictions``.

    Args:
        input_shape: ``(height, width, channels)``, at least 12x12.
        num_classes: number of classes.
        include_top: build C5, F6 and the classifier; without it the model ends
            at S4 (optionally pooled).
        weights: ``None`` or a weights file path.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classifier_activation: activation of the output layer.
        activation: hidden activation (``"tanh"`` as in the paper, or ``"relu"``).
        subsampling: ``"average"`` (paper) or ``"max"``.
        name: model name.

    Returns:
        A ``keras.Model``.
    """
    input_shape = common.check_arguments(input_shape, num_classes, include_top, pooling, min_size=12)
    pool = keras.layers.AveragePooling2D if subsampling == "average" else keras.layers.MaxPooling2D
    inputs = keras.Input(input_shape, name="input")
    x = keras.layers.Conv2D(6, 5, activation=activation, name="c1")(inputs)
    x = pool(2, name="s2")(x)
    x = keras.layers.Conv2D(16, 5, activation=activation, name="c3")(x)
    x = pool(2, name="s4")(x)
    if include_top:
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(120, activation=activation, name="c5")(x)
        x = keras.layers.Dense(84, activation=activation, name="f6")(x)
        x = common.classifier_top(x, num_classes, classifier_activation)
    else:
        x = common.global_pool(x, pooling)
    return common.finish(inputs, x, name, weights)
