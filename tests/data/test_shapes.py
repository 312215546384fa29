"""Synthetic shapes: determinism, boxes that match the pixels, in-frame objects, the tf.data loader."""

import numpy as np
import pytest

from dlkit.data import shapes
from dlkit.errors import ConfigError


@pytest.fixture(scope="module")
def plain():
    """Flat backgrounds and no noise, so every pixel's owner can be read from its colour."""
    return shapes.generate(
        120, classes=shapes.SHAPES, max_objects=5, seed=3, background="plain", landmarks=True, return_masks=True
    )


def test_same_seed_same_arrays_and_prefix_stable():
    first = shapes.generate(20, seed=7, landmarks=True)
    second = shapes.generate(20, seed=7, landmarks=True)
    shorter = shapes.generate(5, seed=7, landmarks=True)
    other = shapes.generate(20, seed=8, landmarks=True)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
        np.testing.assert_array_equal(first[key][:5], shorter[key])
    assert not np.array_equal(first["images"], other["images"])


def test_shapes_dtypes_and_padding():
    arrays = shapes.generate(30, image_size=(48, 40), max_objects=3, landmarks=True)
    assert arrays["images"].shape == (30, 48, 40, 3) and arrays["images"].dtype == np.float32
    assert arrays["images"].min() >= 0 and arrays["images"].max() <= 1
    assert arrays["boxes"].shape == (30, 3, 4) and arrays["labels"].dtype == np.int32
    assert arrays["landmarks"].shape == (30, 3, 3, 2)
    padding = arrays["labels"] < 0
    assert np.all(arrays["boxes"][padding] == -1) and np.all(arrays["landmarks"][padding] == -1)
    counts = (~padding).sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 3
    # Objects fill slots from the front.
    np.testing.assert_array_equal(padding, np.arange(3)[None, :] >= counts[:, None])
    # The multi-label vector is the set of labels present.
    expected = np.zeros((30, 3), np.float32)
    for index, row in enumerate(arrays["labels"]):
        expected[index, row[row >= 0]] = 1
    np.testing.assert_array_equal(arrays["multilabel"], expected)


def test_each_object_is_one_flat_colour_and_background_is_untouched(plain):
    for image, mask in zip(plain["images"], plain["masks"]):
        background = image[mask < 0]
        assert len(background) and np.all(background == background[0])
        for slot in np.unique(mask[mask >= 0]):
            pixels = image[mask == slot]
            assert np.all(pixels == pixels[0])
            assert not np.array_equal(pixels[0], background[0])


def test_boxes_tightly_enclose_the_visible_pixels(plain):
    height, width = plain["images"].shape[1:3]
    for image, mask, boxes, labels in zip(plain["images"], plain["masks"], plain["boxes"], plain["labels"]):
        for slot in np.flatnonzero(labels >= 0):
            # The owner of a pixel is read from its colour: the object's own flat colour.
            colour = image[mask == slot][0]
            rows, columns = np.nonzero(np.all(image == colour, axis=-1))
            expected = [columns.min() / width, rows.min() / height, (columns.max() + 1) / width, (rows.max() + 1) / height]
            np.testing.assert_allclose(boxes[slot], expected, atol=1e-6)


def test_single_object_box_equals_the_non_background_pixels():
    arrays = shapes.generate(60, classes=shapes.SHAPES, min_objects=1, max_objects=1, seed=5, background="plain")
    for image, box in zip(arrays["images"], arrays["boxes"][:, 0]):
        colours, counts = np.unique(image.reshape(-1, 3), axis=0, return_counts=True)
        background = colours[np.argmax(counts)]
        rows, columns = np.nonzero(np.any(image != background, axis=-1))
        size = image.shape[0]
        np.testing.assert_allclose(
            box, [columns.min() / size, rows.min() / size, (columns.max() + 1) / size, (rows.max() + 1) / size]
        )


def test_objects_lie_inside_the_frame_and_stay_visible(plain):
    present = plain["labels"] >= 0
    boxes = plain["boxes"][present]
    assert np.all((boxes >= 0) & (boxes <= 1))
    assert np.all(boxes[:, 2] > boxes[:, 0]) and np.all(boxes[:, 3] > boxes[:, 1])
    points = plain["landmarks"][present]
    assert np.all((points >= 0) & (points <= 1))
    # Round shapes: centre +- radius (from the top landmark) inside the frame.
    round_ = np.isin(plain["labels"][present], [shapes.SHAPES.index("circle"), shapes.SHAPES.index("ring")])
    centre, top = points[round_, 0], points[round_, 1]
    radius = centre[:, 1] - top[:, 1]
    assert np.all(centre - radius[:, None] >= -1e-6) and np.all(centre + radius[:, None] <= 1 + 1e-6)
    # Every placed object kept pixels visible.
    for mask, labels in zip(plain["masks"], plain["labels"]):
        visible = np.bincount(mask[mask >= 0].ravel(), minlength=len(labels))
        assert np.all(visible[labels >= 0] > 0)


def _foreground(image):
    """Pixel centres (x, y) in relative units of every pixel that is not the (flat) background colour."""
    colours, counts = np.unique(image.reshape(-1, 3), axis=0, return_counts=True)
    rows, columns = np.nonzero(np.any(image != colours[np.argmax(counts)], axis=-1))
    return np.stack([columns + 0.5, rows + 0.5], axis=1) / image.shape[0]


