"""The TFDS path, offline: mock data, split mapping, and the fast offline failure."""

import socket

import pytest
import tensorflow_datasets as tfds

from dlkit import data
from dlkit.data import tfds_source
from dlkit.errors import ConfigError, DatasetError


def test_mnist_through_tfds_mock_data(monkeypatch, tmp_path):
    # The network check is its own unit (tested below); under mock data nothing downloads.
    monkeypatch.setattr(tfds_source, "network_available", lambda *args, **kwargs: True)
    with tfds.testing.mock_data(num_examples=20, data_dir=str(tmp_path)):
        dataset, info = data.load("mnist", "train", batch_size=8, image_size=32, channels=3, data_dir=str(tmp_path))
        images, labels = next(iter(dataset))
    assert info.source == "tfds" and info.num_classes == 10 and info.class_names[3] == "3"
    assert info.image_shape == (32, 32, 3)
    assert images.shape == (8, 32, 32, 3) and images.dtype == "float32"
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0
    assert labels.dtype == "int32" and 0 <= int(labels.numpy().min()) and int(labels.numpy().max()) <= 9


def test_variable_size_tfds_set_needs_image_size(monkeypatch, tmp_path):
    monkeypatch.setattr(tfds_source, "network_available", lambda *args, **kwargs: True)
    with tfds.testing.mock_data(num_examples=4, data_dir=str(tmp_path)):
        with pytest.raises(ConfigError, match="tf_flowers's images vary in size"):
            data.load("tf_flowers", data_dir=str(tmp_path))


def test_unprepared_dataset_offline_fails_fast_with_advice(monkeypatch, tmp_path):
    monkeypatch.setattr(tfds_source, "network_available", lambda *args, **kwargs: False)
    with pytest.raises(DatasetError) as error:
        data.load("mnist", data_dir=str(tmp_path))
    message = str(error.value)
    assert "'mnist'" in message and "--data-dir" in message and str(tmp_path) in message


def test_non_classification_tfds_set_is_refused():
    with pytest.raises(DatasetError, match="not an image-classification dataset"):
        data.load("imdb_reviews")


def test_network_check_is_false_for_a_closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert tfds_source.network_available(("127.0.0.1", port), timeout=1.0) is False


@pytest.mark.parametrize(
    "available, expected",
    [
        ({"train", "validation", "test"}, ("train", "validation", "test")),
        ({"train", "test"}, ("train[:90%]", "train[90%:]", "test")),
        ({"train"}, ("train[:70%]", "train[70%:85%]", "train[85%:]")),
    ],
)
def test_split_mapping(available, expected):
    assert tuple(tfds_source.split_spec(split, available) for split in ("train", "dev", "test")) == expected


def test_tfds_names_with_a_config_are_not_taken_for_folders(monkeypatch, tmp_path):
    # "imagenette/160px" contains a slash; it is a TFDS builder/config name unless such a folder exists.
    monkeypatch.setattr(tfds_source, "network_available", lambda *args, **kwargs: False)
    with pytest.raises(DatasetError) as error:
        data.load("imagenette/160px", image_size=32, data_dir=str(tmp_path))
    assert "'imagenette/160px'" in str(error.value) and "folder not found" not in str(error.value).lower()
    folder = tmp_path / "photos" / "cats"
    folder.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match="not found|no image|class"):
        data.load("photos/cats", image_size=32)  # an existing relative folder stays a folder
