"""Synthetic shapes: seeded scenes of circles, squares, triangles (and more) on noisy backgrounds.

One generator feeds three tasks:

* ``multilabel``: which classes appear in the image (many can be true at once);
* ``localization``: classification with localization of one object (or none);
* ``detection``: every object's box and class, padded with ``-1``.

:func:`generate` returns NumPy arrays; :func:`load` wraps them in a ``tf.data``
pipeline with the same contract as ``dlkit.data.load`` (it is the builtin
``"shapes"`` of that registry)::

    from dlkit.data import shapes
    arrays = shapes.generate(1000, seed=0)            # images, boxes, labels, multilabel
    train, info = shapes.load("train", task="detection", batch_size=16)

Conventions, chosen so the boxes can be checked against the pixels:

* Shapes are drawn without anti-aliasing: a pixel belongs to an object when its
  centre ``(column + 0.5, row + 0.5)`` lies inside the shape, so every pixel is
  either background or exactly one object.
* Objects are drawn in order; a later object is on top of earlier ones. An object
  is placed only if every earlier object keeps at least ``min_visible`` of its
  pixels visible, so nothing is hidden entirely.
* A box is the tight box of the object's *visible* pixels in ``rel_xyxy``:
  ``(x_min, y_min, x_max, y_max)`` = ``(first column, first row, last column + 1,
  last row + 1)`` divided by ``(width, height, width, height)``, i.e. the outer
  pixel edges, so a box always lies in ``[0, 1]``.
* Every object lies entirely inside the frame (nothing is cut by the border).
* Landmarks are three geometric points per object in relative ``(x, y)``
  (continuous pixel coordinates divided by width and height), whether occluded
  or not: triangle -- its three corners, clockwise from the topmost; square --
  top-left, top-right and bottom-right corners; diamond -- top, right and bottom
  corners; circle and ring -- centre, topmost and rightmost points; cross --
  centre, top end and right end.

The three splits are disjoint by construction: each split draws from its own
seed, derived from ``seed`` and the split name with ``numpy.random.SeedSequence``.
"""

import numpy as np

from dlkit.data import DatasetInfo
from dlkit.errors import ConfigError

SHAPES = ("circle", "square", "triangle", "diamond", "ring", "cross")
DEFAULT_CLASSES = ("circle", "square", "triangle")
BACKGROUNDS = ("noise", "plain")
TASKS = ("multilabel", "localization", "detection")
SPLITS = ("train", "dev", "test")
NUM_LANDMARKS = 3
DEFAULT_NUM_IMAGES = {"train": 5000, "dev": 1000, "test": 1000}

# Placement attempts per object before giving up on it, and whole-image restarts
# before giving up on reaching min_objects.
_PLACEMENT_TRIES = 40
_IMAGE_RESTARTS = 20
# Colours must stand out from the background and from each other.
_MIN_BACKGROUND_DISTANCE = 0.45
_MIN_OBJECT_DISTANCE = 0.3
# The "noise" background: a coarse random colour grid, bilinearly upsampled, plus pixel noise.
_TEXTURE_CELLS = 6
_TEXTURE_AMPLITUDE = 0.12
_PIXEL_NOISE = 0.03


