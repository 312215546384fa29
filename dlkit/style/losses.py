"""Losses of neural style transfer (Gatys, Ecker & Bethge, "Image Style Transfer Using
Convolutional Neural Networks", CVPR 2016), in ``keras.ops``.

Every loss is normalized by the size of what it sums over, so the same weights
work at 64 px and at 1024 px:

* the gram matrix is divided by positions × channels (``N·M`` in the paper), so
  a style layer's loss ``¼·Σ(G − A)²`` is exactly the paper's
  ``E_l = 1/(4 N² M²) Σ(G − A)²``;
* the content loss is the mean squared difference of activations (the paper's
  ``½Σ(F − P)²`` divided by ``N·M/2``, so it does not grow with the image);
* total variation is the mean absolute difference of neighbouring pixels.
"""

from keras import ops

from dlkit.errors import ConfigError


def gram_matrix(features):
    """Gram matrices of feature maps, normalized by positions and channels.

    Reference: Gatys et al. 2016, eq. 3, divided by ``N·M``.

    Args:
        features: ``(batch, height, width, channels)`` activations (or one map
            without the batch axis).

    Returns:
        ``(batch, channels, channels)``: ``Fᵀ F / (height · width · channels)``
        (no batch axis if the input had none).
    """
    features = ops.convert_to_tensor(features)
    unbatched = len(features.shape) == 3
    if unbatched:
        features = features[None]
    shape = ops.shape(features)
    count = ops.cast(shape[1] * shape[2] * shape[3], features.dtype)
    gram = ops.einsum("bijc,bijd->bcd", features, features) / count
    return gram[0] if unbatched else gram


def content_loss(features, target):
    """Mean squared difference between activations and the content target.

    Reference: Gatys et al. 2016, eq. 1, normalized by the number of activations.

    Args:
        features: ``(batch, h, w, c)`` activations of the image being optimized.
        target: activations of the content image, same shape (or broadcastable).

    Returns:
        A scalar tensor.
    """
    return ops.mean(ops.square(features - target))


def style_layer_loss(features, target_gram):
    """One layer's style loss ``¼·Σ(G − A)²`` with normalized gram matrices (paper eq. 4)."""
    gram = gram_matrix(features)
    return 0.25 * ops.mean(ops.sum(ops.square(gram - target_gram), axis=(-2, -1)))


def style_loss(features, target_grams, layer_weights):
    """Weighted sum over layers of :func:`style_layer_loss` (Gatys et al. 2016, eq. 5).

    Args:
        features: dict ``{layer: (batch, h, w, c)}`` activations.
        target_grams: dict ``{layer: (channels, channels)}`` style gram matrices.
        layer_weights: dict ``{layer: weight}``; the layers summed over.

    Returns:
        A scalar tensor.
    """
    total = 0.0
    for layer, weight in layer_weights.items():
        total = total + weight * style_layer_loss(features[layer], target_grams[layer])
    return total


def total_variation_loss(images):
    """Anisotropic total variation: mean absolute difference of neighbouring pixels.

    Reference: Mahendran & Vedaldi, "Understanding Deep Image Representations by
    Inverting Them", CVPR 2015 (the β = 1 case); ``tf.image.total_variation``
    divided by the number of differences.

    Args:
        images: ``(batch, height, width, channels)``.

    Returns:
        A scalar tensor (0 for a constant image or a 1×1 image).
    """
    images = ops.convert_to_tensor(images)
    vertical = images[:, 1:, :, :] - images[:, :-1, :, :]
    horizontal = images[:, :, 1:, :] - images[:, :, :-1, :]
    total = 0.0
    # An image one pixel tall or wide has no differences along that axis: skip the
    # empty mean instead of returning NaN.
    if vertical.shape[1] != 0:
        total = total + ops.mean(ops.abs(vertical))
    if horizontal.shape[2] != 0:
        total = total + ops.mean(ops.abs(horizontal))
    return ops.convert_to_tensor(total, dtype=images.dtype)


def normalize_layer_weights(style_layers):
    """Returns ``{layer: weight}`` from a dict, or from a list (equal weights summing to 1).

    Raises:
        ConfigError: empty, or a negative / all-zero weight.
    """
    if not isinstance(style_layers, dict):
        style_layers = list(style_layers)
        style_layers = {layer: 1.0 / max(len(style_layers), 1) for layer in style_layers}
    weights = {str(layer): float(weight) for layer, weight in style_layers.items()}
    if not weights or any(weight < 0 for weight in weights.values()) or sum(weights.values()) <= 0:
        raise ConfigError(
            f"style_layers needs at least one layer and non-negative weights, not all zero. "
            f"Received: style_layers={style_layers}"
        )
    return weights


__all__ = [
    "gram_matrix",
    "content_loss",
    "style_layer_loss",
    "style_loss",
    "total_variation_loss",
    "normalize_layer_weights",
]
