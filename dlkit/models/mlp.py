"""Fully connected models: logistic regression and the L-layer perceptron.

References:
    Rumelhart, Hinton and Williams (1986), "Learning representations by
    back-propagating errors", Nature 323. Initialization: He et al. (2015),
    "Delving Deep into Rectifiers"; Glorot and Bengio (2010), "Understanding the
    difficulty of training deep feedforward neural networks". Dropout:
    Srivastava et al. (2014). Batch normalization: Ioffe and Szegedy (2015).
"""

import keras

from dlkit.errors import ConfigError
from dlkit.models import common
from dlkit.models.registry import register

INITIALIZERS = {"he": "he_normal", "glorot": "glorot_uniform"}


@register()
def logistic_regression(
    input_shape=(8, 8, 1),
    num_classes=10,
    include_top=True,
    weights=None,
    pooling=None,
    classifier_activation="softmax",
    name="logistic_regression",
):
    """Multinomial logistic regression: flatten, then one dense softmax layer.

    Reference: Cox (1958), "The regression analysis of binary sequences".

    Args:
        input_shape: shape of one input.
        num_classes: number of classes (1 with ``classifier_activation="sigmoid"``
            gives binary logistic regression).
        include_top: kept for the common surface; without a top the model is
            just the flattened input.
        weights: ``None`` or a weights file path.
        pooling: unused (the input is flattened); kept for the common surface.
        classifier_activation: activation of the output layer.
        name: model name.

    Returns:
        A ``keras.Model``.
    """
    input_shape = tuple(input_shape)
    if include_top and (num_classes is None or num_classes < 1):
        raise ConfigError(f"num_classes must be >= 1. Received: num_classes={num_classes}")
    inputs = keras.Input(input_shape, name="input")
    x = keras.layers.Flatten(name="flatten")(inputs)
    if include_top:
        x = common.classifier_top(x, num_classes, classifier_activation)
    return common.finish(inputs, x, name, weights)


@register()
def mlp(
    input_shape=(8, 8, 1),
    num_classes=10,
    include_top=True,
    weights=None,
    pooling=None,
    classifier_activation="softmax",
    hidden_units=(128, 64),
    activation="relu",
    l2=0.0,
    dropout=0.0,
    batch_norm=False,
    initializer="he",
    name="mlp",
):
    """An L-layer perceptron with optional L2, dropout and batch normalization.

    Layer names are ``dense1``, ``bn1``, ``act1``, ``dropout1``, ... then
    ``predictions``. Reference: Rumelhart et al. (1986).

    Args:
        input_shape: shape of one input (flattened first).
        num_classes: number of classes.
        include_top: add the ``predictions`` layer.
        weights: ``None`` or a weights file path.
        pooling: unused (the input is flattened); kept for the common surface.
        classifier_activation: activation of the output layer.
        hidden_units: units of each hidden layer; its length is L - 1.
        activation: hidden activation.
        l2: L2 penalty on every kernel (0 for none).
        dropout: dropout rate after each hidden layer.
        batch_norm: batch-normalize each hidden layer before its activation.
        initializer: ``"he"`` (for ReLU) or ``"glorot"`` (for tanh/sigmoid), or
            any Keras initializer name.
        name: model name.

    Returns:
        A ``keras.Model``.
    """
    input_shape = tuple(input_shape)
    if include_top and (num_classes is None or num_classes < 1):
        raise ConfigError(f"num_classes must be >= 1. Received: num_classes={num_classes}")
    if not 0 <= dropout < 1:
        raise ConfigError(f"dropout must be in [0, 1). Received: dropout={dropout}")
    if l2 < 0:
        raise ConfigError(f"l2 must be >= 0. Received: l2={l2}")
    if isinstance(hidden_units, int):
        hidden_units = (hidden_units,)
    kernel_initializer = INITIALIZERS.get(initializer, initializer)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(input_shape, name="input")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for index, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(
            units,
            use_bias=not batch_norm,
            kernel_initializer=kernel_initializer,
            kernel_regularizer=regularizer,
            name=f"dense{index}",
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"bn{index}")(x)
        x = keras.layers.Activation(activation, name=f"act{index}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout{index}")(x)
    if include_top:
        x = keras.layers.Dense(
            num_classes,
            activation=classifier_activation,
            kernel_initializer="glorot_uniform",
            kernel_regularizer=regularizer,
            dtype="float32",
            name="predictions",
        )(x)
    return common.finish(inputs, x, name, weights)
