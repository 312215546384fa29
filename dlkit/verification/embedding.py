"""``embedding_model``: any backbone -> dense -> L2-normalized embedding f(x); ``check_spread`` of its output."""

import keras
import numpy as np
from keras import layers

from dlkit.errors import ConfigError, TrainingError
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


def check_spread(embeddings, advice="Lower the learning rate."):
    """Refuses embeddings that collapsed (every image at one point) or are not finite: training failed.

    A collapsed embedding scores chance at verification and cannot be drawn as a
    t-SNE map; the triplet loss stays finite (at the margin), so only the
    embeddings show it.

    Args:
        embeddings: ``(n, dim)`` embeddings of several identities.
        advice: what to do, with the settings to name, ending the error message.

    Returns:
        The mean over dimensions of the standard deviation across images.

    Raises:
        TrainingError: the spread is at most 1e-4 or not finite.
    """
    spread = float(np.mean(np.std(embeddings, axis=0))) if np.all(np.isfinite(embeddings)) else float("nan")
    if not spread > 1e-4:
        raise TrainingError(
            f"The embedding collapsed: every image maps to (nearly) the same point (mean spread {spread:.2g}), so "
            f"it cannot tell identities apart. {advice}"
        )
    return spread
