"""LFW on disk: the image folder and the standard pairs protocol (``pairs.txt``).

TFDS ``lfw`` keeps each image's person but not its file name, so it cannot
follow LFW's published pairs, which name images by number
(``Aaron_Peirsol 1 2``). A folder in LFW's own layout can: the extracted
``lfw.tgz`` / ``lfw-deepfunneled.tgz`` (``<root>/<Name>/<Name>_0001.jpg``), or
what scikit-learn's ``fetch_lfw_pairs`` leaves in
``~/scikit_learn_data/lfw_home`` (``lfw_funneled/`` beside ``pairs.txt``).

Protocol (Huang et al., "Labeled Faces in the Wild: A Database for Studying
Face Recognition in Unconstrained Environments", UMass TR 07-49, 2007): View 2's
``pairs.txt`` holds 10 folds of 300 matched and 300 mismatched pairs; the
accuracy is the mean over folds of the accuracy at a threshold chosen on the
other nine. ``pairsDevTrain.txt`` / ``pairsDevTest.txt`` (View 1) are one set
each and read the same way.
"""

import dataclasses
import os
import re

import numpy as np

from dlkit.errors import ConfigError, DatasetError

_IMAGE = re.compile(r"^(?P<name>.+)_(?P<number>\d{4})\.(?:jpe?g|png)$", re.IGNORECASE)


@dataclasses.dataclass
class PairsProtocol:
    """LFW-style pairs: ``(name, number)`` on each side, whether they match, and the fold of each.

    Attributes:
        first_names, second_names: person of each side, ``(pairs,)`` str.
        first_numbers, second_numbers: 1-based image number of each side.
        same: ``(pairs,)`` bool, True for a matched pair.
        fold: ``(pairs,)`` int, the set (fold) each pair belongs to.
        source: the file it was read from (``None`` if built in memory).
    """

    first_names: np.ndarray
    first_numbers: np.ndarray
    second_names: np.ndarray
    second_numbers: np.ndarray
    same: np.ndarray
    fold: np.ndarray
    source: str = None

    def __len__(self):
        return len(self.same)

    @property
    def names(self):
        """Every person named in a pair, sorted."""
        return sorted(set(self.first_names) | set(self.second_names))


def read_pairs(path):
    """Reads an LFW pairs file (``pairs.txt``, ``pairsDevTrain.txt``, ``pairsDevTest.txt``).

    The first line is ``<sets> <pairs per kind>`` (View 2: ``10 300``) or just
    ``<pairs per kind>`` (View 1: one set). Each set then lists its matched
    pairs (``name n1 n2``) followed by as many mismatched ones
    (``name1 n1 name2 n2``). Fields are split on any whitespace.

    Args:
        path: the pairs file.

    Returns:
        A :class:`PairsProtocol` in file order.

    Raises:
        DatasetError: the file does not follow the format (the message names the line).
    """
    with open(path, encoding="utf-8") as handle:
        lines = [(number, line.split()) for number, line in enumerate(handle, start=1) if line.strip()]
    if not lines:
        raise DatasetError(f"the pairs file is empty. Received: {path}")
    header = lines[0][1]
    if not 1 <= len(header) <= 2 or not all(field.isdigit() for field in header):
        raise DatasetError(
            f"{path}:1: the header must be '<sets> <pairs>' or '<pairs>'. Received: {' '.join(header)!r}"
        )
    sets, per_kind = (1, int(header[0])) if len(header) == 1 else (int(header[0]), int(header[1]))
    body = lines[1:]
    if len(body) != sets * 2 * per_kind:
        raise DatasetError(
            f"{path}: the header promises {sets} x (2 x {per_kind}) = {sets * 2 * per_kind} pairs. "
            f"Received: {len(body)} pair lines"
        )
    rows = []
    for position, (number, fields) in enumerate(body):
        matched = position % (2 * per_kind) < per_kind
        expected = 3 if matched else 4
        if len(fields) != expected or not (fields[1].isdigit() and fields[-1].isdigit()):
            kind = "matched 'name n1 n2'" if matched else "mismatched 'name1 n1 name2 n2'"
            raise DatasetError(f"{path}:{number}: expected a {kind} pair. Received: {' '.join(fields)!r}")
        if matched:
            rows.append((fields[0], int(fields[1]), fields[0], int(fields[2]), True))
        else:
            rows.append((fields[0], int(fields[1]), fields[2], int(fields[3]), False))
    columns = list(zip(*rows))
    return PairsProtocol(
        first_names=np.asarray(columns[0]),
        first_numbers=np.asarray(columns[1], np.int64),
        second_names=np.asarray(columns[2]),
        second_numbers=np.asarray(columns[3], np.int64),
        same=np.asarray(columns[4], bool),
        fold=np.arange(len(rows)) // (2 * per_kind),
        source=str(path),
    )


def find_image_folder(root):
    """The folder holding LFW's per-person folders: ``root`` itself or a child such as ``lfw_funneled``.

    Returns ``None`` when neither ``root`` nor any of its children looks like one
    (a person folder holds ``<folder name>_0001.jpg``-style files).
    """
    if root is None or not os.path.isdir(root):
        return None
    for candidate in [root] + sorted(os.path.join(root, child) for child in os.listdir(root)):
        if os.path.isdir(candidate) and _is_image_folder(candidate):
            return candidate
    return None


