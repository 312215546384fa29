"""Offline datasets made from what installed packages ship.

``digits``: scikit-learn's 1,797 handwritten digits (8x8, 16 grey levels, from
the UCI "Optical Recognition of Handwritten Digits" set), split into train /
dev / test (70 / 15 / 15 %) stratified by class with a fixed seed.
"""

import numpy as np
import tensorflow as tf

from dlkit.data import DatasetInfo, pipeline

DIGITS_FRACTIONS = (0.70, 0.15, 0.15)
# Light ink on black, each digit's ink filling its 8x8 box in height (all 1,797 of them): a photo of a digit on
# paper is inverted, cropped to its ink and resampled to 8x8 before the network's input size.
DIGITS_ADAPTER = {"polarity": "light_on_dark", "framing": "content", "margin": 0.0, "content_size": (8, 8)}


def digits_split_indices(labels, split_seed=0, fractions=DIGITS_FRACTIONS):
    """Returns ``{"train", "dev", "test"}`` index arrays: stratified, disjoint, seeded.

    Args:
        labels: 1-D array of class ids.
        split_seed: seed of the split (independent of the training seed, so
            runs with different seeds are tested on the same images).
        fractions: train, dev and test fractions.
    """
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    train, rest = train_test_split(
        indices, train_size=fractions[0], stratify=labels, random_state=split_seed
    )
    dev_share = fractions[1] / (fractions[1] + fractions[2])
    dev, test = train_test_split(rest, train_size=dev_share, stratify=labels[rest], random_state=split_seed)
    return {"train": np.sort(train), "dev": np.sort(dev), "test": np.sort(test)}


def digits_arrays(split="train", split_seed=0, classes=None):
    """Returns ``(images, labels)`` of a digits split as NumPy arrays.

    Images are float32 ``(N, 8, 8, 1)`` in ``[0, 255]``; labels int32.

    Args:
        split: ``"train"``, ``"dev"``, ``"test"`` or ``"all"``.
        split_seed: seed of the stratified split.
        classes: optional list of digits to keep (labels keep their digit value).
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images.astype(np.float32) * (255.0 / 16.0))[..., None]
    labels = bunch.target.astype(np.int32)
    if split != "all":
        keep = digits_split_indices(labels, split_seed)[split]
        images, labels = images[keep], labels[keep]
    if classes is not None:
        mask = np.isin(labels, list(classes))
        images, labels = images[mask], labels[mask]
    return images, labels


def load_digits(
    split="train",
    *,
    image_size=None,
    batch_size=32,
    shuffle=False,
    seed=0,
    channels=None,
    normalize=True,
    cache=True,
    split_seed=0,
    classes=None,
):
    """Loads scikit-learn's digits as ``(tf.data.Dataset, DatasetInfo)``.

    See :func:`dlkit.data.load` for the arguments; ``split_seed`` fixes the
    stratified split and ``classes`` keeps only some digits.
    """
    images, labels = digits_arrays(split, split_seed, classes)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.map(
        lambda image, label: (pipeline.prepare_image(image, image_size, channels, normalize), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    height, width = image_size or (8, 8)
    info = DatasetInfo(
        name="digits",
        num_classes=10,
        class_names=[str(digit) for digit in range(10)],
        image_shape=(height, width, channels or 1),
        num_examples=len(labels),
        source="builtin",
        adapter=DIGITS_ADAPTER,
    )
    dataset = pipeline.finish(
        dataset, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=cache, num_examples=len(labels)
    )
    return dataset, info