def test_landmarks_match_unoccluded_shapes():
    arrays = shapes.generate(
        90, classes=("square", "triangle", "circle"), max_objects=1, seed=2, landmarks=True, background="plain"
    )
    half_pixel = 0.5 / arrays["images"].shape[1]
    for image, box, label, points in zip(
        arrays["images"], arrays["boxes"][:, 0], arrays["labels"][:, 0], arrays["landmarks"][:, 0]
    ):
        centres = _foreground(image)
        if label == 0:  # square: top-left and bottom-right corners are the box
            np.testing.assert_allclose(box, [*points[0], *points[2]], atol=1e-6)
            np.testing.assert_allclose(points[1], [points[2][0], points[0][1]], atol=1e-6)
            continue
        if label == 1:  # triangle: every drawn pixel centre lies inside the corners' triangle
            low, high = points.min(axis=0), points.max(axis=0)
            for first, second in ((0, 1), (1, 2), (2, 0)):
                edge, offset = points[second] - points[first], centres - points[first]
                # Clockwise on screen (y down) puts the inside on the right: a non-negative cross product.
                assert np.all(edge[0] * offset[:, 1] - edge[1] * offset[:, 0] >= -1e-5)
        else:  # circle: every drawn pixel centre lies within the radius
            radius = points[0][1] - points[1][1]
            np.testing.assert_allclose(points[2], points[0] + [radius, 0], atol=1e-6)
            assert np.all(np.linalg.norm(centres - points[0], axis=1) <= radius + 1e-5)
            low, high = points[0] - radius, points[0] + radius
        # Pixel edges sit half a pixel beyond the pixel centres inside the shape.
        assert np.all(box[:2] >= low - half_pixel - 1e-6) and np.all(box[2:] <= high + half_pixel + 1e-6)


def test_empty_and_degenerate_requests():
    empty = shapes.generate(0)
    assert empty["images"].shape == (0, 64, 64, 3) and empty["boxes"].shape == (0, 4, 4)
    no_objects = shapes.generate(4, min_objects=0, max_objects=1, seed=11)
    assert np.all(no_objects["multilabel"].sum(axis=1) == (no_objects["labels"][:, 0] >= 0))
    with pytest.raises(ConfigError, match=r"Received: classes=\('hexagon',\)"):
        shapes.generate(2, classes=("hexagon",))
    with pytest.raises(ConfigError, match="Received: max_objects=0"):
        shapes.generate(2, min_objects=0, max_objects=0)
    with pytest.raises(ConfigError, match="Received: image_size=8"):
        shapes.generate(2, image_size=8)


def test_load_tasks_and_disjoint_splits():
    train, info = shapes.load("train", task="detection", num_images=40, batch_size=8, landmarks=True)
    images, targets = next(iter(train))
    assert tuple(images.shape) == (8, 64, 64, 3)
    assert tuple(targets["boxes"].shape) == (8, 4, 4) and tuple(targets["labels"].shape) == (8, 4)
    assert tuple(targets["landmarks"].shape) == (8, 4, 3, 2)
    assert info.num_classes == 3 and list(info.class_names) == ["circle", "square", "triangle"]
    assert info.num_examples == 40 and tuple(info.image_shape) == (64, 64, 3)

    test, _ = shapes.load("test", task="detection", num_images=40, batch_size=None)
    train_images = np.stack([image for image, _ in train.unbatch().as_numpy_iterator()])
    test_images = np.stack([image for image, _ in test.as_numpy_iterator()])
    assert not any(np.array_equal(a, b) for a in train_images for b in test_images)

    localization, _ = shapes.load("dev", task="localization", num_images=64, batch_size=None)
    vectors = np.stack([target for _, target in localization.as_numpy_iterator()])
    assert vectors.shape == (64, 8)
    present = vectors[:, 0] == 1
    assert 0 < present.sum() < 64
    np.testing.assert_array_equal(vectors[present, 5:].sum(axis=1), 1)
    assert np.all(vectors[~present, 1:5] == -1) and np.all(vectors[~present, 5:] == 0)

    multilabel, _ = shapes.load("train", num_images=500, batch_size=None, missing_rate=0.3, channels=1)
    labels = np.stack([target for _, target in multilabel.as_numpy_iterator()])
    assert abs((labels == -1).mean() - 0.3) < 0.05
    assert set(np.unique(labels)) == {-1.0, 0.0, 1.0}
    assert next(iter(multilabel))[0].shape[-1] == 1


def test_load_rejects_bad_options():
    with pytest.raises(ConfigError, match="Received: task='segmentation'"):
        shapes.load(task="segmentation")
    with pytest.raises(ConfigError, match="Received: max_objects=3"):
        shapes.load(task="localization", max_objects=3)
    with pytest.raises(ConfigError, match="colour"):
        shapes.load(colour="red")


def test_registered_with_dlkit_data_load():
    from dlkit import data

    dataset, info = data.load("shapes", "test", image_size=32, batch_size=4, num_images=8, task="localization")
    images, targets = next(iter(dataset))
    assert tuple(images.shape) == (4, 32, 32, 3) and tuple(targets.shape) == (4, 8)
    assert info.name == "shapes" and info.num_examples == 8
    direct = shapes.generate(8, image_size=32, seed=shapes.split_seed(0, "test"), min_objects=0, max_objects=1)
    np.testing.assert_array_equal(images.numpy(), direct["images"][:4])
