"""Bounding boxes: format conversion, clipping, validation, padding masks.

Format names are Keras's (``keras.utils.bounding_boxes``):

=====================  =====================================================
``xyxy``               ``[left, top, right, bottom]`` in pixels
``yxyx``               ``[top, left, bottom, right]`` in pixels
``xywh``               ``[left, top, width, height]`` in pixels
``center_xywh``        ``[center_x, center_y, width, height]`` in pixels
``center_yxhw``        ``[center_y, center_x, height, width]`` in pixels
``rel_xyxy`` ...       the same layouts divided by the image width/height
=====================  =====================================================

Inside dlkit the canonical form is ``rel_xyxy`` (coordinates in [0, 1]).
Boxes are tensors of shape ``(..., 4)``. A *padding* box (every coordinate
negative, written as ``-1``) fills the unused rows of a fixed-size box tensor;
every function here keeps padding rows at ``-1`` and they are masked, never
counted, by the rest of :mod:`dlkit.detection`.
"""

import numpy as np
from keras import ops

from dlkit.errors import ConfigError, DatasetError

FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
    "rel_center_yxhw",
)


def check_format(bounding_box_format):
    """Returns the lower-cased format name, or raises ``ConfigError``."""
    name = str(bounding_box_format).lower()
    if name not in FORMATS:
        raise ConfigError(
            f"Unknown bounding_box_format; expected one of {', '.join(FORMATS)}. "
            f"Received: bounding_box_format={bounding_box_format!r}"
        )
    return name


def is_padding(boxes):
    """Returns a boolean mask of shape ``boxes.shape[:-1]``: True for padding rows.

    A padding row has every coordinate negative (dlkit writes ``-1``), as in
    Keras's ``compute_iou(use_masking=True)``.
    """
    boxes = ops.convert_to_tensor(boxes)
    return ops.all(ops.less(boxes, 0.0), axis=-1)


def _layout(name):
    return name.removeprefix("rel_")


def _to_xyxy(boxes, layout):
    first, second, third, fourth = ops.unstack(boxes, 4, axis=-1)
    if layout == "xyxy":
        return first, second, third, fourth
    if layout == "yxyx":
        return second, first, fourth, third
    if layout == "xywh":
        return first, second, first + third, second + fourth
    if layout == "center_xywh":
        return first - third / 2.0, second - fourth / 2.0, first + third / 2.0, second + fourth / 2.0
    # center_yxhw
    return second - fourth / 2.0, first - third / 2.0, second + fourth / 2.0, first + third / 2.0


def _from_xyxy(x1, y1, x2, y2, layout):
    if layout == "xyxy":
        parts = (x1, y1, x2, y2)
    elif layout == "yxyx":
        parts = (y1, x1, y2, x2)
    elif layout == "xywh":
        parts = (x1, y1, x2 - x1, y2 - y1)
    elif layout == "center_xywh":
        parts = ((x1 + x2) / 2.0, (y1 + y2) / 2.0, x2 - x1, y2 - y1)
    else:  # center_yxhw
        parts = ((y1 + y2) / 2.0, (x1 + x2) / 2.0, y2 - y1, x2 - x1)
    return ops.stack(parts, axis=-1)


def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """Converts boxes between Keras's format names, keeping padding rows at -1.

    Args:
        boxes: float tensor of shape ``(..., 4)`` in the ``source`` format.
        source: the format of ``boxes`` (see :data:`FORMATS`).
        target: the wanted format.
        height: image height in pixels; needed when exactly one of ``source``
            and ``target`` is relative (``rel_*``).
        width: image width in pixels; same rule as ``height``.
        dtype: the float type of the arithmetic and of the result.

    Returns:
        Tensor of shape ``(..., 4)`` and type ``dtype`` in the ``target`` format.

    Raises:
        ConfigError: unknown format, a last axis other than 4, or a missing
            ``height``/``width``.
    """
    source, target = check_format(source), check_format(target)
    boxes = ops.cast(ops.convert_to_tensor(boxes), dtype)
    if boxes.shape[-1] != 4:
        raise ConfigError(f"Boxes must have a last axis of size 4. Received: shape={tuple(boxes.shape)}")
    if source == target:
        return boxes
    padding = is_padding(boxes)
    x1, y1, x2, y2 = _to_xyxy(boxes, _layout(source))
    source_relative, target_relative = source.startswith("rel_"), target.startswith("rel_")
    if source_relative != target_relative:
        if height is None or width is None:
            raise ConfigError(
                f"Converting {source} to {target} needs the image height and width. "
                f"Received: height={height}, width={width}"
            )
        scale_x, scale_y = (1.0 / width, 1.0 / height) if target_relative else (float(width), float(height))
        x1, x2 = x1 * scale_x, x2 * scale_x
        y1, y2 = y1 * scale_y, y2 * scale_y
    converted = _from_xyxy(x1, y1, x2, y2, _layout(target))
    return ops.where(padding[..., None], -1.0, converted)


