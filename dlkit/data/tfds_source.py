"""TFDS image-classification sets, with a fast, clear failure when offline.

Offline, ``tfds.load`` of a dataset that is not prepared retries its download for
minutes before failing. ``load_tfds`` checks first: a prepared copy in
``data_dir`` is used as is; otherwise the download host must answer within a few
seconds, else a :class:`~dlkit.errors.DatasetError` names the dataset and
``--data-dir``.
"""

import socket

import tensorflow as tf

from dlkit.data import DatasetInfo, pipeline, unknown_dataset_error
from dlkit.errors import ConfigError, DatasetError

DOWNLOAD_HOST = ("storage.googleapis.com", 443)
# Light strokes on black (see dlkit.data.adapter): MNIST centres each digit's 20x20 box in 28x28.
INK_ADAPTERS = {
    "mnist": {"polarity": "light_on_dark", "framing": "content", "margin": 4 / 28, "content_size": (28, 28)},
    "emnist": {"polarity": "light_on_dark"},
    "kmnist": {"polarity": "light_on_dark"},
    "fashion_mnist": {"polarity": "light_on_dark"},
}


def network_available(address=DOWNLOAD_HOST, timeout=3.0):
    """Returns whether a TCP connection to ``address`` opens within ``timeout`` seconds."""
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def split_spec(split, available):
    """Maps dlkit's train/dev/test/all onto the splits a TFDS set has.

    Sets without a validation split lend 10% of ``train`` to ``dev``; sets with
    only ``train`` are cut 70/15/15.

    Args:
        split: ``"train"``, ``"dev"``, ``"test"`` or ``"all"``.
        available: the TFDS split names of the set (empty when unknown).
    """
    available = set(available) or {"train", "test"}
    if split == "all":
        return "+".join(sorted(available))
    if {"train", "validation", "test"} <= available:
        return {"train": "train", "dev": "validation", "test": "test"}[split]
    if {"train", "test"} <= available:
        return {"train": "train[:90%]", "dev": "train[90%:]", "test": "test"}[split]
    if "train" in available:
        return {"train": "train[:70%]", "dev": "train[70%:85%]", "test": "train[85%:]"}[split]
    raise DatasetError(f"The dataset has no train split; it has {sorted(available)}. Received: split={split!r}")


def load_tfds(
    name,
    split="train",
    *,
    data_dir=None,
    image_size=None,
    batch_size=32,
    shuffle=False,
    seed=0,
    channels=None,
    normalize=True,
    cache=True,
):
    """Loads a TFDS image-classification set; see :func:`dlkit.data.load`."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise unknown_dataset_error(name) from error
    features = builder.info.features
    if not builder.info.supervised_keys or "label" not in features or "image" not in features:
        raise DatasetError(
            f"{name} is not an image-classification dataset (it needs 'image' and 'label' features). "
            f"Received: dataset={name!r}"
        )
    ensure_prepared(builder, name, data_dir)

    dataset = builder.as_dataset(split=split_spec(split, builder.info.splits.keys()), as_supervised=True)
    native = tuple(features["image"].shape)
    if image_size is None and None in native[:2]:
        raise ConfigError(
            f"{name}'s images vary in size: pass image_size (e.g. --image-size 224). Received: image_size=None"
        )
    dataset = dataset.map(
        lambda image, label: (
            pipeline.prepare_image(image, image_size, channels, normalize),
            tf.cast(label, tf.int32),
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    cardinality = int(dataset.cardinality())
    num_examples = cardinality if cardinality >= 0 else None
    label_names = list(features["label"].names)
    height, width = image_size or native[:2]
    info = DatasetInfo(
        name=name,
        num_classes=len(label_names),
        class_names=label_names,
        image_shape=(height, width, channels or native[2]),
        num_examples=num_examples,
        source="tfds",
        adapter=dict(INK_ADAPTERS.get(name.split("/")[0].split(":")[0], {})),
    )
    dataset = pipeline.finish(
        dataset, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=cache, num_examples=num_examples
    )
    return dataset, info


def ensure_prepared(builder, name, data_dir):
    """Downloads and prepares ``builder`` unless it is ready; fails fast offline."""
    if builder.is_prepared():
        return
    if not network_available():
        where = data_dir or "~/tensorflow_datasets"
        raise DatasetError(
            f"TFDS dataset {name!r} is not prepared in {where} and its download host cannot be reached. "
            f"Connect to the network, or prepare it elsewhere and pass that folder with --data-dir. "
            f"Received: dataset={name!r}, data_dir={data_dir!r}"
        )
    builder.download_and_prepare()
