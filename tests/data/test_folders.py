"""Image folders: splits, fixed channels, and bad files found before training."""

import io

import numpy as np
import pytest
from PIL import Image

from dlkit import data
from dlkit.errors import ConfigError, DatasetError, ImageError


def make_folder(root, per_class=10, size=(20, 16)):
    rng = np.random.default_rng(0)
    for class_index, name in enumerate(["cats", "dogs"]):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            # Alternate grayscale PNGs and RGB JPEGs so the channel count must be forced.
            if index % 2:
                pixels = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / name / f"{index}.jpg")
            else:
                pixels = np.full(size, 60 + 120 * class_index, np.uint8)
                Image.fromarray(pixels, "L").save(root / name / f"{index}.png")
    (root / "cats" / "notes.txt").write_text("not an image and not listed")
    return root


def add_bad_files(root):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(buffer, "JPEG")
    truncated = root / "cats" / "truncated.jpg"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    fake = root / "dogs" / "fake.jpg"
    fake.write_text("this is a text file with a .jpg name")
    return truncated, fake


def test_folder_splits_cover_every_file_once(tmp_path):
    root = make_folder(tmp_path / "pets")
    counts = {}
    labels = []
    for split in ("train", "dev", "test"):
        dataset, info = data.load(str(root), split, image_size=8, batch_size=None)
        counts[split] = info.num_examples
        labels.extend(int(label) for _, label in dataset)
    assert sum(counts.values()) == 20 and counts == {"train": 14, "dev": 4, "test": 2}
    assert labels.count(0) == 10 and labels.count(1) == 10
    assert info.class_names == ["cats", "dogs"] and info.source == "folder"


def test_folder_images_get_a_fixed_channel_count(tmp_path):
    root = make_folder(tmp_path / "pets")
    dataset, info = data.load(str(root), "all", image_size=(12, 10), batch_size=4)
    images, _ = next(iter(dataset))
    assert images.shape == (4, 12, 10, 3) and info.image_shape == (12, 10, 3)
    gray, info = data.load(str(root), "all", image_size=8, batch_size=20, channels=1)
    images, labels = next(iter(gray))
    assert images.shape == (20, 8, 8, 1)
    # A grayscale PNG of value 60 stays 60/255 after decoding as RGB and converting back.
    values = images.numpy()[labels.numpy() == 0]
    assert np.isclose(values.max(axis=(1, 2, 3)), 60 / 255, atol=0.01).any()


def test_bad_files_are_named_before_training(tmp_path):
    root = make_folder(tmp_path / "pets")
    truncated, fake = add_bad_files(root)
    with pytest.raises(ImageError) as error:
        data.load(str(root), image_size=8)
    assert str(truncated) in str(error.value) and str(fake) in str(error.value)
    assert "skip_bad_images" in str(error.value)


def test_bad_files_are_skipped_with_a_warning_when_asked(tmp_path):
    root = make_folder(tmp_path / "pets")
    add_bad_files(root)
    with pytest.warns(UserWarning, match="Skipping 2 unreadable"):
        dataset, info = data.load(str(root), "all", image_size=8, skip_bad_images=True)
    assert info.num_examples == 20
    assert sum(int(images.shape[0]) for images, _ in dataset) == 20


def test_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        data.load(str(tmp_path / "missing"), image_size=8)
    (tmp_path / "flat").mkdir()
    with pytest.raises(DatasetError, match="one sub-folder per class"):
        data.load(str(tmp_path / "flat"), image_size=8)
    root = make_folder(tmp_path / "pets")
    with pytest.raises(ConfigError, match="image_size"):
        data.load(str(root))


def test_formats_tensorflow_cannot_decode_go_through_pillow(tmp_path):
    # A TIFF saved as .jpg (a phone export, a renamed scan) and a WebP: TensorFlow's decoders reject both, which
    # used to kill the first epoch with an unnamed error even though the image check had passed.
    root = tmp_path / "mixed"
    rng = np.random.default_rng(1)
    expected = {}
    for name, form, suffix in (("cats", "TIFF", ".jpg"), ("dogs", "WEBP", ".webp")):
        (root / name).mkdir(parents=True)
        for index in range(7):
            pixels = rng.integers(0, 255, (9, 11, 3), dtype=np.uint8)
            path = root / name / f"{index}{suffix}"
            Image.fromarray(pixels).save(path, form, **({"lossless": True} if form == "WEBP" else {}))
            expected[str(path)] = pixels
    dataset, info = data.load(str(root), "all", image_size=(9, 11), batch_size=None, shuffle=False,
                              normalize=False)
    images = np.stack([image for image, _ in dataset.as_numpy_iterator()])
    assert info.num_classes == 2 and len(images) == 14
    reference = np.stack([expected[path] for path in sorted(expected)]).astype(np.float32)
    np.testing.assert_array_equal(images, reference)  # files in class-then-name order, pixels exactly Pillow's