def generate(
    num_images,
    image_size=64,
    classes=DEFAULT_CLASSES,
    min_objects=1,
    max_objects=4,
    seed=0,
    landmarks=False,
    background="noise",
    size_range=(0.15, 0.45),
    min_visible=0.5,
    return_masks=False,
):
    """Generates synthetic scenes of shapes with boxes, labels and landmarks.

    Args:
        num_images: how many images (>= 0).
        image_size: side in pixels (int) or ``(height, width)``; each side >= 16.
        classes: shape names, in class-id order, from
            ``circle, square, triangle, diamond, ring, cross``.
        min_objects: fewest objects per image (>= 0; 0 allows empty images).
        max_objects: most objects per image (>= max(1, min_objects)); the count is
            uniform in ``[min_objects, max_objects]``.
        seed: integer seed; the same seed and arguments give identical arrays.
        landmarks: also return three landmarks per object (see module docstring).
        background: ``"noise"`` (random colour, smooth texture and pixel noise
            over the whole image) or ``"plain"`` (one flat colour, no noise).
        size_range: object size as a fraction of the shorter image side,
            ``(smallest, largest)``, within ``(0, 1]``.
        min_visible: the fraction of its pixels every object keeps visible when
            later objects overlap it, in ``(0, 1]``.
        return_masks: also return ``masks``, the index of the visible object at
            each pixel (``-1`` for background).

    Returns:
        A dict of NumPy arrays (``N`` images, ``M = max_objects``, ``C`` classes):
        ``images`` (N, H, W, 3) float32 in [0, 1]; ``boxes`` (N, M, 4) float32
        ``rel_xyxy``, padding rows ``-1``; ``labels`` (N, M) int32 class ids,
        padding ``-1``; ``multilabel`` (N, C) float32 0/1; with ``landmarks``,
        ``landmarks`` (N, M, 3, 2) float32 relative ``(x, y)``, padding ``-1``;
        with ``return_masks``, ``masks`` (N, H, W) int16. Objects are in drawing
        order (later ones on top).

    Raises:
        ConfigError: an argument out of range or an unknown class/background.
    """
    num_images = _check_int("num_images", num_images, 0)
    height, width = _check_image_size(image_size)
    classes = _check_classes(classes)
    min_objects = _check_int("min_objects", min_objects, 0)
    max_objects = _check_int("max_objects", max_objects, max(1, min_objects))
    if background not in BACKGROUNDS:
        raise ConfigError(f"background must be one of {BACKGROUNDS}. Received: background={background!r}")
    smallest, largest = _check_size_range(size_range)
    if not 0 < float(min_visible) <= 1:
        raise ConfigError(f"min_visible must be in (0, 1]. Received: min_visible={min_visible}")

    side = min(height, width)
    sizes = (max(4.0, smallest * side), max(4.0, largest * side))
    images = np.empty((num_images, height, width, 3), np.float32)
    boxes = np.full((num_images, max_objects, 4), -1.0, np.float32)
    labels = np.full((num_images, max_objects), -1, np.int32)
    points = np.full((num_images, max_objects, NUM_LANDMARKS, 2), -1.0, np.float32)
    masks = np.full((num_images, height, width), -1, np.int16)
    rows = np.arange(height, dtype=np.float32)[:, None] + 0.5
    columns = np.arange(width, dtype=np.float32)[None, :] + 0.5
    texture_rows, texture_columns = _interpolation(height), _interpolation(width).T
    # One stream per image: the first n images do not depend on num_images.
    for index, stream in enumerate(np.random.SeedSequence(int(seed)).spawn(num_images)):
        rng = np.random.default_rng(stream)
        base_color = rng.uniform(0.0, 1.0, 3).astype(np.float32)
        image = images[index]
        image[...] = base_color
        if background == "noise":
            grid = rng.normal(0.0, _TEXTURE_AMPLITUDE, size=(3, _TEXTURE_CELLS, _TEXTURE_CELLS)).astype(np.float32)
            image += np.moveaxis(texture_rows @ grid @ texture_columns, 0, -1)
        objects = _place_objects(rng, classes, min_objects, max_objects, sizes, min_visible, rows, columns, base_color)
        for slot, (class_id, mask, color, landmark) in enumerate(objects):
            image[mask] = color
            masks[index][mask] = slot
            labels[index, slot] = class_id
            points[index, slot] = landmark / np.array([width, height], np.float32)
        for slot in range(len(objects)):
            visible = masks[index] == slot
            ys = np.flatnonzero(visible.any(axis=1))
            xs = np.flatnonzero(visible.any(axis=0))
            boxes[index, slot] = (xs[0] / width, ys[0] / height, (xs[-1] + 1) / width, (ys[-1] + 1) / height)
        if background == "noise":
            image += rng.normal(0.0, _PIXEL_NOISE, size=image.shape).astype(np.float32)
    np.clip(images, 0.0, 1.0, out=images)

    multilabel = np.zeros((num_images, len(classes)), np.float32)
    image_ids, slots = np.nonzero(labels >= 0)
    multilabel[image_ids, labels[image_ids, slots]] = 1.0
    arrays = {"images": images, "boxes": boxes, "labels": labels, "multilabel": multilabel}
    if landmarks:
        arrays["landmarks"] = points
    if return_masks:
        arrays["masks"] = masks
    return arrays


