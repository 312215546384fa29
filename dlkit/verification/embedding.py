"""``embedding_model``: any backbone -> dense -> L2-normalized embedding f(x)."""

import keras
from keras import layers

from dlkit.errors import ConfigError
from dlkit.verification.distances import l2_normalize


@keras.saving.register_keras_serializable(package="dlkit")
class L2Normalize(layers.Layer):
    """Scales each vector to unit L2 norm; a zero vector stays zero (no NaN).

    Args:
        axis: the axis holding the vector.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return l2_normalize(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def small_convnet(input_shape=(16, 16, 1), filters=(32, 64), dropout=0.3, name="small_convnet"):
    """A small conv backbone for tiny images (upsampled digits, small face crops).

    One ``3x3 conv -> ReLU -> 2x2 max pooling`` stage per width, then the
    flattened map with dropout: a LeNet/VGG-style stack sized for CPU training.
    Flattening (not global pooling) keeps where a stroke is, which tiny
    images need.

    Reference:
        LeCun, Bottou, Bengio, Haffner, "Gradient-Based Learning Applied to
        Document Recognition", Proc. IEEE 1998 (conv + pooling stages).

    Args:
        input_shape: ``(height, width, channels)``.
        filters: the width of each stage.
        dropout: dropout rate on the flattened features.
        name: model name.

    Returns:
        A ``keras.Model`` mapping images to ``(batch, features)``.
    """
    if len(tuple(input_shape)) != 3 or not filters:
        raise ConfigError(
            f"small_convnet needs input_shape=(height, width, channels) and filters. "
            f"Received: input_shape={input_shape}, filters={filters}"
        )
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for stage, width in enumerate(filters, start=1):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"block{stage}_conv")(x)
        if min(x.shape[1], x.shape[2]) >= 2:
            x = layers.MaxPooling2D(2, name=f"block{stage}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(inputs, x, name=name)


def embedding_model(backbone, dim=128, *, input_shape=None, name="embedding"):
    """Wraps a backbone into an embedding model ``f(x)`` with ``||f(x)|| = 1`` (FaceNet).

    Reference:
        Schroff, Kalenichenko, Philbin, "FaceNet: A Unified Embedding for Face
        Recognition and Clustering", CVPR 2015 (128-D L2-normalized embedding).

    Args:
        backbone: a ``keras.Model`` (feature maps are average-pooled) or the
            name of a registered dlkit builder (built with ``include_top=False``,
            ``pooling="avg"`` and ``weights=None``).
        dim: embedding size.
        input_shape: the input shape, needed when ``backbone`` is a name.
        name: model name.

    Returns:
        A ``keras.Model`` mapping images to ``(batch, dim)`` unit vectors; its
        layers ``embedding_dense`` and ``embedding_l2`` follow the backbone.
    """
    if not isinstance(dim, int) or dim < 1:
        raise ConfigError(f"dim must be a positive integer. Received: dim={dim!r}")
    if isinstance(backbone, str):
        from dlkit import models

        backbone = models.build(backbone, input_shape=input_shape, include_top=False, pooling="avg", weights=None)
    if not isinstance(backbone, keras.Model):
        raise ConfigError(f"backbone must be a keras.Model or a builder name. Received: {type(backbone).__name__}")
    inputs = keras.Input(shape=backbone.input_shape[1:], name="image")
    features = backbone(inputs)
    if len(features.shape) == 4:
        features = layers.GlobalAveragePooling2D(name="embedding_pool")(features)
    elif len(features.shape) != 2:
        raise ConfigError(f"backbone must output (batch, features) or feature maps. Received: shape {features.shape}")
    x = layers.Dense(dim, name="embedding_dense", dtype="float32")(features)
    outputs = L2Normalize(name="embedding_l2", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
