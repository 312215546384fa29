"""Which photo is this crop from? A small real-image task from photos packages ship.

Eight colour photographs that scikit-learn and scikit-image install with
themselves (no download): ``china`` and ``flower`` (``sklearn.datasets.load_sample_images``),
``astronaut``, ``coffee``, ``chelsea`` (a cat), ``rocket``, ``hubble_deep_field``
and ``immunohistochemistry`` (``skimage.data``). Each photo is cut into a grid of
tiles coloured like a chessboard; training crops come from the "black" tiles and
test crops from the "white" ones, so no test pixel was ever seen in training.
Crops are random squares (60-100% of a tile's shorter side), randomly
mirrored, resized to ``image_size``, optionally grey and with random lighting.
It is a texture / content recognition task on real images, which pretrained
features solve far better than random ones.
"""

import numpy as np

from dlkit.errors import ConfigError

PHOTO_NAMES = (
    "china",
    "flower",
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
)


def load_photo(name):
    """Returns one of :data:`PHOTO_NAMES` as a uint8 ``(height, width, 3)`` array."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return np.asarray(load_sample_image(f"{name}.jpg"), np.uint8)
    if name not in PHOTO_NAMES:
        raise ConfigError(f"Unknown photo; choose from {', '.join(PHOTO_NAMES)}. Received: photo={name!r}")
    import skimage.data

    return np.asarray(getattr(skimage.data, name)()[..., :3], np.uint8)


def photo_crops(
    split="train", per_class=10, image_size=48, grid=4, photos=PHOTO_NAMES, seed=0, grayscale=False, lighting=0.0
):
    """Returns ``(images, labels, class_names)``: random crops labelled by their photo.

    Args:
        split: ``"train"`` (crops from the chessboard's black tiles) or
            ``"test"`` (white tiles).
        per_class: crops per photo.
        image_size: side of the square output crops.
        grid: tiles per side of the chessboard.
        photos: the photo names (class ``i`` is ``photos[i]``).
        seed: seed of the crop positions, sizes and flips.
        grayscale: give grey crops (3 equal channels), so colour alone cannot
            tell the photos apart.
        lighting: random lighting change per crop: contrast multiplied by a
            factor in ``[1 - lighting, 1 + lighting]`` and brightness shifted by
            up to ``60 * lighting`` grey levels, so the mean intensity of a crop
            says little about its photo.

    Returns:
        float32 images ``(N, image_size, image_size, 3)`` in ``[0, 255]``, int32
        labels ``(N,)`` and the list of photo names.
    """
    import tensorflow as tf

    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test'. Received: split={split!r}")
    if per_class < 1 or grid < 2 or image_size < 8:
        raise ConfigError(
            f"per_class must be >= 1, grid >= 2 and image_size >= 8. Received: per_class={per_class}, grid={grid}, "
            f"image_size={image_size}"
        )
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    parity = 0 if split == "train" else 1
    images, labels = [], []
    for label, name in enumerate(photos):
        photo = load_photo(name).astype(np.float32)
        if grayscale:
            photo = np.repeat(photo @ np.array([[0.2989], [0.5870], [0.1140]], np.float32), 3, axis=-1)
        tile_height, tile_width = photo.shape[0] // grid, photo.shape[1] // grid
        tiles = [(row, column) for row in range(grid) for column in range(grid) if (row + column) % 2 == parity]
        for _ in range(per_class):
            row, column = tiles[rng.integers(len(tiles))]
            side = int(rng.uniform(0.6, 1.0) * min(tile_height, tile_width))
            top = row * tile_height + rng.integers(tile_height - side + 1)
            left = column * tile_width + rng.integers(tile_width - side + 1)
            crop = photo[top : top + side, left : left + side]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            crop = tf.image.resize(crop, (image_size, image_size), antialias=True).numpy()
            if lighting:
                contrast = rng.uniform(1 - lighting, 1 + lighting)
                brightness = rng.uniform(-60 * lighting, 60 * lighting)
                crop = (crop - crop.mean()) * contrast + crop.mean() + brightness
            images.append(crop)
            labels.append(label)
    images = np.clip(np.stack(images), 0, 255).astype(np.float32)
    return images, np.asarray(labels, np.int32), list(photos)