def load(
    split="train",
    *,
    task="multilabel",
    image_size=64,
    batch_size=32,
    num_images=None,
    seed=0,
    shuffle=None,
    missing_rate=0.0,
    channels=None,
    normalize=True,
    data_dir=None,
    cache=True,
    **options,
):
    """Returns a ``tf.data.Dataset`` of synthetic shapes for one task, and its info.

    Elements by task (``C`` classes, ``M`` = ``max_objects``):

    * ``"multilabel"``: ``(image, multilabel)`` with ``multilabel`` (C,) float32
      0/1, and ``-1`` for labels hidden by ``missing_rate``.
    * ``"localization"`` (at most one object per image; default 0 or 1):
      ``(image, target)`` with ``target`` (5 + C,) float32
      ``[p_c, x_min, y_min, x_max, y_max, one-hot class]`` (box ``rel_xyxy``).
      An empty image has ``p_c = 0``, box ``-1`` and an all-zero class vector.
      With ``landmarks=True`` the target is a dict ``{"localization": (5 + C,),
      "landmarks": (6,)}``, landmarks flattened ``x1, y1, x2, y2, x3, y3``,
      ``-1`` when there is no object.
    * ``"detection"``: ``(image, {"boxes": (M, 4) float32 rel_xyxy, "labels": (M,)
      int32})`` padded with ``-1``; plus ``"landmarks": (M, 3, 2)`` with
      ``landmarks=True``.

    Args:
        split: ``"train"``, ``"dev"``, ``"test"`` or ``"all"`` (the three
            concatenated); each split is generated from its own derived seed.
        task: ``"multilabel"``, ``"localization"`` or ``"detection"``.
        image_size: side in pixels or ``(height, width)``; None means 64.
        batch_size: examples per batch; None gives unbatched elements.
        num_images: images in the split (default 5000 train, 1000 dev/test).
        seed: base seed; the same seed gives the same data.
        shuffle: shuffle every epoch (default: only the train split).
        missing_rate: fraction of multi-label entries replaced by ``-1``
            (``multilabel`` task only), drawn from the seed.
        channels: 3 (default) or 1 (grey, the channel mean).
        normalize: True gives pixels in [0, 1], False in [0, 255].
        data_dir: ignored (the data is generated); accepted for the registry.
        cache: ignored (the arrays are already in memory); accepted for the registry.
        **options: passed to :func:`generate` (``classes``, ``min_objects``,
            ``max_objects``, ``landmarks``, ``background``, ``size_range``,
            ``min_visible``).

    Returns:
        ``(dataset, info)``: the ``tf.data.Dataset`` and a ``DatasetInfo``.

    Raises:
        ConfigError: unknown task, split, option or an out-of-range value.
    """
    import tensorflow as tf

    split = "dev" if split == "validation" else split
    del data_dir, cache  # nothing to read or cache: the set is generated in memory
    if task not in TASKS:
        raise ConfigError(f"task must be one of {TASKS}. Received: task={task!r}")
    if split not in SPLITS + ("all",):
        raise ConfigError(f"split must be one of {SPLITS + ('all',)}. Received: split={split!r}")
    if channels not in (None, 1, 3):
        raise ConfigError(f"channels must be 1 or 3 for shapes. Received: channels={channels}")
    if not 0.0 <= float(missing_rate) < 1.0:
        raise ConfigError(f"missing_rate must be in [0, 1). Received: missing_rate={missing_rate}")
    if missing_rate and task != "multilabel":
        raise ConfigError(f"missing_rate applies to task='multilabel' only. Received: task={task!r}")
    if batch_size is not None:
        _check_int("batch_size", batch_size, 1)
    allowed = {"classes", "min_objects", "max_objects", "landmarks", "background", "size_range", "min_visible"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(f"unknown option(s) for shapes: {', '.join(unknown)}. Received: {unknown}")
    if task == "localization":
        options.setdefault("min_objects", 0)
        options.setdefault("max_objects", 1)
        if options["max_objects"] != 1:
            raise ConfigError(
                "task='localization' takes at most one object per image; use task='detection' for more. "
                f"Received: max_objects={options['max_objects']}"
            )
    image_size = 64 if image_size is None else image_size
    with_landmarks = bool(options.get("landmarks", False))

    splits = SPLITS if split == "all" else (split,)
    parts = []
    for name in splits:
        count = DEFAULT_NUM_IMAGES[name] if num_images is None else num_images
        parts.append(generate(count, image_size=image_size, seed=split_seed(seed, name), **options))
    arrays = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

    images = arrays["images"]
    if channels == 1:
        images = images.mean(axis=-1, keepdims=True)
    if not normalize:
        images = images * 255.0
    classes = tuple(options.get("classes", DEFAULT_CLASSES))
    if task == "multilabel":
        targets = arrays["multilabel"]
        if missing_rate:
            hide = np.random.default_rng(split_seed(seed, split, "missing")).random(targets.shape) < missing_rate
            targets = np.where(hide, -1.0, targets).astype(np.float32)
    elif task == "localization":
        targets = localization_targets(arrays["boxes"], arrays["labels"], len(classes))
        if with_landmarks:
            flat = arrays["landmarks"][:, 0].reshape(len(images), 2 * NUM_LANDMARKS)
            targets = {"localization": targets, "landmarks": flat}
    else:
        targets = {"boxes": arrays["boxes"], "labels": arrays["labels"]}
        if with_landmarks:
            targets["landmarks"] = arrays["landmarks"]

    dataset = tf.data.Dataset.from_tensor_slices((images.astype(np.float32), targets))
    if shuffle is None:
        shuffle = split == "train"
    if shuffle and len(images):
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    info = DatasetInfo(
        name="shapes",
        num_classes=len(classes),
        class_names=list(classes),
        image_shape=tuple(images.shape[1:]),
        num_examples=len(images),
        source=f"synthetic (dlkit.data.shapes, task={task})",
    )
    return dataset, info


def localization_targets(boxes, labels, num_classes):
    """Packs the first object of each image as ``[p_c, box (rel_xyxy), one-hot class]``.

    Args:
        boxes: (N, M, 4) ``rel_xyxy`` boxes, padding rows ``-1``.
        labels: (N, M) class ids, padding ``-1``.
        num_classes: number of classes ``C``.

    Returns:
        (N, 5 + C) float32; images without objects get ``p_c = 0``, box ``-1``
        and zero class scores.
    """
    present = labels[:, 0] >= 0
    targets = np.zeros((len(labels), 5 + num_classes), np.float32)
    targets[:, 0] = present
    targets[:, 1:5] = np.where(present[:, None], boxes[:, 0], -1.0)
    targets[np.flatnonzero(present), 5 + labels[present, 0]] = 1.0
    return targets


def split_seed(seed, split, *purpose):
    """Returns the integer seed of one split (and optional purpose) derived from ``seed``."""
    keys = [SPLITS.index(split) if split in SPLITS else len(SPLITS)]
    keys += [sum(ord(character) for character in word) for word in purpose]
    sequence = np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(keys))
    return int(sequence.generate_state(1)[0])


