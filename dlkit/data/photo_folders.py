"""Small image folders of real photographs, made from what scikit-image and scikit-learn ship.

A user's first fine-tuning run is a folder with one sub-folder per class and a
few dozen photos in each. These folders are that, offline, from photographs
*other* than the eight of :mod:`dlkit.data.photos` (the transfer recipe's own
task), as JPEG and PNG files of varying sizes:

- ``textures``: brick, grass, gravel (3 classes; grey);
- ``scenes``: camera, coins, moon, motorcycle, retina (5 classes; grey and colour);
- ``faces``: faces or not, from scikit-image's ``lfw_subset`` (2 classes, 25x25 grey).

Each file is a random square crop (40-80% of the photo's shorter side; faces
whole), randomly mirrored, with its own lighting and size.
"""

import pathlib

import numpy as np

from dlkit.errors import ConfigError

FOLDERS = {
    "textures": ("brick", "grass", "gravel"),
    "scenes": ("camera", "coins", "moon", "motorcycle", "retina"),
    "faces": ("face", "not_face"),
}


def _photo(name):
    import skimage.data

    if name == "motorcycle":
        return skimage.data.stereo_motorcycle()[0]
    return getattr(skimage.data, name)()


def make_folder(root, name="textures", per_class=16, seed=0):
    """Writes ``root/<class>/<n>.jpg|png`` and returns ``root`` (a ``pathlib.Path``).

    Args:
        root: the folder to create (it must not hold images of another set).
        name: one of :data:`FOLDERS`.
        per_class: files per class (``faces`` has 100 of each).
        seed: seed of the crops, flips, lighting and sizes.
    """
    from PIL import Image

    if name not in FOLDERS:
        raise ConfigError(f"name must be one of {', '.join(FOLDERS)}. Received: name={name!r}")
    if not 1 <= per_class <= 100:
        raise ConfigError(f"per_class must be in [1, 100]. Received: per_class={per_class}")
    root = pathlib.Path(root)
    rng = np.random.default_rng(seed)
    if name == "faces":
        import skimage.data

        faces = skimage.data.lfw_subset()  # 100 faces, then 100 non-faces; floats in [0, 1]
        sources = {"face": faces[:100], "not_face": faces[100:]}
    for label in FOLDERS[name]:
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        if name == "faces":
            chosen = rng.choice(100, per_class, replace=False)
            for index, item in enumerate(chosen):
                pixels = np.clip(sources[label][item] * 255.0, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{index:03d}.png")
            continue
        photo = np.asarray(_photo(label))
        photo = photo[..., :3] if photo.ndim == 3 else photo
        short = min(photo.shape[:2])
        for index in range(per_class):
            side = int(rng.uniform(0.4, 0.8) * short)
            top = rng.integers(0, photo.shape[0] - side + 1)
            left = rng.integers(0, photo.shape[1] - side + 1)
            crop = photo[top:top + side, left:left + side].astype(np.float32)
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            crop = np.clip((crop - crop.mean()) * rng.uniform(0.8, 1.2) + crop.mean() + rng.uniform(-20, 20), 0, 255)
            picture = Image.fromarray(crop.astype(np.uint8))
            picture = picture.resize((int(rng.integers(96, 257)),) * 2, Image.BICUBIC)
            suffix = ".jpg" if index % 2 else ".png"
            picture.save(folder / f"{index:03d}{suffix}", **({"quality": 90} if suffix == ".jpg" else {}))
    return root
