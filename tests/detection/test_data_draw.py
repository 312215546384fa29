import numpy as np
import pytest
import tensorflow_datasets as tfds

from dlkit.data import tfds_source
from dlkit.detection import data, draw
from dlkit.errors import DatasetError


def test_voc_path_with_mock_data(monkeypatch):
    monkeypatch.setattr(tfds_source, "network_available", lambda *a, **k: True)
    with tfds.testing.mock_data(num_examples=4):
        dataset, info = data.load("voc/2007", "train", image_size=64, batch_size=2, max_objects=10)
        images, targets = next(iter(dataset))
    assert info.num_classes == 20 and info.class_names[0] == "aeroplane"
    assert images.shape == (2, 64, 64, 3) and targets["boxes"].shape == (2, 10, 4)
    boxes, labels = targets["boxes"].numpy(), targets["labels"].numpy()
    real = labels >= 0
    assert np.all(boxes[~real] == -1)
    assert np.all((boxes[real] >= 0) & (boxes[real] <= 1))
    assert np.all(boxes[real][:, 2] >= boxes[real][:, 0]) and np.all(boxes[real][:, 3] >= boxes[real][:, 1])


def test_tfds_not_prepared_offline_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "network_available", lambda *a, **k: False)
    with pytest.raises(DatasetError, match="voc/2007"):
        data.load("voc/2007", "train", data_dir=str(tmp_path))


def test_plot_detections(tmp_path):
    images = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype(np.float32)
    boxes = np.array([[[0.1, 0.1, 0.5, 0.5], [-1, -1, -1, -1]]] * 2, np.float32)
    labels = np.array([[0, -1], [1, -1]])
    path = draw.plot_detections(tmp_path / "d.png", images, boxes, labels, np.array([[0.9, -1], [0.5, -1]]),
                                boxes, labels, class_names=["a", "b"])
    assert path.stat().st_size > 1000
