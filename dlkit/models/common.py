"""Pieces shared by every builder: argument checks, the classifier top, weights.

Every builder has the ``keras.applications`` surface (``input_shape``,
``num_classes``, ``include_top``, ``weights``, ``pooling``,
``classifier_activation``, ``name``) and ends with :func:`classifier_top` and
:func:`finish`, so those arguments mean the same thing everywhere.
"""

import keras

from dlkit.errors import ConfigError

POOLING_CHOICES = (None, "avg", "max")


def check_arguments(input_shape, num_classes, include_top, pooling, min_size=1):
    """Validates the common builder arguments and returns ``input_shape`` as a tuple.

    Args:
        input_shape: ``(height, width, channels)``; height/width may be ``None``
            only when ``include_top=False`` or the builder pools globally.
        num_classes: number of output classes, >= 1.
        include_top: whether the classifier head is built.
        pooling: ``None``, ``"avg"`` or ``"max"``.
        min_size: the smallest height/width the architecture accepts.

    Raises:
        ConfigError: any argument is out of range.
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ConfigError(
            "input_shape must be (height, width, channels). "
            f"Received: input_shape={input_shape}"
        )
    for size in input_shape[:2]:
        if size is not None and size < min_size:
            raise ConfigError(
                f"input_shape height and width must be >= {min_size} for this model. "
                f"Received: input_shape={input_shape}"
            )
    if input_shape[2] is None or input_shape[2] < 1:
        raise ConfigError(f"input_shape needs a channel count >= 1. Received: input_shape={input_shape}")
    if include_top and (num_classes is None or int(num_classes) < 1):
        raise ConfigError(f"num_classes must be >= 1. Received: num_classes={num_classes}")
    if pooling not in POOLING_CHOICES:
        raise ConfigError(f"pooling must be None, 'avg' or 'max'. Received: pooling={pooling!r}")
    return input_shape


def classifier_top(x, num_classes, classifier_activation="softmax", name="predictions"):
    """The final ``Dense`` layer, kept in float32 so mixed precision stays stable.

    Args:
        x: a rank-2 feature tensor.
        num_classes: number of output units.
        classifier_activation: activation of the last layer (``None`` for logits).
        name: the layer name.

    Returns:
        The output tensor, float32 under any dtype policy.
    """
    return keras.layers.Dense(
        num_classes, activation=classifier_activation, dtype="float32", name=name
    )(x)


def global_pool(x, pooling):
    """Applies ``keras.applications``-style optional global pooling to feature maps."""
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def finish(inputs, outputs, name, weights=None):
    """Wraps ``inputs``/``outputs`` in a ``keras.Model`` and loads ``weights``.

    Args:
        inputs: the input tensor(s).
        outputs: the output tensor(s).
        name: the model name.
        weights: ``None`` or a path to a ``.keras`` / ``.weights.h5`` file.

    Returns:
        The ``keras.Model``.
    """
    from dlkit import weights as weights_module

    model = keras.Model(inputs, outputs, name=name)
    weights_module.load_into(model, weights)
    return model
