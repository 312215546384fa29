"""Tests of the offline digits set and the load() front door."""

import numpy as np
import pytest

from dlkit import data
from dlkit.data import builtin
from dlkit.errors import ConfigError, DatasetError


def test_digits_split_is_stratified_disjoint_and_complete():
    from sklearn.datasets import load_digits

    labels = load_digits().target
    parts = builtin.digits_split_indices(labels, split_seed=0)
    train, dev, test = parts["train"], parts["dev"], parts["test"]
    assert not (set(train) & set(dev) or set(train) & set(test) or set(dev) & set(test))
    assert len(train) + len(dev) + len(test) == len(labels) == 1797
    assert (len(train), len(dev), len(test)) == (1257, 270, 270)
    overall = np.bincount(labels) / len(labels)
    for part in (train, dev, test):
        share = np.bincount(labels[part], minlength=10) / len(part)
        assert np.abs(share - overall).max() < 0.01  # stratified: every class in proportion


def test_digits_split_is_seeded():
    from sklearn.datasets import load_digits

    labels = load_digits().target
    first = builtin.digits_split_indices(labels, split_seed=3)
    again = builtin.digits_split_indices(labels, split_seed=3)
    other = builtin.digits_split_indices(labels, split_seed=4)
    assert all(np.array_equal(first[key], again[key]) for key in first)
    assert not np.array_equal(first["test"], other["test"])


def test_load_digits_resizes_normalizes_and_batches():
    dataset, info = data.load("digits", "test", image_size=32, batch_size=50)
    images, labels = next(iter(dataset))
    assert images.shape == (50, 32, 32, 1) and images.dtype == "float32"
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0
    assert info.num_classes == 10 and info.image_shape == (32, 32, 1) and info.num_examples == 270
    raw, _ = data.load("digits", "test", batch_size=None, normalize=False, channels=3)
    image, _ = next(iter(raw))
    assert image.shape == (8, 8, 3) and float(image.numpy().max()) > 100  # [0, 255] range


def test_test_split_order_is_stable_and_train_is_shuffled():
    first = np.concatenate([y.numpy() for _, y in data.load("digits", "test")[0]])
    again = np.concatenate([y.numpy() for _, y in data.load("digits", "test")[0]])
    assert np.array_equal(first, again)
    train = data.load("digits", "train", seed=1)[0]
    epoch1 = np.concatenate([y.numpy() for _, y in train])
    epoch2 = np.concatenate([y.numpy() for _, y in train])
    assert not np.array_equal(epoch1, epoch2)  # reshuffled each epoch
    assert sorted(epoch1) == sorted(epoch2)


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="Received: split='validate'"):
        data.load("digits", "validate")
    with pytest.raises(ConfigError, match="channels"):
        data.load("digits", channels=2)
    with pytest.raises(ConfigError, match="image_size"):
        data.load("digits", image_size=(0, 3))


def test_unknown_dataset_lists_builtins():
    with pytest.raises(DatasetError, match="digits") as error:
        data.load("no_such_dataset_xyz")
    assert "Received: dataset='no_such_dataset_xyz'" in str(error.value)