def find_pairs_file(root):
    """LFW's ``pairs.txt`` in ``root`` or beside its image folder (scikit-learn's ``lfw_home`` layout), or ``None``."""
    if root is None:
        return None
    for place in (root, find_image_folder(root)):
        if place and os.path.isfile(os.path.join(place, "pairs.txt")):
            return os.path.join(place, "pairs.txt")
    return None


def _is_image_folder(folder):
    return any(_numbered_images(folder, person) for person in sorted(os.listdir(folder))[:20])


def _numbered_images(folder, person):
    """``[(path, number)]`` of ``<folder>/<person>/<person>_<NNNN>.jpg``, sorted; empty if ``person`` is no folder."""
    directory = os.path.join(folder, person)
    if not os.path.isdir(directory):
        return []
    found = []
    for file in sorted(os.listdir(directory)):
        match = _IMAGE.match(file)
        if match and match["name"] == person:
            found.append((os.path.join(directory, file), int(match["number"])))
    return found


def crop_face(image, image_size, crop=0.5):
    """The central ``crop`` of an LFW image (its face fills the central half), resized, float32 in ``[0, 1]``."""
    import tensorflow as tf

    image = tf.image.central_crop(tf.cast(image, tf.float32), crop)
    return tf.image.resize(image, image_size) / 255.0


def folder_arrays(folder, image_size=(64, 64), *, crop=0.5):
    """Reads every ``<Name>/<Name>_<NNNN>.jpg`` under ``folder``.

    Args:
        folder: the folder of per-person folders (see :func:`find_image_folder`).
        image_size: ``(height, width)`` after the crop.
        crop: central fraction kept (LFW's 250x250 images have the face in the central half).

    Returns:
        ``(images float32 (n, h, w, 3) in [0, 1], labels, names, numbers)``: ``numbers``
        is each image's 1-based number, as the pairs files name it.
    """
    import tensorflow as tf

    paths, people, numbers = [], [], []
    for person in sorted(os.listdir(folder)):
        for path, number in _numbered_images(folder, person):
            paths.append(path)
            people.append(person)
            numbers.append(number)
    if not paths:
        raise DatasetError(f"no '<Name>/<Name>_0001.jpg' images under the LFW folder. Received: {folder}")

    def read(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        return crop_face(image, image_size, crop)

    images = tf.data.Dataset.from_tensor_slices(paths).map(read, num_parallel_calls=tf.data.AUTOTUNE)
    images = np.stack(list(images.as_numpy_iterator()))
    names, labels = np.unique(np.asarray(people), return_inverse=True)
    return images, labels, [str(name) for name in names], np.asarray(numbers, np.int64)


def pair_indices(identities, protocol):
    """Maps each protocol pair to two example indices of an identity set read from an LFW folder.

    Args:
        identities: an :class:`~dlkit.verification.IdentitySet` with ``numbers``
            (from ``load_identities("lfw", data_dir=<LFW folder>)``).
        protocol: a :class:`PairsProtocol`.

    Returns:
        ``(first, second, same, fold)`` arrays, ready for
        ``paired_distances(embeddings[first], embeddings[second])`` and
        ``evaluate_verification(..., fold_of=fold)``.

    Raises:
        DatasetError: a pair names an image that is not in the set (the message lists a few).
    """
    if identities.numbers is None:
        raise ConfigError(
            "the pairs protocol needs image numbers: load LFW from its folder "
            "(load_identities('lfw', data_dir=<folder with <Name>/<Name>_0001.jpg>)). Received: no numbers"
        )
    where = {
        (identities.names[label], int(number)): index
        for index, (label, number) in enumerate(zip(identities.labels, identities.numbers))
    }
    missing = []

    def lookup(names, numbers):
        indices = np.empty(len(names), np.int64)
        for position, key in enumerate(zip(names, numbers.tolist())):
            index = where.get((str(key[0]), key[1]))
            if index is None:
                missing.append(f"{key[0]}_{key[1]:04d}")
                index = -1
            indices[position] = index
        return indices

    first = lookup(protocol.first_names, protocol.first_numbers)
    second = lookup(protocol.second_names, protocol.second_numbers)
    if missing:
        raise DatasetError(
            f"{len(missing)} pair images are not in the LFW folder. Received: missing {', '.join(missing[:5])}"
        )
    return first, second, protocol.same.copy(), protocol.fold.copy()


def protocol_split(identities, protocol, *, min_images=2):
    """Splits an LFW identity set for a pairs protocol: ``(seen, unseen)``.

    ``unseen`` holds every person the protocol names (all their images, even a
    person's only one), so no evaluated person is seen in training; ``seen``
    holds the other people with at least ``min_images`` images, to train on.

    Raises:
        DatasetError: a person the protocol names is not in the set, or fewer
            than two people are left to train on.
    """
    index = {identities.names[identity]: identity for identity in identities.identities}
    missing = [name for name in protocol.names if name not in index]
    if missing:
        raise DatasetError(
            f"{len(missing)} people of the pairs file are not in the LFW folder. "
            f"Received: missing {', '.join(missing[:5])}"
        )
    named = np.asarray([index[name] for name in protocol.names])
    ids, counts = np.unique(identities.labels, return_counts=True)
    trainable = ids[(counts >= min_images) & ~np.isin(ids, named)]
    if len(trainable) < 2:
        raise DatasetError(
            f"fewer than 2 people with >= {min_images} images are left to train on outside the pairs file. "
            f"Received: {len(trainable)}"
        )
    return identities.subset(trainable), identities.subset(named)
