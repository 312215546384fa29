"""Identity-labelled images for verification: offline glyphs and digits, and TFDS ``lfw``.

No face images with identities ship inside a package installable here
(scikit-learn's Olivetti and LFW fetchers download; scikit-image's
``lfw_subset`` has no identities). The offline default, ``glyphs``, treats
each of 143 characters as an identity and the fonts bundled with Matplotlib,
in random poses, as its photographs (:mod:`dlkit.verification.glyphs`): train
on some characters, verify on characters never seen in training (the one-shot
setting). ``digits`` does the same with the ten scikit-learn digits (too few
identities to show what an embedding learns). ``lfw`` reads Labeled Faces in
the Wild from its own folder layout (:mod:`dlkit.verification.lfw`, with the
image numbers its pairs protocol needs) or from TFDS (identities from the
names), downloading it when online.
"""

import dataclasses

import numpy as np

from dlkit.errors import ConfigError, DatasetError

SOURCES = ("glyphs", "digits", "lfw")


@dataclasses.dataclass
class IdentitySet:
    """Images with integer identities.

    Attributes:
        images: float32 ``(n, height, width, channels)`` in ``[0, 1]``.
        labels: int32 ``(n,)`` identity ids, indices into ``names``.
        names: the name of each identity id.
        numbers: optional ``(n,)`` number of each image within its identity
            (LFW's file numbers, which its pairs protocol names); ``None`` otherwise.
    """

    images: np.ndarray
    labels: np.ndarray
    names: list
    numbers: np.ndarray = None

    def __len__(self):
        return len(self.labels)

    @property
    def identities(self):
        """The identity ids present, sorted."""
        return np.unique(self.labels)

    def subset(self, identities):
        """The examples of the given identity ids (ids and names unchanged)."""
        keep = np.isin(self.labels, list(identities))
        numbers = None if self.numbers is None else self.numbers[keep]
        return IdentitySet(self.images[keep], self.labels[keep], self.names, numbers)


def load_identities(
    name="glyphs", *, data_dir=None, image_size=None, min_images=2, max_identities=None, poses=2, seed=0
):
    """Loads an identity-labelled image set into memory.

    Args:
        name: ``"glyphs"`` (offline: 143 characters x 16-21 bundled fonts x
            ``poses`` random poses, 32x32 gray), ``"digits"`` (offline,
            scikit-learn's 1,797 8x8 digits, 10 identities) or ``"lfw"``: read
            from ``data_dir`` when it holds LFW's own folder layout
            (``<Name>/<Name>_0001.jpg``, e.g. the extracted ``lfw.tgz``; keeps
            the image numbers that ``pairs.txt`` names), else from TFDS
            (downloads ~170 MB when not in ``data_dir``).
        data_dir: TFDS data folder, or an LFW folder for ``"lfw"``.
        image_size: ``(height, width)`` or an int to resize to (``glyphs``
            default 32; ``lfw`` default 64: the central 125x125 face crop resized).
        min_images: identities with fewer images are dropped.
        max_identities: keep only the identities with the most images.
        poses: ``glyphs`` only: random poses of each font's drawing.
        seed: ``glyphs`` only: random seed of the poses.

    Returns:
        An :class:`IdentitySet`.
    """
    if name not in SOURCES:
        raise ConfigError(f"identity data must be one of {', '.join(SOURCES)}. Received: {name!r}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    numbers = None
    if name == "glyphs":
        from dlkit.verification.glyphs import glyph_arrays

        if image_size is not None and image_size[0] != image_size[1]:
            raise ConfigError(f"glyphs are square. Received: image_size={image_size}")
        images, labels, names = glyph_arrays(image_size=(image_size or (32, 32))[0], poses=poses, seed=seed)
    elif name == "digits":
        from dlkit.data.builtin import digits_arrays

        images, labels = digits_arrays("all")
        images = images / 255.0
        names = [f"digit {digit}" for digit in range(10)]
        if image_size is not None:
            import tensorflow as tf

            images = tf.image.resize(images, image_size).numpy()
    else:
        from dlkit.verification.lfw import find_image_folder, folder_arrays

        folder = find_image_folder(data_dir)
        if folder is not None:
            images, labels, names, numbers = folder_arrays(folder, image_size or (64, 64))
        else:
            images, labels, names = _lfw_arrays(data_dir, image_size or (64, 64))
    identities = IdentitySet(images.astype(np.float32), labels.astype(np.int32), names, numbers)
    return _filter(identities, min_images, max_identities)


def _filter(identities, min_images, max_identities):
    ids, counts = np.unique(identities.labels, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    ids, counts = ids[order], counts[order]
    keep = ids[counts >= min_images]
    if max_identities is not None:
        keep = keep[:max_identities]
    if len(keep) == 0:
        raise DatasetError(f"no identity has at least {min_images} images. Received: min_images={min_images}")
    return identities.subset(np.sort(keep))


def _lfw_arrays(data_dir, image_size):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from dlkit.data.tfds_source import ensure_prepared
    from dlkit.verification.lfw import crop_face

    builder = tfds.builder("lfw", data_dir=data_dir)
    ensure_prepared(builder, "lfw", data_dir)
    dataset = builder.as_dataset(split="train")

    def prepare(example):
        return crop_face(example["image"], image_size), example["label"]

    images, names = [], []
    for image, label in dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).as_numpy_iterator():
        images.append(image)
        names.append(label.decode() if isinstance(label, bytes) else str(label))
    if not images:
        raise DatasetError(f"TFDS lfw has no images in {data_dir}. Received: data_dir={data_dir!r}")
    unique_names, labels = np.unique(np.asarray(names), return_inverse=True)
    return np.stack(images), labels, [str(name) for name in unique_names]


#: Transforms that turn a training identity into new ones. The 180-degree rotation
#: is left out because it maps a 6 onto a 9 (an identity that may be held out).
TRANSFORMS = {
    "rot90": lambda images: np.rot90(images, 1, axes=(1, 2)),
    "rot270": lambda images: np.rot90(images, 3, axes=(1, 2)),
    "transpose": lambda images: np.transpose(images, (0, 2, 1, 3)),
    "antitranspose": lambda images: np.rot90(np.transpose(images, (0, 2, 1, 3)), 2, axes=(1, 2)),
    "flip_up_down": lambda images: images[:, ::-1],
    "flip_left_right": lambda images: images[:, :, ::-1],
}


def transformed_identities(identities, transforms=tuple(TRANSFORMS)):
    """Adds each transform of each identity as a new identity (training data only).

    With few identities (ten digits) an embedding learns the training classes
    and little else; a rotated or mirrored "3" is a new shape, so the
    embedding must learn features that tell shapes apart in general. Vinyals
    et al. ("Matching Networks for One Shot Learning", NeurIPS 2016) grow
    Omniglot's classes with rotations the same way. Images must be square.

    Args:
        identities: an :class:`IdentitySet`.
        transforms: names from :data:`TRANSFORMS`.

    Returns:
        An :class:`IdentitySet` with ``len(transforms) + 1`` times the identities:
        new id ``id * (len(transforms) + 1) + t``, named ``"<name> <transform>"``.
    """
    unknown = [name for name in transforms if name not in TRANSFORMS]
    if unknown:
        raise ConfigError(f"transforms must be among {', '.join(TRANSFORMS)}. Received: {unknown}")
    if transforms and identities.images.shape[1] != identities.images.shape[2]:
        raise ConfigError(f"transforms need square images. Received: shape {identities.images.shape[1:3]}")
    count = len(transforms) + 1
    images = [identities.images] + [TRANSFORMS[name](identities.images) for name in transforms]
    labels = [identities.labels * count + index for index in range(count)]
    names = []
    for name in identities.names:
        names += [name] + [f"{name} {transform}" for transform in transforms]
    return IdentitySet(
        np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels).astype(np.int32), names
    )