# --- drawing -------------------------------------------------------------------------------------


def _place_objects(rng, classes, min_objects, max_objects, sizes, min_visible, rows, columns, background):
    """Returns ``[(class_id, visible-at-draw-time mask, colour, landmarks)]`` in drawing order."""
    height, width = rows.shape[0], columns.shape[1]
    for _ in range(_IMAGE_RESTARTS):
        wanted = int(rng.integers(min_objects, max_objects + 1))
        placed = []
        owner = np.full((height, width), -1, np.int16)
        full_counts = []
        for _ in range(wanted):
            visible = np.bincount(owner[owner >= 0], minlength=len(placed))
            for _ in range(_PLACEMENT_TRIES):
                class_id = int(rng.integers(len(classes)))
                size = rng.uniform(*sizes)
                mask, landmark = _draw(classes[class_id], size, rng, rows, columns)
                if not mask.any():
                    continue
                under = owner[mask]
                covered = np.bincount(under[under >= 0], minlength=len(placed))
                if np.all(visible - covered >= min_visible * np.asarray(full_counts, dtype=np.float64)):
                    break
            else:
                break
            color = _pick_color(rng, background, [item[2] for item in placed])
            owner[mask] = len(placed)
            full_counts.append(int(mask.sum()))
            placed.append((class_id, mask, color, landmark))
        if len(placed) >= min_objects:
            return placed
    raise ConfigError(
        "could not place min_objects objects without hiding earlier ones; lower min_objects or size_range. "
        f"Received: min_objects={min_objects}, size_range in pixels={sizes}"
    )