def clip(boxes, bounding_box_format="rel_xyxy", height=None, width=None):
    """Clips boxes to the image frame; padding rows stay -1.

    Args:
        boxes: float tensor ``(..., 4)`` in ``bounding_box_format``.
        bounding_box_format: a Keras format name.
        height: image height (pixel formats only).
        width: image width (pixel formats only).

    Returns:
        Float32 tensor ``(..., 4)`` in the same format. A box entirely outside
        the frame becomes a zero-area box on the border.
    """
    name = check_format(bounding_box_format)
    relative = name.startswith("rel_")
    if not relative and (height is None or width is None):
        raise ConfigError(f"Clipping pixel boxes needs height and width. Received: height={height}, width={width}")
    xyxy = convert_format(boxes, name, "xyxy" if not relative else "rel_xyxy")
    padding = is_padding(xyxy)
    limit_x, limit_y = (1.0, 1.0) if relative else (float(width), float(height))
    x1, y1, x2, y2 = ops.unstack(xyxy, 4, axis=-1)
    clipped = ops.stack(
        [ops.clip(x1, 0.0, limit_x), ops.clip(y1, 0.0, limit_y), ops.clip(x2, 0.0, limit_x), ops.clip(y2, 0.0, limit_y)],
        axis=-1,
    )
    clipped = ops.where(padding[..., None], -1.0, clipped)
    return convert_format(clipped, "xyxy" if not relative else "rel_xyxy", name)


def area(boxes, bounding_box_format="rel_xyxy"):
    """Returns box areas, shape ``boxes.shape[:-1]``; padding and flipped boxes give 0."""
    x1, y1, x2, y2 = ops.unstack(convert_format(boxes, bounding_box_format, _corners(bounding_box_format)), 4, axis=-1)
    return ops.maximum(x2 - x1, 0.0) * ops.maximum(y2 - y1, 0.0)


def _corners(name):
    return "rel_xyxy" if check_format(name).startswith("rel_") else "xyxy"


def validate(boxes, labels=None, bounding_box_format="rel_xyxy", height=None, width=None, on_invalid="raise",
             tolerance=1e-6):
    """Checks boxes for non-finite, degenerate, flipped and out-of-frame rows.

    A box is *invalid* when a coordinate is NaN or infinite, when it has zero
    or negative width or height (degenerate or flipped), or when it lies partly
    outside the image (beyond ``tolerance``). Padding rows (all coordinates
    negative and finite) are never invalid. As in TensorFlow's and NumPy's
    comparisons, NaN is neither above nor below a limit, so it is tested for
    explicitly: a NaN box never passes as valid.

    Args:
        boxes: array ``(..., M, 4)`` in ``bounding_box_format``.
        labels: optional int array ``(..., M)``; invalid rows become -1 with ``"drop"``.
        bounding_box_format: a Keras format name.
        height: image height (pixel formats only).
        width: image width (pixel formats only).
        on_invalid: ``"raise"`` (a ``DatasetError`` naming the first bad box),
            ``"drop"`` (invalid rows become padding), or ``"clip"`` (out-of-frame
            boxes are clipped; non-finite, degenerate and flipped ones are
            dropped).
        tolerance: slack allowed outside the frame.

    Returns:
        ``(boxes, labels, invalid)``: NumPy arrays; ``invalid`` is the boolean
        mask of rows that were invalid on input.

    Raises:
        DatasetError: an invalid box with ``on_invalid="raise"``.
        ConfigError: unknown ``on_invalid``.
    """
    if on_invalid not in ("raise", "drop", "clip"):
        raise ConfigError(f"on_invalid must be 'raise', 'drop' or 'clip'. Received: on_invalid={on_invalid!r}")
    name = check_format(bounding_box_format)
    relative = name.startswith("rel_")
    corners = np.asarray(ops.convert_to_numpy(convert_format(boxes, name, _corners(name))), dtype=np.float32)
    padding = np.all(corners < 0, axis=-1) if corners.size else np.zeros(corners.shape[:-1], bool)
    original = np.asarray(boxes, dtype=np.float32)
    padding |= np.all(original < 0, axis=-1) if original.size else padding
    # NaN fails every comparison below and inf can pass them: test it apart.
    nonfinite = ~np.all(np.isfinite(original), axis=-1) | ~np.all(np.isfinite(corners), axis=-1)
    padding &= ~nonfinite
    limit_x, limit_y = (1.0, 1.0) if relative else (width, height)
    degenerate = (corners[..., 2] <= corners[..., 0]) | (corners[..., 3] <= corners[..., 1])
    outside = np.zeros_like(degenerate)
    if limit_x is not None and limit_y is not None:
        outside = (
            (corners[..., 0] < -tolerance)
            | (corners[..., 1] < -tolerance)
            | (corners[..., 2] > limit_x + tolerance)
            | (corners[..., 3] > limit_y + tolerance)
        )
    invalid = (nonfinite | degenerate | outside) & ~padding
    labels_out = None if labels is None else np.array(labels, dtype=np.int32, copy=True)
    if on_invalid == "raise":
        if invalid.any():
            index = tuple(int(i) for i in np.argwhere(invalid)[0])
            if nonfinite[index]:
                kind = "has a NaN or infinite coordinate"
            elif degenerate[index]:
                kind = "has zero or negative width/height"
            else:
                kind = "lies outside the image"
            raise DatasetError(
                f"Box {index} {kind} (format {name}); pass on_invalid='drop' or 'clip' to handle such boxes. "
                f"Received: box={original[index].tolist()}"
            )
        return original, labels_out, invalid
    out = original.copy()
    if on_invalid == "clip":
        clipped = np.asarray(ops.convert_to_numpy(clip(original, name, height, width)))
        out = np.where(outside[..., None] & ~padding[..., None], clipped, out)
        corners = np.asarray(ops.convert_to_numpy(convert_format(out, name, _corners(name))))
        degenerate = (corners[..., 2] <= corners[..., 0]) | (corners[..., 3] <= corners[..., 1])
        drop = (nonfinite | degenerate) & ~padding
    else:
        drop = invalid
    out[drop] = -1.0
    if labels_out is not None:
        labels_out[drop] = -1
    return out, labels_out, invalid