def split_identities(identities, num_unseen, *, seed=0):
    """Splits by identity: ``(seen, unseen)`` with ``num_unseen`` identities never seen in training.

    Args:
        identities: an :class:`IdentitySet`.
        num_unseen: how many identities to hold out (>= 2, and >= 2 left to train on).
        seed: which identities are held out.
    """
    ids = identities.identities
    if not 2 <= num_unseen <= len(ids) - 2:
        raise ConfigError(
            f"num_unseen must leave >= 2 identities on each side of {len(ids)}. Received: num_unseen={num_unseen}"
        )
    unseen = np.sort(np.random.default_rng(seed).choice(ids, size=num_unseen, replace=False))
    return identities.subset(np.setdiff1d(ids, unseen)), identities.subset(unseen)


def load_split(name, num_unseen, *, data_dir=None, image_size=None, pairs=None, transforms=False, seed=0):
    """Identities to train on and identities never seen in training: ``(seen, unseen, protocol)``.

    With ``pairs`` (an LFW pairs file, :func:`~dlkit.verification.lfw.read_pairs`),
    the people it names are the unseen ones, all their images, and the others
    with at least 4 images train (:func:`~dlkit.verification.lfw.protocol_split`);
    this needs LFW's own folder layout in ``data_dir``. Otherwise
    ``num_unseen`` identities drawn with ``seed`` are held out
    (:func:`split_identities`) and ``protocol`` is ``None``.

    Args:
        name: ``"glyphs"``, ``"digits"`` or ``"lfw"`` (see :func:`load_identities`).
        num_unseen: identities held out, without ``pairs``.
        data_dir: TFDS data folder or LFW folder.
        image_size: side of the square images.
        pairs: path of an LFW pairs file, or ``None``.
        transforms: add rotated/mirrored copies of the training identities as
            new identities (:func:`transformed_identities`).
        seed: which identities are held out.

    Returns:
        ``(seen, unseen, protocol)``: two :class:`IdentitySet` and the
        :class:`~dlkit.verification.lfw.PairsProtocol` or ``None``.
    """
    if pairs is not None:
        from dlkit.verification import lfw

        protocol = lfw.read_pairs(pairs)
        identities = load_identities("lfw", data_dir=data_dir, image_size=image_size, min_images=1)
        if identities.numbers is None:
            raise ConfigError(
                "a pairs file needs LFW's own folder layout (<Name>/<Name>_0001.jpg) in the data folder, not TFDS's "
                f"copy, which drops the image numbers. Received: data_dir={data_dir}"
            )
        seen, unseen = lfw.protocol_split(identities, protocol, min_images=4)
    else:
        min_images = 4 if name == "lfw" else 2
        identities = load_identities(name, data_dir=data_dir, image_size=image_size, min_images=min_images)
        seen, unseen = split_identities(identities, num_unseen, seed=seed)
        protocol = None
    if transforms:
        seen = transformed_identities(seen)
    return seen, unseen, protocol
