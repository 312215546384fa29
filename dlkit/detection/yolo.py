"""YOLOv2-style detection: target encoding, head, detector, loss, decoding.

Redmon & Farhadi, "YOLO9000: Better, Faster, Stronger", CVPR 2017. The image
is divided into a ``grid_h x grid_w`` grid; every cell predicts ``A`` boxes,
one per anchor shape, each as ``5 + C`` numbers ``(tx, ty, tw, th, to, class
logits)``, decoded as::

    bx = (sigmoid(tx) + cx) / grid_w        bw = pw * exp(tw)
    by = (sigmoid(ty) + cy) / grid_h        bh = ph * exp(th)
    score(class) = sigmoid(to) * softmax(class logits)[class]

with ``(cx, cy)`` the cell's column and row and ``(pw, ph)`` the anchor size,
relative to the image (``rel_xyxy`` world; anchors from
:func:`dlkit.detection.anchors.kmeans_anchors` on relative boxes).

Tensors: predictions and targets are ``(batch, grid_h, grid_w, A, 5 + C)``.
A target row holds ``(x_offset, y_offset, log(w / pw), log(h / ph), 1,
one-hot class)`` where the object is assigned, zeros elsewhere.
"""

import keras
import numpy as np
from keras import layers, ops

from dlkit.detection import boxes as box_utils
from dlkit.detection.iou import compute_iou
from dlkit.errors import ConfigError

# exp(tw) is clipped here so a wild prediction cannot overflow to inf (and NaN
# the IoU); e^10 times an anchor is larger than any image.
MAX_LOG_SCALE = 10.0


def _grid(grid_size):
    """``(grid_h, grid_w)`` from ``S`` or ``(grid_h, grid_w)``, or raises ``ConfigError`` unless both are ints >= 1."""
    message = f"grid_size must be an int >= 1 or a pair (grid_h, grid_w) of them. Received: grid_size={grid_size!r}"
    try:
        sizes = np.asarray(grid_size)
    except (TypeError, ValueError) as error:
        raise ConfigError(message) from error
    if sizes.ndim == 0:
        sizes = np.stack([sizes, sizes])
    if sizes.shape != (2,) or sizes.dtype.kind not in "iuf" or not np.all(np.isfinite(sizes)):
        raise ConfigError(message)
    if np.any(sizes < 1) or np.any(sizes != np.floor(sizes)):
        raise ConfigError(message)
    return int(sizes[0]), int(sizes[1])


