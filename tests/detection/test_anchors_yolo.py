import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit.detection import anchors as anchor_utils
from dlkit.detection import boxes as box_utils
from dlkit.detection import yolo
from dlkit.errors import ConfigError


def test_kmeans_recovers_known_clusters():
    rng = np.random.default_rng(0)
    centers = np.array([[0.05, 0.08], [0.2, 0.1], [0.3, 0.5]])
    sizes = np.concatenate([c * rng.uniform(0.97, 1.03, (200, 2)) for c in centers])
    found, mean_iou = anchor_utils.kmeans_anchors(sizes, 3, seed=0)
    np.testing.assert_allclose(found, centers, rtol=0.02)  # sorted by area, as the centers are
    assert mean_iou > 0.9
    again, _ = anchor_utils.kmeans_anchors(sizes, 3, seed=0)
    np.testing.assert_array_equal(found, again)


ANCHORS = np.array([[0.1, 0.1], [0.3, 0.2], [0.5, 0.6]], np.float32)


def test_encode_decode_round_trip_and_collisions():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 0.6, (2, 6, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(0.02, 0.4, (2, 6, 2))], -1).astype(np.float32)
    boxes[1, 4:] = -1
    labels = rng.integers(0, 3, (2, 6)).astype(np.int32)
    labels[1, 4:] = -1
    targets, collisions = yolo.encode_targets(boxes, labels, 8, ANCHORS, 3, return_collisions=True)
    decoded, decoded_labels = yolo.decode_targets(targets, ANCHORS)
    for image in range(2):
        real = labels[image] >= 0
        got = np.asarray(decoded[image])[np.asarray(decoded_labels[image]) >= 0]
        assert len(got) + int(collisions[image]) == real.sum()
        for box, label in zip(boxes[image][real], labels[image][real]):
            distance = np.abs(got - box).max(axis=1) if len(got) else np.array([1.0])
            if distance.min() > 1e-5:
                assert int(collisions[image]) > 0
    # Two identical-slot boxes: the larger wins, one collision counted, deterministic.
    pair = np.array([[0.40, 0.40, 0.50, 0.50], [0.41, 0.41, 0.50, 0.50]], np.float32)
    targets, collisions = yolo.encode_targets(pair, np.array([0, 1]), 4, ANCHORS, 3, return_collisions=True)
    boxes_back, labels_back = yolo.decode_targets(np.asarray(targets)[None], ANCHORS)
    kept = np.asarray(labels_back[0]) >= 0
    assert int(collisions) == 1 and np.asarray(labels_back[0])[kept].tolist() == [0]
    np.testing.assert_allclose(np.asarray(boxes_back[0])[kept][0], pair[0], atol=1e-6)


def test_degenerate_boxes_are_ignored():
    boxes = np.array([[0.3, 0.3, 0.3, 0.5], [0.2, 0.2, 0.1, 0.4], [-1, -1, -1, -1]], np.float32)
    targets = yolo.encode_targets(boxes, np.array([0, 1, -1]), 4, ANCHORS, 2)
    assert float(np.asarray(targets)[..., 4].sum()) == 0.0 and np.all(np.isfinite(targets))


def test_loss_finite_on_edge_cases_and_save_round_trip(tmp_path):
    model = yolo.yolo_detector(input_size=(32, 32), anchors=ANCHORS, num_classes=2,
                               backbone_options={"widths": (8, 8), "final_width": 8})
    assert model.output_shape == (None, 8, 8, 3, 7)
    boxes = np.array([[[-1] * 4] * 2,  # empty image
                      [[0.5, 0.5, 0.5001, 0.5001], [-1] * 4],  # tiny box
                      [[0.9, 0.0, 1.0, 1.0], [0.0, 0.95, 1.0, 1.0]]], np.float32)  # edge boxes
    labels = np.where(boxes[..., 0] >= 0, 1, -1).astype(np.int32)
    targets = yolo.encode_targets(boxes, labels, 8, ANCHORS, 2)
    loss = yolo.YoloLoss(ANCHORS)
    images = np.random.default_rng(0).uniform(size=(3, 32, 32, 3)).astype(np.float32)
    per_image = np.asarray(loss.call(targets, model(images)))
    assert np.all(np.isfinite(per_image)) and per_image[0] > 0
    wild = np.full((3, 8, 8, 3, 7), 80.0, np.float32)
    assert np.all(np.isfinite(np.asarray(loss.call(targets, wild))))
    model.compile(optimizer="adam", loss=loss)
    model.fit(images, targets, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(model(images)))
    assert loaded.loss.get_config() == loss.get_config()


