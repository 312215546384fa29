"""Neural style transfer (Gatys, Ecker & Bethge, CVPR 2016).

``stylize(content, style, ...)`` optimizes the pixels of an image so its VGG
activations at one layer match the content image and its gram matrices at
several layers match the style image(s). The VGG16 conv weights default to the
offline ``"vgg16-hed"`` set (see :mod:`dlkit.weights`); ``weights="imagenet"``
downloads keras.applications' VGG16/VGG19.

Modules: :mod:`~dlkit.style.losses` (gram matrix, content/style/TV losses),
:mod:`~dlkit.style.features` (the VGG feature extractor),
:mod:`~dlkit.style.image` (image I/O, caffe processing),
:mod:`~dlkit.style.transfer` (``stylize`` with Adam or L-BFGS).
"""

from dlkit import lazy_names
from dlkit.style.features import (
    DEFAULT_CONTENT_LAYER,
    DEFAULT_STYLE_LAYERS,
    feature_extractor,
    vgg_base,
)
from dlkit.style.image import (
    deprocess,
    load_image,
    preprocess,
    resize,
    resize_longest,
    rgb_to_yuv,
    save_png,
    yuv_to_rgb,
)
from dlkit.style.losses import content_loss, gram_matrix, style_layer_loss, style_loss, total_variation_loss

# The optimization loop is TensorFlow's (a tf.function around tf.GradientTape): imported on first use, so the
# features and losses above import without it (docs/backends.md).
__getattr__, __dir__ = lazy_names(__name__, {
    "Objective": "transfer", "StyleResult": "transfer", "run_adam": "transfer", "run_lbfgs": "transfer",
    "stylize": "transfer",
})

__all__ = [
    "DEFAULT_CONTENT_LAYER",
    "DEFAULT_STYLE_LAYERS",
    "Objective",
    "StyleResult",
    "content_loss",
    "deprocess",
    "feature_extractor",
    "gram_matrix",
    "load_image",
    "preprocess",
    "resize",
    "resize_longest",
    "rgb_to_yuv",
    "run_adam",
    "run_lbfgs",
    "save_png",
    "style_layer_loss",
    "style_loss",
    "stylize",
    "total_variation_loss",
    "vgg_base",
    "yuv_to_rgb",
]
