"""Each backbone family's own input preprocessing, as a saved-with-the-model layer.

A pretrained backbone only works on inputs prepared the way it was trained;
mismatched preprocessing is one of the most common silent transfer-learning
bugs. :class:`BackbonePreprocessing` takes ``[0, 255]`` pixels (what
``dlkit.data.load(..., normalize=False)`` yields) and applies one of the
``keras.applications`` modes (see ``keras.applications.imagenet_utils``):

- ``"caffe"``: RGB -> BGR, minus the ImageNet channel means, 0-255 scale (VGG, ResNet v1);
- ``"tf"``: scale to ``[-1, 1]`` (MobileNet, MobileNetV2, Inception, Xception, ResNet v2);
- ``"torch"``: scale to ``[0, 1]``, minus mean, divided by std per channel (DenseNet);
- ``"scale"``: scale to ``[0, 1]`` (dlkit's own models, trained with ``normalize=True``);
- ``"none"``: unchanged (EfficientNet, ConvNeXt, MobileNetV3, RegNet carry their own).

It also adapts the channel count, so a grayscale image can feed an RGB backbone
(the grey value repeated in R, G and B) and an RGB image a grayscale one.
"""

import re

import keras
from keras import ops

from dlkit.errors import ConfigError

MODES = ("caffe", "tf", "torch", "scale", "none")

# keras.applications.imagenet_utils constants.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
# ITU-R 601-2 luma, as tf.image.rgb_to_grayscale.
LUMA = (0.2989, 0.5870, 0.1140)

# First match wins, so the more specific patterns come first. Names are
# lower-cased and stripped of "_" and "-" before matching.
FAMILY_MODES = (
    (r"^resnet\d*v2", "tf"),
    (r"^mobilenetv3", "none"),
    (r"^(efficientnet|convnext|regnet)", "none"),
    (r"^densenet", "torch"),
    (r"^(vgg|resnet|alexnet)", "caffe"),
    (r"^(mobilenet|inception|xception|googlenet|nasnet)", "tf"),
)


def mode_for(name, default="scale"):
    """Returns the preprocessing mode of a backbone family from its name.

    Args:
        name: a dlkit builder name (``"vgg16"``), a ``keras.applications``
            name (``"MobileNetV2"``) or a model's ``name``.
        default: the mode of names no family matches (dlkit's own models
            expect ``[0, 1]`` inputs: ``"scale"``).

    Returns:
        One of :data:`MODES`.
    """
    key = re.sub(r"[_\-\s]", "", str(name).lower())
    for pattern, mode in FAMILY_MODES:
        if re.match(pattern, key):
            return mode
    return default


def check_mode(mode):
    if mode not in MODES:
        raise ConfigError(
            f"preprocessing must be one of {', '.join(MODES)} or 'auto'. Received: preprocessing={mode!r}"
        )
    return mode


@keras.saving.register_keras_serializable(package="dlkit")
class BackbonePreprocessing(keras.layers.Layer):
    """Converts ``[0, 255]`` images to what a backbone family expects.

    Args:
        mode: one of :data:`MODES` (see the module docstring).
        channels: the channel count the backbone takes (1 or 3), or ``None``
            to keep the input's. 1 -> 3 repeats the grey value; 3 -> 1 takes
            the luma.
        **kwargs: ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Input: float images ``(batch, height, width, channels)`` in ``[0, 255]``.
    Output: the same height and width, ``channels`` channels, preprocessed.
    """

    def __init__(self, mode="scale", channels=None, **kwargs):
        super().__init__(**kwargs)
        self.mode = check_mode(mode)
        if channels not in (None, 1, 3):
            raise ConfigError(f"channels must be 1, 3 or None. Received: channels={channels}")
        self.channels = channels

    def call(self, images):
        x = ops.cast(images, self.compute_dtype)
        incoming = x.shape[-1]
        if self.channels == 3 and incoming == 1:
            x = ops.repeat(x, 3, axis=-1)
        elif self.channels == 1 and incoming == 3:
            x = ops.sum(x * ops.convert_to_tensor(LUMA, x.dtype), axis=-1, keepdims=True)
        rgb = x.shape[-1] == 3
        if self.mode == "caffe":
            if rgb:
                x = ops.flip(x, axis=-1)
                return x - ops.convert_to_tensor(CAFFE_MEAN_BGR, x.dtype)
            return x - sum(CAFFE_MEAN_BGR) / 3.0  # one grey channel: the mean of the means
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            x = x / 255.0
            if rgb:
                return (x - ops.convert_to_tensor(TORCH_MEAN, x.dtype)) / ops.convert_to_tensor(TORCH_STD, x.dtype)
            return (x - sum(TORCH_MEAN) / 3.0) / (sum(TORCH_STD) / 3.0)
        if self.mode == "scale":
            return x / 255.0
        return x

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.channels or input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "channels": self.channels}