def _draw(shape, size, rng, rows, columns):
    """Rasterizes one shape of ``size`` pixels at a random in-frame position.

    Returns:
        ``(mask (H, W) bool, landmarks (3, 2) float32 in pixel units)``.
    """
    height, width = rows.shape[0], columns.shape[1]
    radius = size / 2.0
    if shape in ("square", "cross"):
        side = max(3, int(round(size)))
        left = int(rng.integers(0, width - side + 1))
        top = int(rng.integers(0, height - side + 1))
        inside_x = (columns > left) & (columns < left + side)
        inside_y = (rows > top) & (rows < top + side)
        if shape == "square":
            mask = inside_x & inside_y
            points = [(left, top), (left + side, top), (left + side, top + side)]
        else:
            # Arms a third of the side thick, centred.
            thickness = max(1, int(round(side / 3)))
            start = (side - thickness) // 2
            arm_x = (columns > left + start) & (columns < left + start + thickness)
            arm_y = (rows > top + start) & (rows < top + start + thickness)
            mask = (inside_x & arm_y) | (arm_x & inside_y)
            centre = (left + side / 2, top + side / 2)
            points = [centre, (left + side / 2, top), (left + side, top + side / 2)]
        return mask, np.asarray(points, np.float32)

    if shape == "triangle":
        # An inscribed triangle covers less than its circle: even out the apparent size.
        radius = min(1.2 * radius, min(height, width) / 2.0)
    centre_x = rng.uniform(radius, width - radius)
    centre_y = rng.uniform(radius, height - radius)
    dx, dy = columns - centre_x, rows - centre_y
    if shape in ("circle", "ring"):
        distance = dx * dx + dy * dy
        mask = distance <= radius * radius
        if shape == "ring":
            mask &= distance >= (0.55 * radius) ** 2
        points = [(centre_x, centre_y), (centre_x, centre_y - radius), (centre_x + radius, centre_y)]
        return mask, np.asarray(points, np.float32)
    if shape == "diamond":
        mask = np.abs(dx) + np.abs(dy) <= radius
        points = [(centre_x, centre_y - radius), (centre_x + radius, centre_y), (centre_x, centre_y + radius)]
        return mask, np.asarray(points, np.float32)
    # Triangle: corners on the circumscribed circle (so it is in frame), random
    # rotation, each corner jittered by up to 15 degrees to vary the shape.
    angles = rng.uniform(0, 2 * np.pi) + np.array([0, 2, 4]) * np.pi / 3 + rng.uniform(-0.26, 0.26, 3)
    corners = np.stack([centre_x + radius * np.cos(angles), centre_y + radius * np.sin(angles)], axis=1)
    # Clockwise on screen (y down) means increasing angle; start from the topmost corner.
    corners = np.roll(corners, -int(np.argmin(corners[:, 1])), axis=0)
    (ax, ay), (bx, by), (cx, cy) = corners
    orientation = np.sign((bx - ax) * (cy - ay) - (by - ay) * (cx - ax))
    mask = np.ones(rows.shape[:1] + columns.shape[1:], bool)
    for first, second in ((0, 1), (1, 2), (2, 0)):
        (x0, y0), (x1, y1) = corners[first], corners[second]
        mask &= orientation * ((x1 - x0) * (rows - y0) - (y1 - y0) * (columns - x0)) >= 0
    return mask, corners.astype(np.float32)


def _pick_color(rng, background, others):
    """A colour far from the background colour and from the other objects' colours."""
    best, best_score = None, -1.0
    for _ in range(50):
        color = rng.uniform(0.0, 1.0, 3)
        score = min(
            np.linalg.norm(color - background) / _MIN_BACKGROUND_DISTANCE,
            min((np.linalg.norm(color - other) / _MIN_OBJECT_DISTANCE for other in others), default=np.inf),
        )
        if score >= 1.0:
            return color.astype(np.float32)
        if score > best_score:
            best, best_score = color, score
    return best.astype(np.float32)


def _interpolation(size, cells=_TEXTURE_CELLS):
    """(size, cells) bilinear interpolation weights from ``cells`` knots to ``size`` pixels."""
    position = (np.arange(size) + 0.5) / size * (cells - 1)
    lower = np.clip(np.floor(position).astype(int), 0, cells - 2)
    fraction = position - lower
    weights = np.zeros((size, cells), np.float32)
    weights[np.arange(size), lower] = 1 - fraction
    weights[np.arange(size), lower + 1] += fraction
    return weights


# --- argument checks -----------------------------------------------------------------------------


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def _check_image_size(image_size):
    pair = (image_size, image_size) if isinstance(image_size, (int, np.integer)) else tuple(image_size)
    if len(pair) != 2 or any(isinstance(side, bool) or not isinstance(side, (int, np.integer)) for side in pair):
        raise ConfigError(f"image_size must be an int or (height, width). Received: image_size={image_size!r}")
    if min(pair) < 16:
        raise ConfigError(f"image_size must be >= 16 pixels. Received: image_size={image_size!r}")
    return int(pair[0]), int(pair[1])


def _check_classes(classes):
    if isinstance(classes, str):
        classes = (classes,)
    classes = tuple(classes)
    unknown = [name for name in classes if name not in SHAPES]
    if not classes or unknown or len(set(classes)) != len(classes):
        raise ConfigError(
            f"classes must be distinct names from {SHAPES}. Received: classes={classes!r}"
        )
    return classes


def _check_size_range(size_range):
    try:
        smallest, largest = (float(value) for value in size_range)
    except (TypeError, ValueError):
        raise ConfigError(f"size_range must be (smallest, largest). Received: size_range={size_range!r}") from None
    if not 0 < smallest <= largest <= 1:
        raise ConfigError(f"size_range must satisfy 0 < smallest <= largest <= 1. Received: size_range={size_range!r}")
    return smallest, largest