def test_decode_formula():
    predictions = np.zeros((1, 2, 2, 1, 7), np.float32)
    predictions[0, 1, 0, 0, :4] = [0.0, 0.0, np.log(2.0), 0.0]  # cell row 1, column 0
    boxes, scores = yolo.decode(predictions, np.array([[0.25, 0.5]]))
    cx, cy, w, h = (0.5 + 0) / 2, (0.5 + 1) / 2, 0.5, 0.5
    np.testing.assert_allclose(np.asarray(boxes)[0, 2], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], atol=1e-6)
    np.testing.assert_allclose(np.asarray(scores)[0, 0], [0.5 * 0.5, 0.5 * 0.5], atol=1e-6)


def test_mobilenet_backbone():
    backbone = keras.applications.MobileNetV2(input_shape=(64, 64, 3), alpha=0.35, include_top=False, weights=None)
    model = yolo.yolo_detector(backbone, input_size=(64, 64), anchors=ANCHORS, num_classes=4)
    assert model.output_shape == (None, 2, 2, 3, 9)


def test_non_finite_and_outside_boxes_are_ignored_like_padding():
    good = [0.2, 0.3, 0.45, 0.6]
    expected = np.asarray(yolo.encode_targets(np.array([good, [-1] * 4], np.float32), np.array([0, -1]), 4, ANCHORS, 2))
    graph = tf.function(lambda b, l: yolo.encode_targets(b, l, 4, ANCHORS, 2))  # as in a tf.data map
    for bad in ([np.inf, 0.1, 0.5, 0.5], [0.1, 0.1, np.inf, 0.5], [np.nan, 0.1, 0.5, 0.5], [0.1, -np.inf, 0.5, 0.5],
                [1.2, 0.3, 1.5, 0.6],  # wholly right of the image (encoded with tx = 3.0 before)
                [-0.5, -0.4, -0.1, 0.3],  # wholly left of it (not padding: one coordinate is positive)
                [0.2, 1.0, 0.4, 1.3]):  # touching the bottom edge from outside: no area inside
        boxes = np.array([good, bad], np.float32)
        targets, collisions = yolo.encode_targets(boxes, np.array([0, 1]), 4, ANCHORS, 2, return_collisions=True)
        np.testing.assert_array_equal(np.asarray(targets), expected, err_msg=str(bad))
        assert int(collisions) == 0 and np.all(np.isfinite(targets))
        np.testing.assert_array_equal(np.asarray(graph(boxes, np.array([0, 1]))), expected, err_msg=str(bad))
    assert expected[..., 4].sum() == 1.0
    # The comparison can fail: a second box inside the image is encoded.
    inside = yolo.encode_targets(np.array([good, [0.6, 0.6, 0.9, 0.8]], np.float32), np.array([0, 1]), 4, ANCHORS, 2)
    assert np.asarray(inside)[..., 4].sum() == 2.0


def test_partly_outside_box_is_encoded_as_its_clipped_box():
    boxes = np.array([[0.7, -0.2, 1.3, 0.4], [-0.1, 0.5, 0.3, 1.2]], np.float32)
    clipped = np.asarray(box_utils.clip(boxes))
    np.testing.assert_allclose(clipped, [[0.7, 0.0, 1.0, 0.4], [0.0, 0.5, 0.3, 1.0]])
    targets = np.asarray(yolo.encode_targets(boxes, np.array([0, 1]), 4, ANCHORS, 2))
    np.testing.assert_array_equal(targets, np.asarray(yolo.encode_targets(clipped, np.array([0, 1]), 4, ANCHORS, 2)))
    offsets = targets[..., :2][targets[..., 4] == 1]
    assert len(offsets) == 2 and np.all((offsets >= 0) & (offsets <= 1))  # inside the assigned cell


def test_bad_grid_size_and_anchors_raise_config_error():
    boxes, labels = np.array([[0.1, 0.1, 0.4, 0.4]], np.float32), np.array([0])
    for grid_size in (0, -2, (0, 4), (4, 0), 2.5, (4,), "4", None):
        with pytest.raises(ConfigError, match=r"grid_size must be .* Received: grid_size="):
            yolo.encode_targets(boxes, labels, grid_size, ANCHORS, 2)
    assert np.asarray(yolo.encode_targets(boxes, labels, np.int64(3), ANCHORS, 2)).shape == (3, 3, 3, 7)
    assert np.asarray(yolo.encode_targets(boxes, labels, (2, 5), ANCHORS, 2)).shape == (2, 5, 3, 7)
    for bad in (np.nan, np.inf, -np.inf, 0.0, -0.1):
        anchors = ANCHORS.copy()
        anchors[1, 0] = bad
        with pytest.raises(ConfigError, match=r"finite, positive .* Received: anchors="):
            yolo.encode_targets(boxes, labels, 4, anchors, 2)
    for anchors in ([], [[0.1, 0.2, 0.3]], [[0.1, 0.2], [0.3]]):
        with pytest.raises(ConfigError, match="Received: anchors="):
            yolo.encode_targets(boxes, labels, 4, anchors, 2)
