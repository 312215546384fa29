"""Image I/O for style transfer: load any PIL image as RGB, resize, save, caffe (de)processing.

Pixels are float32 RGB in [0, 255] everywhere outside the network. The VGG
networks expect caffe preprocessing: BGR channel order minus the ImageNet channel
means, still on the 0–255 scale (``keras.applications.vgg16.preprocess_input``).
"""

import os
import pathlib

import numpy as np

from dlkit.errors import ConfigError, ImageError

# ImageNet channel means in BGR order, as keras.applications' caffe mode uses.
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype="float32")


def load_image(path, size=None):
    """Reads an image file as an RGB float32 array in [0, 255].

    Grayscale, palette and CMYK images are converted to RGB; transparent pixels are
    composited over white so they do not turn black.

    Args:
        path: the image file (any format PIL reads).
        size: optional longest side in pixels (see :func:`resize_longest`).

    Returns:
        An array of shape ``(height, width, 3)``.

    Raises:
        ImageError: the file is missing or is not a readable image.
    """
    from PIL import Image, UnidentifiedImageError

    path = pathlib.Path(os.fspath(path))
    if not path.is_file():
        raise ImageError(f"Image file not found. Received: path={str(path)!r}")
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, rgba)
            array = np.asarray(image.convert("RGB"), dtype="float32")
    except Image.DecompressionBombError as error:
        raise ImageError(
            f"{path} is too large to read safely ({error}); resize it to a few thousand pixels a side first. "
            f"Received: path={str(path)!r}"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise ImageError(
            f"Cannot read {path} as an image ({error.__class__.__name__}: {error}). Received: path={str(path)!r}"
        ) from error
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ImageError(f"Image {path} is empty. Received: shape={array.shape}")
    return resize_longest(array, size) if size else array


def as_rgb_array(image, name="image"):
    """Returns ``image`` (a path or an array) as a float32 ``(height, width, 3)`` array.

    Arrays may be ``(height, width)`` grayscale or have 1, 3 or 4 channels (alpha
    is dropped); values are taken as 0–255.

    Raises:
        ImageError: a path cannot be read.
        ConfigError: an array has an unusable shape.
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image(image)
    array = np.asarray(image, dtype="float32")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or min(array.shape[:2]) < 1:
        raise ConfigError(
            f"{name} must be a path or an array of shape (height, width[, 1|3|4]). Received: shape={array.shape}"
        )
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return array[..., :3]


def fit_longest(shape, size):
    """Returns ``(height, width)`` scaled so the longest side is ``size`` (aspect kept)."""
    height, width = int(shape[0]), int(shape[1])
    if size is None:
        return height, width
    size = int(size)
    if size < 1:
        raise ConfigError(f"size must be >= 1. Received: size={size}")
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize(image, shape):
    """Resizes an RGB array to ``shape = (height, width)`` (antialiased bicubic)."""
    import tensorflow as tf

    shape = (int(shape[0]), int(shape[1]))
    if tuple(image.shape[:2]) == shape:
        return np.asarray(image, dtype="float32")
    resized = tf.image.resize(image, shape, method="bicubic", antialias=True)
    return np.clip(resized.numpy(), 0.0, 255.0)


def resize_longest(image, size):
    """Resizes an RGB array so its longest side is ``size`` pixels, keeping the aspect ratio."""
    return resize(image, fit_longest(image.shape, size))


def save_png(image, path):
    """Saves an RGB array with values in [0, 255] as an 8-bit PNG; returns the path."""
    from PIL import Image

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.clip(np.rint(np.asarray(image, dtype="float32")), 0, 255).astype("uint8")
    Image.fromarray(pixels).save(path, format="PNG")
    return path


def preprocess(image):
    """RGB [0, 255] -> caffe input (BGR minus the ImageNet means); works on NumPy or tensors."""
    return image[..., ::-1] - CAFFE_MEAN_BGR


def deprocess(image):
    """Caffe input -> RGB clipped to [0, 255]; the exact inverse of :func:`preprocess` on [0, 255]."""
    return np.clip(np.asarray(image, dtype="float32") + CAFFE_MEAN_BGR, 0.0, 255.0)[..., ::-1]


def rgb_to_yuv(image):
    """RGB -> YUV (BT.601, as ``tf.image.rgb_to_yuv``) for arrays in [0, 255]."""
    import tensorflow as tf

    return tf.image.rgb_to_yuv(np.asarray(image, dtype="float32") / 255.0).numpy() * 255.0


def yuv_to_rgb(image):
    """YUV -> RGB (inverse of :func:`rgb_to_yuv`), not clipped."""
    import tensorflow as tf

    return tf.image.yuv_to_rgb(np.asarray(image, dtype="float32") / 255.0).numpy() * 255.0
