"""A user's image folder: one sub-folder per class.

Every file is decoded once before training, so a corrupt image or a text file
named ``.jpg`` is found up front and named in the error (or skipped with a
warning when ``skip_bad_images=True``), instead of killing an epoch halfway.
Files are recognized by their content, not their name: a TIFF or WebP file
(named ``.tif``, ``.webp``, or by mistake ``.jpg``) is decoded with Pillow,
which TensorFlow's decoders cannot do.
Unlike ``keras.utils.image_dataset_from_directory`` (which cannot skip files and
only splits in two), the folder is split into train/dev/test, stratified and
seeded.
"""

import os
import pathlib
import warnings

import numpy as np
import tensorflow as tf

from dlkit.data import DatasetInfo, pipeline
from dlkit.errors import ConfigError, DatasetError, ImageError

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
#: Pillow's names of the formats ``tf.io.decode_image`` reads; other formats go through Pillow.
TENSORFLOW_FORMATS = ("BMP", "GIF", "JPEG", "PNG")
FOLDER_FRACTIONS = (0.70, 0.15, 0.15)


def find_images(root):
    """Returns ``(paths, labels, class_names)`` for a folder of class sub-folders."""
    root = pathlib.Path(root)
    if not root.is_dir():
        raise DatasetError(f"Image folder not found. Received: dataset={str(root)!r}")
    class_names = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
    if len(class_names) < 2:
        raise DatasetError(
            f"The image folder needs one sub-folder per class and at least two classes to tell apart "
            f"(e.g. {root}/cats/1.jpg, {root}/dogs/1.jpg). "
            f"Received: dataset={str(root)!r} with {len(class_names)} sub-folder(s) {class_names}"
        )
    paths, labels = [], []
    for label, class_name in enumerate(class_names):
        for path in sorted((root / class_name).rglob("*")):
            if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
                paths.append(str(path))
                labels.append(label)
    if not paths:
        raise DatasetError(
            f"No images ({', '.join(IMAGE_EXTENSIONS)}) in the class folders of {root}. "
            f"Received: dataset={str(root)!r}"
        )
    return paths, np.asarray(labels, np.int32), class_names


def find_bad_images(paths):
    """Returns the paths that Pillow cannot fully decode (corrupt, truncated, not images)."""
    return inspect_images(paths)[0]


def inspect_images(paths):
    """Decodes every file once with Pillow.

    Returns:
        ``(bad, formats)``: the paths that cannot be decoded, and each other
        path's format as Pillow names it (``"JPEG"``, ``"TIFF"``...).
    """
    from PIL import Image

    bad, formats = [], {}
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
                formats[path] = image.format
        except Exception:  # Pillow raises many types for broken files; any of them means unusable.
            bad.append(path)
    return bad, formats


def _pillow_decode(path, channels):
    """Decodes one image file with Pillow into ``uint8 (height, width, channels)`` (for ``tf.numpy_function``)."""
    from PIL import Image

    with Image.open(path.decode() if isinstance(path, bytes) else path) as image:
        image = image.convert("L" if channels == 1 else "RGB")
        pixels = np.asarray(image, np.uint8)
    return pixels[..., None] if channels == 1 else pixels


def split_files(labels, split, seed=0, fractions=FOLDER_FRACTIONS):
    """Returns the indices of ``split``: stratified when every class is big enough."""
    indices = np.arange(len(labels))
    if split == "all":
        return indices
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = rng.permutation(indices[labels == label])
        n_train = int(round(fractions[0] * len(members)))
        n_dev = int(round(fractions[1] * len(members)))
        parts = {
            "train": members[:n_train],
            "dev": members[n_train : n_train + n_dev],
            "test": members[n_train + n_dev :],
        }
        chosen.append(parts[split])
    return np.sort(np.concatenate(chosen))


def load_folder(
    root,
    split="train",
    *,
    image_size=None,
    batch_size=32,
    shuffle=False,
    seed=0,
    channels=None,
    normalize=True,
    cache=True,
    skip_bad_images=False,
    split_seed=0,
):
    """Loads an image folder; see :func:`dlkit.data.load`. Images are decoded with 3 channels unless ``channels=1``."""
    if image_size is None:
        raise ConfigError(
            "Images in a folder may differ in size: pass image_size (e.g. --image-size 224). Received: image_size=None"
        )
    paths, labels, class_names = find_images(root)
    bad, formats = inspect_images(paths)
    if bad and not skip_bad_images:
        raise ImageError(
            f"{len(bad)} file(s) in {root} cannot be read as images: {', '.join(bad)}. Remove them, or pass "
            f"skip_bad_images=True (--skip-bad-images) to skip them. Received: dataset={str(root)!r}"
        )
    if bad:
        warnings.warn(f"Skipping {len(bad)} unreadable image(s): {', '.join(bad)}", stacklevel=2)
        bad_set = set(bad)
        keep = np.asarray([path not in bad_set for path in paths])
        paths, labels = [path for path, kept in zip(paths, keep) if kept], labels[keep]
    selected = split_files(labels, split, split_seed)
    if len(selected) == 0:
        raise DatasetError(
            f"The {split} split of {root} is empty: a folder is split "
            f"{', '.join(f'{share:.0%}' for share in FOLDER_FRACTIONS)} (train/dev/test) within each class, so "
            f"each class needs at least 7 images. "
            f"Received: {len(paths)} image(s) in {len(class_names)} classes"
        )
    paths = [paths[index] for index in selected]
    labels = labels[selected]
    by_pillow = [formats[path] not in TENSORFLOW_FORMATS for path in paths]
    channels = channels or 3

    def decode(path, label, pillow):
        def with_tensorflow():
            return tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)

        def with_pillow():
            return tf.numpy_function(lambda name: _pillow_decode(name, channels), [path], tf.uint8)

        image = tf.cond(pillow, with_pillow, with_tensorflow)
        image.set_shape([None, None, channels])
        return pipeline.prepare_image(image, image_size, channels, normalize), label

    dataset = tf.data.Dataset.from_tensor_slices((paths, labels, by_pillow))
    dataset = dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    info = DatasetInfo(
        name=os.fspath(root),
        num_classes=len(class_names),
        class_names=class_names,
        image_shape=(*image_size, channels),
        num_examples=len(paths),
        source="folder",
    )
    dataset = pipeline.finish(
        dataset, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=cache, num_examples=len(paths)
    )
    return dataset, info