def _check_anchors(anchors):
    """Anchors as a float32 ``(A, 2)`` array, or ``ConfigError`` unless every ``(w, h)`` is finite and positive."""
    message = "anchors must be a non-empty (A, 2) array of finite, positive (w, h)."
    try:
        array = np.asarray(anchors, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{message} Received: anchors={anchors!r}") from error
    # NaN fails ``<= 0`` as well as ``> 0``: test finiteness explicitly.
    if array.ndim != 2 or array.shape[-1] != 2 or len(array) == 0 or not np.all(np.isfinite(array) & (array > 0)):
        raise ConfigError(f"{message} Received: anchors={array.tolist()}")
    return array


def encode_targets(boxes, labels, grid_size, anchors, num_classes, bounding_box_format="rel_xyxy", height=None,
                   width=None, return_collisions=False):
    """Encodes ground-truth boxes into YOLOv2 training targets.

    Boxes are first clipped to the image, as Darknet's loader does before it
    builds YOLO targets (and as :mod:`dlkit.detection.data` does). Each real
    box is then assigned to the grid cell holding its center and to the
    anchor whose shape (same center) has the best IoU with it. Two boxes that
    land on the same cell and anchor cannot both be learned: the larger box
    wins (ties: the earlier box), the other is dropped and counted. Padding
    boxes (-1), labels outside ``[0, num_classes)``, boxes with a NaN or
    infinite coordinate (not clipped: dropped), and boxes with zero or
    negative width or height after clipping (degenerate, flipped, or wholly
    outside the image) are ignored like padding (not assigned, not counted as
    collisions); use :func:`dlkit.detection.boxes.validate` to reject them loudly.

    Args:
        boxes: float tensor ``(M, 4)`` or ``(batch, M, 4)``, padded with -1.
        labels: int tensor ``(M,)`` or ``(batch, M)``, padded with -1.
        grid_size: ``S`` or ``(grid_h, grid_w)``, ints >= 1.
        anchors: ``(A, 2)`` anchor ``(width, height)`` relative to the image,
            finite and positive.
        num_classes: number of classes ``C``.
        bounding_box_format: format of ``boxes`` (Keras name).
        height: image height, for pixel formats.
        width: image width, for pixel formats.
        return_collisions: also return the number of boxes dropped by collisions.

    Returns:
        Float32 targets ``([batch,] grid_h, grid_w, A, 5 + C)``; with
        ``return_collisions``, ``(targets, collisions)`` where ``collisions``
        is an int32 tensor ``([batch])``.

    Raises:
        ConfigError: a grid size below 1 or not an int, or anchors that are
            not a non-empty ``(A, 2)`` array of finite, positive values.
    """
    grid_h, grid_w = _grid(grid_size)
    anchors = _check_anchors(anchors)
    num_anchors = len(anchors)
    boxes = box_utils.convert_format(boxes, bounding_box_format, "rel_xyxy", height=height, width=width)
    labels = ops.cast(ops.convert_to_tensor(labels), "int32")
    batched = len(boxes.shape) == 3
    if not batched:
        boxes, labels = boxes[None], labels[None]
    batch = ops.shape(boxes)[0]
    num_boxes = ops.shape(boxes)[1]
    finite = ops.all(ops.isfinite(boxes), axis=-1)
    real = ops.logical_not(box_utils.is_padding(boxes)) & finite
    # Non-finite rows become zeros (then ignored), so no NaN reaches the arithmetic below.
    boxes = ops.where(finite[..., None], ops.clip(boxes, 0.0, 1.0), 0.0)
    x1, y1, x2, y2 = ops.unstack(boxes, 4, axis=-1)
    box_w, box_h = x2 - x1, y2 - y1
    center_x, center_y = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    valid = real & (labels >= 0) & (labels < num_classes) & (box_w > 0.0) & (box_h > 0.0)
    cell_x = ops.clip(ops.cast(ops.floor(center_x * grid_w), "int32"), 0, grid_w - 1)
    cell_y = ops.clip(ops.cast(ops.floor(center_y * grid_h), "int32"), 0, grid_h - 1)
    offset_x = center_x * grid_w - ops.cast(cell_x, "float32")
    offset_y = center_y * grid_h - ops.cast(cell_y, "float32")
    safe_w, safe_h = ops.maximum(box_w, 1e-12), ops.maximum(box_h, 1e-12)
    anchor_w, anchor_h = ops.convert_to_tensor(anchors[:, 0]), ops.convert_to_tensor(anchors[:, 1])
    intersection = ops.minimum(safe_w[..., None], anchor_w) * ops.minimum(safe_h[..., None], anchor_h)
    shape_iou = intersection / (safe_w[..., None] * safe_h[..., None] + anchor_w * anchor_h - intersection)
    best_anchor = ops.cast(ops.argmax(shape_iou, axis=-1), "int32")
    slot = (cell_y * grid_w + cell_x) * num_anchors + best_anchor

    # Deterministic collision rule: on a shared (cell, anchor) slot the larger
    # box wins, ties go to the lower index; the scatter below then never sees
    # two real boxes on one slot (tf's scatter order on duplicates is undefined).
    box_area = box_w * box_h
    index = ops.arange(num_boxes)
    same_slot = ops.equal(slot[:, :, None], slot[:, None, :]) & valid[:, :, None] & valid[:, None, :]
    beats = (box_area[:, None, :] > box_area[:, :, None]) | (
        ops.equal(box_area[:, None, :], box_area[:, :, None]) & (index[None, None, :] < index[None, :, None])
    )
    loses = ops.any(same_slot & beats, axis=-1)
    winner = valid & ops.logical_not(loses)
    collisions = ops.sum(ops.cast(valid & loses, "int32"), axis=-1)

    anchor_w_box = ops.take(anchor_w, best_anchor)
    anchor_h_box = ops.take(anchor_h, best_anchor)
    one_hot = ops.one_hot(ops.clip(labels, 0, num_classes - 1), num_classes)
    values = ops.concatenate(
        [
            offset_x[..., None],
            offset_y[..., None],
            ops.log(safe_w / anchor_w_box)[..., None],
            ops.log(safe_h / anchor_h_box)[..., None],
            ops.ones_like(offset_x)[..., None],
            one_hot,
        ],
        axis=-1,
    )
    values = ops.where(winner[..., None], values, 0.0)
    cells = grid_h * grid_w * num_anchors
    flat_slot = ops.arange(batch)[:, None] * cells + slot
    flat_slot = ops.where(winner, flat_slot, 0)
    depth = 5 + num_classes
    targets = ops.scatter(
        ops.reshape(flat_slot, (-1, 1)),
        ops.reshape(values, (-1, depth)),
        (batch * cells, depth),
    )
    targets = ops.reshape(targets, (batch, grid_h, grid_w, num_anchors, depth))
    if not batched:
        targets, collisions = targets[0], collisions[0]
    return (targets, collisions) if return_collisions else targets


def _boxes_from_offsets(offsets, log_scales, anchors):
    """``rel_xyxy`` boxes ``(..., gh, gw, A, 4)`` from cell offsets and log scales."""
    grid_h, grid_w = offsets.shape[-4], offsets.shape[-3]
    column = ops.reshape(ops.arange(grid_w, dtype="float32"), (1, grid_w, 1))
    row = ops.reshape(ops.arange(grid_h, dtype="float32"), (grid_h, 1, 1))
    center_x = (offsets[..., 0] + column) / grid_w
    center_y = (offsets[..., 1] + row) / grid_h
    anchors = ops.convert_to_tensor(np.asarray(anchors, dtype=np.float32))
    box_w = anchors[:, 0] * ops.exp(ops.minimum(log_scales[..., 0], MAX_LOG_SCALE))
    box_h = anchors[:, 1] * ops.exp(ops.minimum(log_scales[..., 1], MAX_LOG_SCALE))
    return ops.stack(
        [center_x - box_w / 2.0, center_y - box_h / 2.0, center_x + box_w / 2.0, center_y + box_h / 2.0], axis=-1
    )


def decode(predictions, anchors, bounding_box_format="rel_xyxy", height=None, width=None):
    """Decodes raw head outputs into boxes and per-class scores.

    Args:
        predictions: float tensor ``(batch, grid_h, grid_w, A, 5 + C)`` (raw logits).
        anchors: ``(A, 2)`` anchors relative to the image.
        bounding_box_format: format of the returned boxes.
        height: image height, for pixel formats.
        width: image width, for pixel formats.

    Returns:
        ``(boxes, scores)``: float32 ``(batch, grid_h * grid_w * A, 4)`` and
        ``(batch, grid_h * grid_w * A, C)`` with ``score = sigmoid(to) *
        softmax(classes)``. Boxes are not clipped to the image.
    """
    anchors = _check_anchors(anchors)
    predictions = ops.cast(ops.convert_to_tensor(predictions), "float32")
    boxes = _boxes_from_offsets(ops.sigmoid(predictions[..., 0:2]), predictions[..., 2:4], anchors)
    scores = ops.sigmoid(predictions[..., 4:5]) * ops.softmax(predictions[..., 5:], axis=-1)
    # The grid is static even when the batch is not: keep the box count static for NMS inside a graph.
    count = int(np.prod(predictions.shape[1:4]))
    boxes = ops.reshape(boxes, (-1, count, 4))
    scores = ops.reshape(scores, (-1, count, predictions.shape[-1] - 5))
    return box_utils.convert_format(boxes, "rel_xyxy", bounding_box_format, height=height, width=width), scores


def decode_targets(targets, anchors, bounding_box_format="rel_xyxy", height=None, width=None):
    """Inverts :func:`encode_targets`: the assigned boxes and labels back.

    Args:
        targets: float tensor ``(batch, grid_h, grid_w, A, 5 + C)``.
        anchors: the anchors used to encode.
        bounding_box_format: format of the returned boxes.
        height: image height, for pixel formats.
        width: image width, for pixel formats.

    Returns:
        ``(boxes, labels)``: ``(batch, grid_h * grid_w * A, 4)`` and
        ``(batch, grid_h * grid_w * A)``; unassigned rows are -1.
    """
    anchors = _check_anchors(anchors)
    targets = ops.cast(ops.convert_to_tensor(targets), "float32")
    boxes = _boxes_from_offsets(targets[..., 0:2], targets[..., 2:4], anchors)
    assigned = targets[..., 4] > 0.5
    labels = ops.where(assigned, ops.cast(ops.argmax(targets[..., 5:], axis=-1), "int32"), -1)
    boxes = ops.where(assigned[..., None], boxes, -1.0)
    batch = ops.shape(targets)[0]
    boxes = ops.reshape(boxes, (batch, -1, 4))
    labels = ops.reshape(labels, (batch, -1))
    return box_utils.convert_format(boxes, "rel_xyxy", bounding_box_format, height=height, width=width), labels


@keras.saving.register_keras_serializable(package="dlkit")
class YoloLoss(keras.losses.Loss):
    """YOLOv2 loss: coordinates, objectness, no-object and class terms.

    Redmon & Farhadi, "YOLO9000", CVPR 2017 (darknet ``region`` layer), with
    YOLOv3's binary cross-entropy for objectness. Per image the loss is the sum
    of

    * ``coord_scale * (2 - w*h) * [(sigmoid(tx) - x)^2 + (sigmoid(ty) - y)^2 +
      (tw - log(w/pw))^2 + (th - log(h/ph))^2]`` over assigned anchors (small
      boxes weigh more);
    * ``object_scale * BCE(sigmoid(to), 1)`` over assigned anchors;
    * ``noobject_scale * BCE(sigmoid(to), 0)`` over the other anchors, except
      those whose predicted box already overlaps a true box with IoU above
      ``ignore_threshold`` (they are not punished for finding an object);
    * ``class_scale * softmax cross-entropy`` over assigned anchors;

    and the batch loss is the mean over images. It is not normalized by the
    number of objects, so an image with no boxes gives a finite loss (only the
    no-object term).

    Args:
        anchors: ``(A, 2)`` anchors relative to the image (the encoder's).
        coord_scale: weight of the coordinate term (darknet: 1).
        object_scale: weight of the object term (darknet: 5).
        noobject_scale: weight of the no-object term (darknet: 1).
        class_scale: weight of the class term (darknet: 1).
        ignore_threshold: IoU above which a non-assigned prediction is not
            punished as background (darknet ``thresh``: 0.6).
        max_boxes: at most this many true boxes per image are used for the
            ignore test (the assigned anchors with the largest objectness).
        name: loss name.
        reduction: Keras reduction (default mean over the batch).
    """

    def __init__(self, anchors, coord_scale=1.0, object_scale=5.0, noobject_scale=1.0, class_scale=1.0,
                 ignore_threshold=0.6, max_boxes=64, name="yolo_loss", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.anchors = _check_anchors(anchors)
        self.coord_scale = float(coord_scale)
        self.object_scale = float(object_scale)
        self.noobject_scale = float(noobject_scale)
        self.class_scale = float(class_scale)
        self.ignore_threshold = float(ignore_threshold)
        self.max_boxes = int(max_boxes)

    def terms(self, y_true, y_pred):
        """Returns the four per-image terms as a dict of ``(batch,)`` tensors."""
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        assigned = y_true[..., 4]
        background = 1.0 - assigned
        pred_offsets = ops.sigmoid(y_pred[..., 0:2])
        pred_scales = y_pred[..., 2:4]
        true_boxes = _boxes_from_offsets(y_true[..., 0:2], y_true[..., 2:4], self.anchors)
        true_w = true_boxes[..., 2] - true_boxes[..., 0]
        true_h = true_boxes[..., 3] - true_boxes[..., 1]
        size_weight = 2.0 - ops.clip(true_w * true_h, 0.0, 1.0)
        coord = ops.sum(ops.square(pred_offsets - y_true[..., 0:2]), axis=-1) + ops.sum(
            ops.square(pred_scales - y_true[..., 2:4]), axis=-1
        )
        coord = self.coord_scale * assigned * size_weight * coord

        # Ignore test: IoU of every predicted box with the image's true boxes,
        # gathered from the assigned anchors (top-k by objectness) of y_true.
        batch = ops.shape(y_true)[0]
        pred_boxes = ops.stop_gradient(_boxes_from_offsets(pred_offsets, pred_scales, self.anchors))
        pred_flat = ops.reshape(pred_boxes, (batch, -1, 4))
        true_flat = ops.reshape(true_boxes, (batch, -1, 4))
        assigned_flat = ops.reshape(assigned, (batch, -1))
        count = min(self.max_boxes, int(np.prod(y_true.shape[1:4])))
        top_values, top_index = ops.top_k(assigned_flat, k=count)
        gathered = ops.take_along_axis(true_flat, top_index[..., None], axis=1)
        gathered = ops.where(top_values[..., None] > 0.5, gathered, -1.0)
        best_iou = ops.max(compute_iou(pred_flat, gathered), axis=-1)
        ignore = ops.reshape(ops.cast(best_iou > self.ignore_threshold, "float32"), ops.shape(assigned))

        logit = y_pred[..., 4]
        objectness = self.object_scale * assigned * ops.softplus(-logit)
        no_object = self.noobject_scale * background * (1.0 - ignore) * ops.softplus(logit)
        log_probabilities = ops.log_softmax(y_pred[..., 5:], axis=-1)
        classes = -self.class_scale * assigned * ops.sum(y_true[..., 5:] * log_probabilities, axis=-1)
        axes = (1, 2, 3)
        return {
            "coord": ops.sum(coord, axis=axes),
            "object": ops.sum(objectness, axis=axes),
            "no_object": ops.sum(no_object, axis=axes),
            "class": ops.sum(classes, axis=axes),
        }

    def call(self, y_true, y_pred):
        terms = self.terms(y_true, y_pred)
        return terms["coord"] + terms["object"] + terms["no_object"] + terms["class"]

    def get_config(self):
        config = super().get_config()
        config.update(
            anchors=self.anchors.tolist(),
            coord_scale=self.coord_scale,
            object_scale=self.object_scale,
            noobject_scale=self.noobject_scale,
            class_scale=self.class_scale,
            ignore_threshold=self.ignore_threshold,
            max_boxes=self.max_boxes,
        )
        return config


def conv_block(x, filters, kernel_size, name):
    """Darknet block: convolution (no bias), batch norm, leaky ReLU (0.1)."""
    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.LeakyReLU(negative_slope=0.1, name=f"{name}_leaky")(x)


def tiny_darknet(input_shape=(64, 64, 3), widths=(16, 32, 64), final_width=128, name="tiny_darknet"):
    """A small Darknet-style backbone for CPU-sized detection.

    Like the tiny YOLOv2 reference network (Redmon & Farhadi, YOLO9000, CVPR
    2017): 3x3 conv-BN-leaky blocks, each followed by 2x2 max pooling, then a
    3x3 block without pooling. The stride is ``2 ** len(widths)``.

    Args:
        input_shape: ``(height, width, channels)``.
        widths: filters of the pooled blocks ``block1 ... blockN``.
        final_width: filters of the last block (``block_final``).
        name: model name.

    Returns:
        A ``keras.Model`` from images to a feature map of stride ``2 ** len(widths)``.
    """
    if not widths:
        raise ConfigError(f"tiny_darknet needs at least one block. Received: widths={widths}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for index, filters in enumerate(widths, start=1):
        x = conv_block(x, filters, 3, name=f"block{index}")
        x = layers.MaxPooling2D(2, name=f"block{index}_pool")(x)
    x = conv_block(x, final_width, 3, name="block_final")
    return keras.Model(inputs, x, name=name)


def yolo_head(features, num_anchors, num_classes, name="yolo_head"):
    """YOLOv2 head: a 1x1 convolution with ``A * (5 + C)`` filters, reshaped.

    Args:
        features: a feature-map tensor ``(batch, grid_h, grid_w, channels)``
            with static grid size.
        num_anchors: ``A``.
        num_classes: ``C``.
        name: prefix of the layer names (``<name>_conv``, ``<name>_reshape``).

    Returns:
        Tensor ``(batch, grid_h, grid_w, A, 5 + C)`` of raw logits (float32
        even under mixed precision).
    """
    grid_h, grid_w = features.shape[1], features.shape[2]
    if grid_h is None or grid_w is None:
        raise ConfigError(f"yolo_head needs a feature map with a static size. Received: shape={features.shape}")
    x = layers.Conv2D(num_anchors * (5 + num_classes), 1, name=f"{name}_conv", dtype="float32")(features)
    return layers.Reshape((grid_h, grid_w, num_anchors, 5 + num_classes), name=f"{name}_reshape", dtype="float32")(x)


def yolo_detector(backbone="tiny_darknet", input_size=(64, 64), anchors=None, num_classes=3, feature_layer=None,
                  backbone_options=None, objectness_prior=0.01, name="yolo"):
    """A YOLOv2-style detector: backbone feature map plus :func:`yolo_head`.

    Args:
        backbone: ``"tiny_darknet"``, a name known to ``dlkit.models.build``
            (built with ``include_top=False``), or a ``keras.Model`` whose
            output (or ``feature_layer``) is the feature map.
        input_size: ``(height, width)`` of the input images.
        anchors: ``(A, 2)`` anchors relative to the image.
        num_classes: ``C``.
        feature_layer: name of the backbone layer to attach the head to
            (default: the backbone's output).
        backbone_options: extra keyword arguments for the backbone builder.
        objectness_prior: initial objectness probability; the head's bias
            starts at its logit so training does not begin with a flood of
            confident background predictions (Lin et al., focal loss, 2017).
        name: model name.

    Returns:
        A ``keras.Model`` from images ``(batch, height, width, 3)`` in [0, 1]
        to logits ``(batch, grid_h, grid_w, A, 5 + C)``.
    """
    anchors = _check_anchors(anchors)
    if num_classes < 1:
        raise ConfigError(f"num_classes must be >= 1. Received: num_classes={num_classes}")
    height, width = _grid(input_size)
    options = dict(backbone_options or {})
    if isinstance(backbone, str):
        if backbone == "tiny_darknet":
            backbone = tiny_darknet(input_shape=(height, width, 3), **options)
        else:
            from dlkit import models

            options.setdefault("weights", None)
            backbone = models.build(backbone, input_shape=(height, width, 3), include_top=False, **options)
    if not isinstance(backbone, keras.Model):
        raise ConfigError(f"backbone must be a name or a keras.Model. Received: backbone={backbone!r}")
    features = backbone.get_layer(feature_layer).output if feature_layer else backbone.output
    outputs = yolo_head(features, len(anchors), num_classes)
    model = keras.Model(backbone.input, outputs, name=name)
    head = model.get_layer("yolo_head_conv")
    bias = np.zeros(head.bias.shape, dtype=np.float32).reshape(len(anchors), 5 + num_classes)
    bias[:, 4] = np.log(objectness_prior / (1.0 - objectness_prior))
    head.bias.assign(bias.reshape(-1))
    return model


def detect(model, images, anchors, score_threshold=0.25, iou_threshold=0.45, max_detections=100,
           implementation="tf", batch_size=64, bounding_box_format="rel_xyxy"):
    """Runs a detector on images: predict, :func:`decode`, per-class NMS.

    Args:
        model: a model from :func:`yolo_detector`.
        images: float array ``(N, height, width, 3)``.
        anchors: the model's anchors.
        score_threshold: minimum score kept.
        iou_threshold: NMS overlap threshold.
        max_detections: detections kept per image.
        implementation: ``"tf"`` or ``"keras"`` (see :func:`dlkit.detection.nms.non_max_suppression`).
        batch_size: prediction batch size.
        bounding_box_format: format of the returned boxes (relative formats only).

    Returns:
        The dict of :func:`dlkit.detection.nms.non_max_suppression` as NumPy arrays.
    """
    from dlkit.detection.nms import non_max_suppression

    outputs = {"boxes": [], "scores": [], "classes": [], "num_detections": []}
    for start in range(0, len(images), batch_size):
        predictions = model(np.asarray(images[start:start + batch_size], dtype=np.float32), training=False)
        boxes, scores = decode(predictions, anchors)
        result = non_max_suppression(
            boxes, scores, iou_threshold=iou_threshold, score_threshold=score_threshold,
            max_detections=max_detections, implementation=implementation,
        )
        for key, parts in outputs.items():
            parts.append(ops.convert_to_numpy(result[key]))
    result = {key: np.concatenate(value, axis=0) for key, value in outputs.items()}
    result["boxes"] = np.asarray(ops.convert_to_numpy(
        box_utils.convert_format(result["boxes"], "rel_xyxy", bounding_box_format)))
    return result
