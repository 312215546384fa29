"""Detection data in one format: synthetic shapes (offline) and TFDS sets like ``voc/2007``.

Every source yields ``(image, {"boxes", "labels"})``: ``image`` float32
``(height, width, 3)`` in [0, 1]; ``boxes`` float32 ``(max_objects, 4)``
``rel_xyxy``; ``labels`` int32 ``(max_objects,)``; unused rows are -1.

TFDS detection sets (``voc/2007``, ``voc/2012``) store ``objects/bbox`` as
relative ``yxyx`` and ``objects/label``; images are resized to ``image_size``
without keeping the aspect ratio (relative boxes are unchanged by that), VOC's
"difficult" objects are left out (the VOC protocol ignores them), and images
with more than ``max_objects`` objects keep the first ``max_objects``.

:func:`training_batches` turns such examples into what a YOLO detector trains
on: randomly flipped, batched, with targets encoded for its head.
"""

import numpy as np

from dlkit.data import DatasetInfo
from dlkit.detection.yolo import encode_targets
from dlkit.errors import ConfigError, DatasetError

TFDS_SPLITS = {"train": "train", "dev": "validation", "test": "test"}


def load(name="shapes", split="train", *, image_size=64, batch_size=32, num_images=None, seed=0, data_dir=None,
         shuffle=None, max_objects=None, **options):
    """Returns ``(dataset, info)`` of detection examples (see the module docstring).

    Args:
        name: ``"shapes"`` or a TFDS detection set such as ``"voc/2007"``.
        split: ``"train"``, ``"dev"`` or ``"test"``.
        image_size: side in pixels or ``(height, width)``.
        batch_size: examples per batch, or ``None`` for unbatched elements.
        num_images: images in the split (shapes: generated; TFDS: the first ones).
        seed: data seed.
        data_dir: TFDS folder (shapes ignores it).
        shuffle: shuffle every epoch (default: the train split only).
        max_objects: rows of ``boxes``/``labels`` (shapes default 4, TFDS 50).
        **options: shapes options (``classes``, ``min_objects``, ``size_range``...).

    Returns:
        ``(tf.data.Dataset, DatasetInfo)``.

    Raises:
        ConfigError: unknown split or option.
        DatasetError: an unknown TFDS name, or a set that is not prepared
            while its download host cannot be reached.
    """
    if split not in TFDS_SPLITS:
        raise ConfigError(f"split must be one of {tuple(TFDS_SPLITS)}. Received: split={split!r}")
    if name == "shapes":
        from dlkit.data import shapes

        if max_objects is not None:
            options["max_objects"] = max_objects
        return shapes.load(split, task="detection", image_size=image_size, batch_size=batch_size,
                           num_images=num_images, seed=seed, shuffle=shuffle, **options)
    if options:
        raise ConfigError(f"Options {sorted(options)} apply to shapes only. Received: dataset={name!r}")
    return load_tfds_detection(name, split, image_size=image_size, batch_size=batch_size, num_images=num_images,
                               seed=seed, data_dir=data_dir, shuffle=shuffle, max_objects=max_objects or 50)


