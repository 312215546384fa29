"""A user's image files as the pixel arrays dlkit models take.

:func:`read_image` decodes any file Pillow reads (PNG, JPEG, GIF, BMP, TIFF,
WebP, ...), turns it upright by its EXIF orientation (phone photos), and returns
float32 ``(height, width, channels)`` in ``[0, 255]`` with its own channel count:
1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). 16-bit and float images are
scaled to 0-255; palette and CMYK images become RGB(A). The model's
:class:`~dlkit.data.adapter.ImageAdapter` does the rest (size, channels,
polarity, scale).
"""

import pathlib

import numpy as np

from dlkit.errors import ConfigError, ImageError

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")


def read_image(path):
    """Returns the pixels of an image file: float32 ``(height, width, channels)`` in ``[0, 255]``.

    Raises:
        ImageError: the file is missing or is not an image Pillow can decode.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = pathlib.Path(path)
    if not path.is_file():
        raise ImageError(f"Image file not found. Received: {str(path)!r}")
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            return _pixels(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ImageError(f"Cannot read {path} as an image ({error}). Received: {str(path)!r}") from None


def _pixels(image):
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float32)
        top = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        return (np.clip(array, 0, top) * (255.0 / top))[..., None]
    if mode == "1":
        image = image.convert("L")
    elif mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX ...
    array = np.asarray(image, dtype=np.float32)
    return array[..., None] if array.ndim == 2 else array


def as_pixels(image, name="image"):
    """Checks an array given in place of a file: ``(height, width[, channels])`` in ``[0, 255]``.

    A float array whose values all lie in ``[0, 1]`` is refused: it is almost
    surely scaled already, and would be read as a black image.
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4) or min(array.shape[:2]) < 1:
        raise ConfigError(f"{name} must be (height, width) or (height, width, 1-4 channels). "
                          f"Received: shape={array.shape}")
    if not np.issubdtype(array.dtype, np.number) or array.dtype == bool:
        raise ConfigError(f"{name} must hold numbers. Received: dtype={array.dtype}")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ConfigError(f"{name} holds NaN or infinite values. Received: an array with non-finite values")
        low, high = float(array.min()), float(array.max())
        if 0.0 < high <= 1.0 and low >= 0.0:
            raise ConfigError(f"{name} looks scaled to [0, 1]; dlkit models take raw [0, 255] pixels: pass "
                              f"image * 255. Received: values in [{low:.3g}, {high:.3g}]")
    return array.astype(np.float32)


def expand_inputs(inputs):
    """Files and folders -> a list of image paths (a folder gives its images, sorted, recursively).

    Raises:
        ImageError: a path that does not exist, or a folder with no images.
    """
    paths = []
    for item in inputs:
        path = pathlib.Path(item)
        if path.is_dir():
            found = sorted(entry for entry in path.rglob("*") if entry.is_file()
                           and entry.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise ImageError(f"No images ({', '.join(IMAGE_SUFFIXES)}) in the folder. Received: {str(path)!r}")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise ImageError(f"No such image file or folder. Received: {str(path)!r}")
    return paths


def load_inputs(inputs):
    """``[(name, pixels)]`` for image paths, folders and arrays (an array is named ``array[i]``), in order.

    Args:
        inputs: a path, a folder, an image array, or a list of them (a 4-D
            array is a list of images).
    """
    if isinstance(inputs, (str, pathlib.PurePath)) or (isinstance(inputs, np.ndarray) and inputs.ndim in (2, 3)):
        inputs = [inputs]
    loaded = []
    for index, item in enumerate(inputs):
        if isinstance(item, (str, pathlib.PurePath)):
            loaded.extend((str(path), read_image(path)) for path in expand_inputs([item]))
        else:
            loaded.append((f"array[{index}]", as_pixels(item, f"inputs[{index}]")))
    if not loaded:
        raise ConfigError("No inputs to predict on. Received: an empty list")
    return loaded
