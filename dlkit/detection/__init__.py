"""YOLO-style object detection for Keras 3: boxes, IoU, anchors, encoding, loss, NMS, mAP.

Boxes are ``(..., 4)`` tensors; public functions take ``bounding_box_format``
with Keras's names and work internally in ``rel_xyxy``. Padding boxes are -1.

    from dlkit.detection import yolo_detector, YoloLoss, encode_targets, decode
    from dlkit.detection import non_max_suppression, mean_average_precision
    from dlkit.detection import training_batches, plot_detections

``dlkit.detection.data.load`` reads detection sets (shapes, TFDS VOC).
"""

from dlkit.detection.anchors import box_sizes, kmeans_anchors, mean_best_iou, shape_iou
from dlkit.detection.boxes import FORMATS, clip, convert_format, is_padding, validate
from dlkit.detection.data import collect, random_flip, training_batches
from dlkit.detection.draw import draw_boxes, plot_detections
from dlkit.detection.iou import aligned_iou, compute_iou, generalized_iou
from dlkit.detection.metrics import (
    MeanAveragePrecisionCallback,
    average_precision,
    evaluate_detections,
    mean_average_precision,
)
from dlkit.detection.nms import non_max_suppression
from dlkit.detection.serving import YoloDetections, serving_detector
from dlkit.detection.yolo import (
    YoloLoss,
    decode,
    decode_targets,
    detect,
    encode_targets,
    tiny_darknet,
    yolo_detector,
    yolo_head,
)

__all__ = [
    "FORMATS",
    "MeanAveragePrecisionCallback",
    "YoloDetections",
    "YoloLoss",
    "aligned_iou",
    "average_precision",
    "box_sizes",
    "clip",
    "collect",
    "compute_iou",
    "convert_format",
    "decode",
    "decode_targets",
    "detect",
    "draw_boxes",
    "encode_targets",
    "evaluate_detections",
    "generalized_iou",
    "is_padding",
    "kmeans_anchors",
    "mean_average_precision",
    "mean_best_iou",
    "non_max_suppression",
    "plot_detections",
    "random_flip",
    "serving_detector",
    "shape_iou",
    "tiny_darknet",
    "training_batches",
    "validate",
    "yolo_detector",
    "yolo_head",
]
