"""Pieces the zoo families share beyond :mod:`dlkit.models.common`.

``LocalResponseNormalization`` (AlexNet, GoogLeNet) has no Keras 3 layer, and
every family scales its widths the same way for its CPU-size variants.
"""

import keras

from dlkit.errors import ConfigError


def scale_width(channels, width_multiplier):
    """Returns ``channels * width_multiplier`` rounded, never below 1.

    Args:
        channels: the paper's channel (or unit) count.
        width_multiplier: the factor; 1.0 gives the paper's model.

    Returns:
        The scaled integer count.
    """
    return max(1, int(round(channels * width_multiplier)))


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
        squared = keras.ops.square(inputs)
        channels = keras.ops.shape(inputs)[-1]
        radius = self.depth_radius
        padded = keras.ops.pad(squared, [[0, 0]] * (len(inputs.shape) - 1) + [[radius, radius]])
        # A sum of 2r+1 shifted slices: cheaper than a convolution for the paper's r = 2.
        window_sum = padded[..., 0:channels]
        for offset in range(1, 2 * radius + 1):
            window_sum = window_sum + padded[..., offset : offset + channels]
        return inputs / keras.ops.power(self.bias + self.alpha * window_sum, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta)
        return config
