"""A detector that serves: raw pixels in, boxes in the picture's own pixels out, NMS in the graph.

:func:`yolo_detector` gives the raw YOLO grid, which training needs. What a
user (or a server) needs is one model from an image to its detections::

    pixels (batch, H, W, C) in [0, 255], any size
      -> ImageAdapter (resize to the detector's input, RGB, / 255)
      -> the YOLO grid
      -> YoloDetections: decode, per-class NMS (keras.ops), boxes scaled to H x W
      -> {"boxes" (batch, K, 4) pixel xyxy, "scores" (batch, K), "classes" (batch, K), "num_detections" (batch,)}

Everything after the pixels is ``keras.ops``, so the whole thing saves as one
``.keras`` file and exports with ``model.export`` (SavedModel, LiteRT, ONNX)
with decoding and NMS inside: a served detector needs no Python around it.
"""

import keras
from keras import ops

from dlkit.data.adapter import ImageAdapter
from dlkit.detection import boxes as box_utils
from dlkit.detection.nms import non_max_suppression
from dlkit.detection.yolo import _check_anchors, decode
from dlkit.errors import ConfigError

OUTPUTS = ("boxes", "scores", "classes", "num_detections")


@keras.saving.register_keras_serializable(package="dlkit")
class YoloDetections(keras.layers.Layer):
    """Decodes a YOLO grid and keeps the best boxes per class, in the pixels of the input images.

    Called as ``layer(grid, images)``: ``grid`` is the detector's raw output
    ``(batch, grid_h, grid_w, A, 5 + C)``; ``images`` the pixels the user
    gave, whose height and width the boxes are scaled to.

    Args:
        anchors: ``(A, 2)`` anchors relative to the image (the training ones).
        iou_threshold: NMS overlap threshold.
        score_threshold: detections need a score above it.
        max_detections: detections kept per image (``K``).
        clip_boxes: clip boxes to the image.
        **kwargs: ``keras.layers.Layer`` arguments (``name``).

    Returns:
        A dict: ``boxes`` float32 ``(batch, K, 4)`` pixel ``xyxy`` of the
        input images, ``scores`` ``(batch, K)``, ``classes`` int32 ``(batch, K)``,
        sorted by decreasing score and padded with -1, and ``num_detections``
        int32 ``(batch,)``.
    """

    def __init__(self, anchors, iou_threshold=0.45, score_threshold=0.01, max_detections=100, clip_boxes=True,
                 **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.anchors = _check_anchors(anchors)
        if not 0.0 <= float(iou_threshold) <= 1.0:
            raise ConfigError(f"iou_threshold must be in [0, 1]. Received: iou_threshold={iou_threshold}")
        if int(max_detections) < 1:
            raise ConfigError(f"max_detections must be >= 1. Received: max_detections={max_detections}")
        self.iou_threshold = float(iou_threshold)
        self.score_threshold = float(score_threshold)
        self.max_detections = int(max_detections)
        self.clip_boxes = bool(clip_boxes)

    def call(self, grid, images):
        boxes, scores = decode(grid, self.anchors)
        if self.clip_boxes:
            boxes = box_utils.clip(boxes, "rel_xyxy")
        found = non_max_suppression(
            boxes, scores, iou_threshold=self.iou_threshold, score_threshold=self.score_threshold,
            max_detections=self.max_detections, implementation="keras",
        )
        height = ops.cast(ops.shape(images)[1], "float32")
        width = ops.cast(ops.shape(images)[2], "float32")
        scale = ops.stack([width, height, width, height])
        valid = ops.arange(self.max_detections)[None, :] < found["num_detections"][:, None]
        return {
            "boxes": ops.where(valid[..., None], found["boxes"] * scale, -1.0),
            "scores": found["scores"],
            "classes": found["classes"],
            "num_detections": found["num_detections"],
        }

    def compute_output_spec(self, grid, images):
        batch, count = grid.shape[0], self.max_detections
        return {
            "boxes": keras.KerasTensor((batch, count, 4), "float32"),
            "scores": keras.KerasTensor((batch, count), "float32"),
            "classes": keras.KerasTensor((batch, count), "int32"),
            "num_detections": keras.KerasTensor((batch,), "int32"),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "anchors": self.anchors.tolist(),
            "iou_threshold": self.iou_threshold,
            "score_threshold": self.score_threshold,
            "max_detections": self.max_detections,
            "clip_boxes": self.clip_boxes,
        }


def serving_detector(detector, anchors, *, iou_threshold=0.45, score_threshold=0.01, max_detections=100,
                     name=None):
    """Wraps a trained :func:`~dlkit.detection.yolo.yolo_detector` into pixels -> detections.

    Args:
        detector: the trained model from images in [0, 1] at its input size to
            the raw YOLO grid.
        anchors: its ``(A, 2)`` relative anchors.
        iou_threshold, score_threshold, max_detections: see :class:`YoloDetections`.
        name: model name (default ``<detector>_serving``).

    Returns:
        A ``keras.Model`` from pixels ``(batch, H, W, 1-4 channels)`` in
        [0, 255] (any H and W) to the dict of :class:`YoloDetections`.
    """
    height, width, channels = detector.input_shape[1:]
    if height is None or width is None:
        raise ConfigError(f"The detector needs a fixed input size. Received: input_shape={detector.input_shape}")
    pixels = keras.Input((None, None, None), name="pixels")
    x = ImageAdapter((height, width), channels=channels, scale=1.0 / 255.0, name="adapter")(pixels)
    grid = detector(x)
    outputs = YoloDetections(anchors, iou_threshold, score_threshold, max_detections, name="detections")(grid, pixels)
    return keras.Model(pixels, outputs, name=name or f"{detector.name}_serving")
