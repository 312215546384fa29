"""Everything that yields a ``tf.data.Dataset``.

``load(name, split=...)`` returns ``(dataset, info)`` for three kinds of source:

- a builtin offline set (``digits``, and any name in :data:`BUILTINS`);
- a folder of images with one sub-folder per class;
- any TFDS image-classification name (``mnist``, ``cifar10``, ``tf_flowers``...),
  read from or downloaded into ``data_dir``.

Images come out as float32 ``(height, width, channels)``: in ``[0, 1]`` when
``normalize=True`` (the default), in ``[0, 255]`` when ``normalize=False`` (what
``keras.applications`` preprocessing expects). Labels are int32 class ids.
"""

import dataclasses
import importlib
import os
import re

from dlkit.errors import ConfigError, DatasetError

__all__ = ["BUILTINS", "SPLITS", "DatasetInfo", "load", "normalize_size", "unknown_dataset_error"]

#: Builtin offline sets: name -> "module:function" of a loader
#: ``loader(split, **options) -> (dataset, DatasetInfo)``, imported lazily.
BUILTINS = {
    "digits": "dlkit.data.builtin:load_digits",
    "shapes": "dlkit.data.shapes:load",
}

SPLITS = ("train", "dev", "test", "all")

# "mnist", "imagenette/160px", "cifar10:3.0.2": a TFDS name unless such a folder exists.
TFDS_NAME = re.compile(r"^[a-z][a-z0-9_]*(/[A-Za-z0-9_.+-]+)?(:[0-9.*]+)?$")


@dataclasses.dataclass
class DatasetInfo:
    """What :func:`load` knows about a dataset.

    Attributes:
        name: the dataset name (or folder path).
        num_classes: number of classes.
        class_names: list of class names, index = label id.
        image_shape: ``(height, width, channels)`` of the yielded images
            (``None`` for a dimension that varies).
        num_examples: examples in the requested split (``None`` if unknown).
        source: ``"builtin"``, ``"folder"`` or ``"tfds"``.
        adapter: how raw images of the kind a user has map onto these:
            :class:`~dlkit.data.adapter.ImageAdapter` keywords (``polarity``,
            ``framing``, ``margin``, ``content_size``); empty for photographs.
    """

    name: str
    num_classes: int
    class_names: list
    image_shape: tuple
    num_examples: int = None
    source: str = "builtin"
    adapter: dict = dataclasses.field(default_factory=dict)


def load(
    name,
    split="train",
    *,
    image_size=None,
    batch_size=32,
    data_dir=None,
    shuffle=None,
    seed=0,
    channels=None,
    normalize=True,
    cache=True,
    skip_bad_images=False,
    **options,
):
    """Loads a dataset split as a batched, prefetched ``tf.data.Dataset``.

    Args:
        name: a builtin name (see :data:`BUILTINS`), a folder path, or a TFDS name.
        split: ``"train"``, ``"dev"`` (alias ``"validation"``), ``"test"`` or ``"all"``.
        image_size: ``(height, width)`` or an int for square images; ``None``
            keeps the native size (required for sources whose sizes vary).
        batch_size: batch size; ``None`` yields unbatched examples.
        data_dir: TFDS data folder.
        shuffle: shuffle the examples (default: only for ``"train"``).
        seed: seed of the shuffle.
        channels: force 1 or 3 channels (``None``: the source's own count).
        normalize: scale pixels to ``[0, 1]`` (else ``[0, 255]``).
        cache: cache decoded examples in memory.
        skip_bad_images: for folders, skip unreadable images with a warning
            instead of raising.
        **options: source-specific options (e.g. ``split_seed`` for digits).

    Returns:
        ``(dataset, info)``: a ``tf.data.Dataset`` of ``(image, label)`` and a
        :class:`DatasetInfo`.

    Raises:
        DatasetError: unknown name, unreadable files, or a download that cannot happen.
        ConfigError: bad split, image size, channel count or batch size.
    """
    split = "dev" if split == "validation" else split
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}. Received: split={split!r}")
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1 or None. Received: batch_size={batch_size}")
    if channels not in (None, 1, 3):
        raise ConfigError(f"channels must be 1, 3 or None. Received: channels={channels}")
    common = dict(
        image_size=normalize_size(image_size),
        batch_size=batch_size,
        shuffle=(split == "train") if shuffle is None else shuffle,
        seed=seed,
        channels=channels,
        normalize=normalize,
        cache=cache,
    )
    if name in BUILTINS:
        module_name, function_name = BUILTINS[name].split(":")
        loader = getattr(importlib.import_module(module_name), function_name)
        return loader(split, **common, **options)
    if os.path.isdir(str(name)) or not TFDS_NAME.match(str(name)):
        from dlkit.data import folders

        return folders.load_folder(name, split, skip_bad_images=skip_bad_images, **common, **options)
    from dlkit.data import tfds_source

    return tfds_source.load_tfds(name, split, data_dir=data_dir, **common, **options)


def normalize_size(image_size):
    """Returns ``image_size`` as ``(height, width)`` or ``None``."""
    if image_size is None:
        return None
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    image_size = tuple(int(size) for size in image_size)
    if len(image_size) != 2 or min(image_size) < 1:
        raise ConfigError(f"image_size must be an int or (height, width) >= 1. Received: image_size={image_size}")
    return image_size


def unknown_dataset_error(name, detail=""):
    """The error for a name that is no builtin, folder or TFDS dataset."""
    return DatasetError(
        f"Unknown dataset{detail}. Use a builtin ({', '.join(sorted(BUILTINS))}), a folder with one "
        f"sub-folder per class, or a TFDS image-classification name such as mnist, cifar10, tf_flowers. "
        f"Received: dataset={name!r}"
    )