def load_tfds_detection(name, split="train", *, image_size=416, batch_size=32, num_images=None, seed=0,
                        data_dir=None, shuffle=None, max_objects=50):
    """Loads a TFDS detection set with ``objects/bbox`` and ``objects/label``; see :func:`load`."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from dlkit.data import tfds_source

    height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise DatasetError(f"Unknown TFDS dataset. Received: dataset={name!r}") from error
    features = builder.info.features
    fields = features["objects"].feature if "objects" in features else {}
    if "bbox" not in fields or "label" not in fields:
        raise DatasetError(
            f"{name} is not a detection set (it needs objects/bbox and objects/label). Received: dataset={name!r}"
        )
    tfds_source.ensure_prepared(builder, name, data_dir)
    class_names = list(fields["label"].names)
    dataset = builder.as_dataset(split=TFDS_SPLITS[split])
    if num_images is not None:
        dataset = dataset.take(num_images)

    def convert(example):
        image = tf.image.resize(tf.cast(example["image"], tf.float32) / 255.0, (height, width))
        image = tf.clip_by_value(image, 0.0, 1.0)
        bbox = tf.reshape(tf.cast(example["objects"]["bbox"], tf.float32), (-1, 4))
        label = tf.cast(example["objects"]["label"], tf.int32)
        count = tf.minimum(tf.shape(bbox)[0], tf.shape(label)[0])
        keep = tf.ones((count,), tf.bool)
        if "is_difficult" in example["objects"]:
            difficult = example["objects"]["is_difficult"]
            count = tf.minimum(count, tf.shape(difficult)[0])
            keep = tf.logical_not(difficult[:count])
        bbox, label = tf.boolean_mask(bbox[:count], keep), tf.boolean_mask(label[:count], keep)
        # yxyx -> xyxy, with corners put in order in case a record has them swapped.
        y1, x1, y2, x2 = tf.unstack(bbox, 4, axis=-1)
        boxes = tf.stack([tf.minimum(x1, x2), tf.minimum(y1, y2), tf.maximum(x1, x2), tf.maximum(y1, y2)], axis=-1)
        boxes = tf.clip_by_value(boxes, 0.0, 1.0)[:max_objects]
        label = label[:max_objects]
        missing = max_objects - tf.shape(boxes)[0]
        boxes = tf.pad(boxes, [[0, missing], [0, 0]], constant_values=-1.0)
        label = tf.pad(label, [[0, missing]], constant_values=-1)
        return image, {"boxes": tf.ensure_shape(boxes, (max_objects, 4)), "labels": tf.ensure_shape(label, (max_objects,))}

    dataset = dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    cardinality = int(dataset.cardinality())
    if shuffle is None:
        shuffle = split == "train"
    if shuffle:
        dataset = dataset.shuffle(1024, seed=seed, reshuffle_each_iteration=True)
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    info = DatasetInfo(
        name=name,
        num_classes=len(class_names),
        class_names=class_names,
        image_shape=(height, width, 3),
        num_examples=cardinality if cardinality >= 0 else None,
        source="tfds",
    )
    return dataset, info


def random_flip(image, target):
    """Flips an ``(image, {"boxes", "labels"})`` example left-right with probability 1/2.

    Relative boxes flip with the image (``x -> 1 - x``); padding rows stay -1.
    """
    import tensorflow as tf

    boxes = target["boxes"]
    flipped = tf.stack([1.0 - boxes[:, 2], boxes[:, 1], 1.0 - boxes[:, 0], boxes[:, 3]], axis=-1)
    flipped = tf.where(boxes < 0, boxes, flipped)
    coin = tf.random.uniform(()) < 0.5
    return (tf.where(coin, tf.image.flip_left_right(image), image),
            {"boxes": tf.where(coin, flipped, boxes), "labels": target["labels"]})


def training_batches(dataset, *, batch_size, grid_size, anchors, num_classes, flip=True):
    """Batches of ``(images, targets)`` for ``model.fit`` of a YOLO detector (Redmon & Farhadi, YOLO9000, 2017).

    Args:
        dataset: unbatched ``(image, {"boxes", "labels"})`` examples, ``rel_xyxy``
            boxes padded with -1 (what :func:`load` gives with ``batch_size=None``).
        batch_size: images per batch.
        grid_size: the detector's output grid, an int or ``(grid_h, grid_w)``.
        anchors: the detector's anchors, ``(A, 2)`` relative ``(width, height)``.
        num_classes: ``C``.
        flip: flip each image and its boxes left-right with probability 1/2 (:func:`random_flip`).

    Returns:
        A prefetched ``tf.data.Dataset`` of ``(images, targets)``; targets are
        :func:`~dlkit.detection.yolo.encode_targets`'s ``(batch, grid_h, grid_w, A, 5 + C)``.
    """
    import tensorflow as tf

    def to_targets(images, target):
        return images, encode_targets(target["boxes"], target["labels"], grid_size, anchors, num_classes)

    if flip:
        dataset = dataset.map(random_flip, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.batch(batch_size).map(to_targets, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def collect(dataset, images=True, limit=None):
    """Reads a detection dataset into NumPy arrays.

    Args:
        dataset: batched or unbatched ``(image, {"boxes", "labels"})``.
        images: also collect the images (skip for large sets when only boxes are needed).
        limit: stop after this many images.

    Returns:
        A dict with ``boxes`` ``(N, M, 4)``, ``labels`` ``(N, M)`` and, with
        ``images``, ``images`` ``(N, height, width, 3)``.
    """
    parts = {"boxes": [], "labels": [], "images": []}
    total = 0
    for image, target in dataset:
        batched = len(target["boxes"].shape) == 3
        boxes = target["boxes"].numpy() if batched else target["boxes"].numpy()[None]
        parts["boxes"].append(boxes)
        parts["labels"].append(target["labels"].numpy() if batched else target["labels"].numpy()[None])
        if images:
            parts["images"].append(image.numpy() if batched else image.numpy()[None])
        total += len(boxes)
        if limit is not None and total >= limit:
            break
    if not parts["boxes"]:
        raise DatasetError("The dataset yielded no examples. Received: an empty dataset")
    out = {key: np.concatenate(value)[:limit] for key, value in parts.items() if value}
    return out
