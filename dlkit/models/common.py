"""Pieces shared by every builder: argument checks, the classifier top, width scaling, weights, LRN.

Every builder has the ``keras.applications`` surface (``input_shape``,
``num_classes``, ``include_top``, ``weights``, ``pooling``,
``classifier_activation``, ``name``) and ends with :func:`classifier_top` and
:func:`finish`, so those arguments mean the same thing everywhere. The
families' CPU-size variants scale their widths with :func:`scale_width`, and
AlexNet and GoogLeNet share :class:`LocalResponseNormalization`, which Keras 3
does not have.
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
    """Applies ``keras.applications``-style optional global pooling to feature maps.

    ``pooling``: ``None`` (unchanged), ``"avg"`` (layer ``avg_pool``), ``"max"``
    (``max_pool``) or ``"flatten"`` (``flatten``: keeps where a feature is, which
    tiny maps need; the zoo builders' ``pooling`` argument does not offer it).
    """
    if pooling == "flatten":
        return keras.layers.Flatten(name="flatten")(x)
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


def scale_width(channels, width_multiplier):
    """Returns ``channels * width_multiplier`` rounded, never below 1.

    Args:
        channels: the paper's channel (or unit) count.
        width_multiplier: the factor; 1.0 gives the paper's model.

    Returns:
        The scaled integer count.
    """
    return max(1, round(channels * width_multiplier))


def check_width_multiplier(width_multiplier):
    """Raises ``ConfigError`` unless ``width_multiplier`` is a positive number."""
    if not isinstance(width_multiplier, (int, float)) or width_multiplier <= 0:
        raise ConfigError(f"width_multiplier must be a number > 0. Received: width_multiplier={width_multiplier!r}")
    return float(width_multiplier)


@keras.saving.register_keras_serializable(package="dlkit")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalization across channels (Krizhevsky et al., 2012, section 3.3).

    ``b = a / (bias + alpha * sum(a_j ** 2)) ** beta`` where the sum runs over the
    ``2 * depth_radius + 1`` neighbouring channels (clipped at the edges), the
    same definition as ``tf.nn.local_response_normalization``. The paper uses
    ``depth_radius=2`` (n = 5), ``bias=2``, ``alpha=1e-4``, ``beta=0.75``.

    Args:
        depth_radius: half-width of the channel window.
        bias: the additive constant ``k``.
        alpha: the scale of the squared sum.
        beta: the exponent.
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        if int(depth_radius) < 0:
            raise ConfigError(f"depth_radius must be >= 0. Received: depth_radius={depth_radius}")
        self.depth_radius = int(depth_radius)
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def call(self, inputs):
        # Squares of float16 activations overflow past 256: normalize in float32, return the input dtype.
        dtype = inputs.dtype
        inputs = keras.ops.cast(inputs, "float32")
        squared = keras.ops.square(inputs)
        channels = keras.ops.shape(inputs)[-1]
        radius = self.depth_radius
        padded = keras.ops.pad(squared, [[0, 0]] * (len(inputs.shape) - 1) + [[radius, radius]])
        # A sum of 2r+1 shifted slices: cheaper than a convolution for the paper's r = 2.
        window_sum = padded[..., 0:channels]
        for offset in range(1, 2 * radius + 1):
            window_sum = window_sum + padded[..., offset : offset + channels]
        outputs = inputs / keras.ops.power(self.bias + self.alpha * window_sum, self.beta)
        return keras.ops.cast(outputs, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta)
        return config
