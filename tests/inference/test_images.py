"""Reading a user's image files: every mode Pillow knows, EXIF orientation, and clear errors."""

import numpy as np
import pytest
from PIL import Image

from dlkit.errors import ConfigError, ImageError
from dlkit.inference import images


def test_modes_come_back_with_their_own_channels(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (12, 9, 3), dtype=np.uint8)
    cases = {
        "grey.png": (Image.fromarray(rgb[..., 0]), 1),
        "grey_alpha.png": (Image.fromarray(rgb[..., :2], "LA"), 2),
        "rgb.jpg": (Image.fromarray(rgb), 3),
        "rgba.png": (Image.fromarray(np.dstack([rgb, rgb[..., :1]]), "RGBA"), 4),
        "palette.gif": (Image.fromarray(rgb).convert("P"), 3),
        "bits.bmp": (Image.fromarray(rgb[..., 0] > 127), 1),
        "cmyk.jpg": (Image.fromarray(rgb).convert("CMYK"), 3),
        "scan.tiff": (Image.fromarray(rgb), 3),
        "photo.webp": (Image.fromarray(rgb), 3),
    }
    for name, (picture, channels) in cases.items():
        picture.save(tmp_path / name)
        pixels = images.read_image(tmp_path / name)
        assert pixels.dtype == np.float32 and pixels.shape == (12, 9, channels), name
        assert 0 <= pixels.min() and pixels.max() <= 255, name
    np.testing.assert_array_equal(images.read_image(tmp_path / "grey.png")[..., 0], rgb[..., 0])
    np.testing.assert_array_equal(images.read_image(tmp_path / "rgba.png")[..., 3], rgb[..., 0])


def test_sixteen_bit_images_are_scaled_to_255(tmp_path):
    deep = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1024)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    pixels = images.read_image(tmp_path / "deep.png")
    assert pixels.shape == (8, 8, 1)
    np.testing.assert_allclose(pixels[..., 0], deep * (255.0 / 65535.0), atol=1e-3)


def test_exif_orientation_is_applied(tmp_path):
    picture = Image.fromarray(np.zeros((10, 30, 3), np.uint8))  # wide as stored
    exif = picture.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view", as phones write it
    picture.save(tmp_path / "phone.jpg", exif=exif)
    assert images.read_image(tmp_path / "phone.jpg").shape == (30, 10, 3)  # tall as seen


def test_unreadable_files_are_image_errors(tmp_path):
    (tmp_path / "text.png").write_text("hello")
    (tmp_path / "empty.jpg").write_bytes(b"")
    truncated = tmp_path / "cut.jpg"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    for name in ("text.png", "empty.jpg", "cut.jpg", "absent.png"):
        with pytest.raises(ImageError, match=name):
            images.read_image(tmp_path / name)


def test_folders_expand_to_their_images_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    for name in ("b/2.png", "1.jpg", "notes.txt"):
        path = tmp_path / name
        if name.endswith(".txt"):
            path.write_text("x")
        else:
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)
    found = images.expand_inputs([tmp_path])
    assert [path.relative_to(tmp_path).as_posix() for path in found] == ["1.jpg", "b/2.png"]
    with pytest.raises(ImageError, match="No such image file or folder"):
        images.expand_inputs([tmp_path / "missing"])
    (tmp_path / "none").mkdir()
    with pytest.raises(ImageError, match="No images"):
        images.expand_inputs([tmp_path / "none"])


def test_arrays_are_checked_and_keep_their_place(tmp_path):
    Image.fromarray(np.full((4, 4), 9, np.uint8)).save(tmp_path / "a.png")
    loaded = images.load_inputs([np.zeros((5, 5), np.uint8), str(tmp_path / "a.png"), np.ones((2, 3, 3)) * 200])
    assert [name for name, _ in loaded] == ["array[0]", str(tmp_path / "a.png"), "array[2]"]
    assert loaded[0][1].shape == (5, 5, 1) and loaded[2][1].shape == (2, 3, 3)
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        images.as_pixels(np.full((3, 3), 0.7))
    with pytest.raises(ConfigError, match="channels"):
        images.as_pixels(np.zeros((3, 3, 5)))
    with pytest.raises(ConfigError, match="non-finite"):
        images.as_pixels(np.full((3, 3), np.nan))
    with pytest.raises(ConfigError, match="empty"):
        images.load_inputs([])
