import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from dlkit.data import tfds_source
from dlkit.detection import data, draw, yolo
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


def test_training_batches_flip_batch_and_encode():
    from dlkit import detection

    dataset, info = data.load("shapes", "train", image_size=32, batch_size=None, num_images=10, shuffle=False)
    anchors = np.array([[0.2, 0.2], [0.5, 0.5]], np.float32)
    options = {"batch_size": 4, "grid_size": 4, "anchors": anchors, "num_classes": info.num_classes}
    plain = list(detection.training_batches(dataset, flip=False, **options))
    assert [len(images) for images, _ in plain] == [4, 4, 2]
    examples = data.collect(dataset)
    images, targets = plain[0]
    np.testing.assert_array_equal(images.numpy(), examples["images"][:4])
    expected = yolo.encode_targets(examples["boxes"][:4], examples["labels"][:4], 4, anchors, info.num_classes)
    np.testing.assert_array_equal(targets.numpy(), np.asarray(expected))
    assert targets.shape == (4, 4, 4, 2, 5 + info.num_classes)
    # A flip mirrors image and boxes together: each example comes out as it was or as its mirror image.
    keras.utils.set_random_seed(0)
    flipped = [data.random_flip(image, target) for image, target in dataset.take(10)]
    mirrored = 0
    for (image, target), (original, truth) in zip(flipped, zip(examples["images"], examples["boxes"])):
        if np.array_equal(image.numpy(), original):
            np.testing.assert_array_equal(target["boxes"].numpy(), truth)
            continue
        mirrored += 1
        np.testing.assert_array_equal(image.numpy(), original[:, ::-1])
        real = truth[:, 0] >= 0
        mirror = np.stack([1.0 - truth[:, 2], truth[:, 1], 1.0 - truth[:, 0], truth[:, 3]], axis=-1)
        np.testing.assert_allclose(target["boxes"].numpy()[real], mirror[real], atol=1e-6)
        assert np.all(target["boxes"].numpy()[~real] == -1)
    assert 0 < mirrored < 10


def test_plot_detections(tmp_path):
    images = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype(np.float32)
    boxes = np.array([[[0.1, 0.1, 0.5, 0.5], [-1, -1, -1, -1]]] * 2, np.float32)
    labels = np.array([[0, -1], [1, -1]])
    path = draw.plot_detections(tmp_path / "d.png", images, boxes, labels, np.array([[0.9, -1], [0.5, -1]]),
                                boxes, labels, class_names=["a", "b"])
    assert path.stat().st_size > 1000
    path = draw.plot_detections(tmp_path / "e.png", images, boxes, labels, np.array([[0.9, -1], [0.5, -1]]),
                                class_names=["a", "b"], min_score=0.6)
    assert path.stat().st_size > 1000
