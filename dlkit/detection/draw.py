"""Pictures of detections: boxes with class names and scores drawn on images."""

import pathlib

import numpy as np

from dlkit.detection import boxes as box_utils

# Colour-blind-friendly palette (Okabe & Ito), one colour per class.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")
TRUE_COLOR = "#FFFFFF"


def _pixel_boxes(boxes, bounding_box_format, height, width):
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    if len(boxes) == 0:
        return boxes
    return np.asarray(box_utils.convert_format(boxes, bounding_box_format, "xyxy", height=height, width=width))


def draw_boxes(axes, image, boxes, labels, scores=None, class_names=None, bounding_box_format="rel_xyxy",
               color=None, linestyle="-", show_image=True):
    """Draws boxes (and their class names and scores) onto a matplotlib ``Axes``.

    Args:
        axes: a ``matplotlib.axes.Axes``.
        image: array ``(height, width, 3)`` in [0, 1].
        boxes: ``(M, 4)`` in ``bounding_box_format``; padding rows (-1) are skipped.
        labels: ``(M,)`` int class ids; -1 rows are skipped.
        scores: optional ``(M,)`` scores shown after the class name.
        class_names: names by class id (default: the ids).
        bounding_box_format: a Keras format name.
        color: one colour for all boxes (default: one per class).
        linestyle: matplotlib line style (dashed for ground truth, say).
        show_image: draw the image itself first.
    """
    from matplotlib import patches

    image = np.asarray(image)
    height, width = image.shape[:2]
    if show_image:
        axes.imshow(np.clip(image, 0.0, 1.0), extent=(0, width, height, 0), interpolation="nearest")
    pixel = _pixel_boxes(boxes, bounding_box_format, height, width)
    labels = np.asarray(labels).reshape(-1)
    for index, (box, label) in enumerate(zip(pixel, labels)):
        if label < 0 or np.all(np.asarray(boxes).reshape(-1, 4)[index] < 0):
            continue
        edge = color or PALETTE[int(label) % len(PALETTE)]
        x1, y1, x2, y2 = box
        axes.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=edge, linewidth=1.6,
                                         linestyle=linestyle))
        if scores is not None:
            name = class_names[int(label)] if class_names is not None else str(int(label))
            axes.text(x1, y1, f"{name} {float(scores[index]):.2f}", color="black", fontsize=6,
                      va="bottom", ha="left", bbox={"facecolor": edge, "edgecolor": "none", "pad": 0.8, "alpha": 0.9})
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    axes.set_xticks([])
    axes.set_yticks([])


def plot_detections(path, images, pred_boxes, pred_labels, pred_scores, true_boxes=None, true_labels=None,
                    class_names=None, bounding_box_format="rel_xyxy", columns=4, title=None, min_score=None):
    """Saves a grid of images with predicted boxes (coloured, labelled) and true boxes (white, dashed).

    Args:
        path: the PNG to write.
        images: ``(N, height, width, 3)`` in [0, 1].
        pred_boxes: ``(N, K, 4)`` predicted boxes, padded with -1.
        pred_labels: ``(N, K)`` predicted classes, padded with -1.
        pred_scores: ``(N, K)`` scores.
        true_boxes: optional ``(N, M, 4)`` true boxes, padded with -1.
        true_labels: optional ``(N, M)`` true classes.
        class_names: names by class id.
        bounding_box_format: format of all boxes.
        columns: images per row.
        title: optional figure title.
        min_score: if given, predictions scored below it are not drawn.

    Returns:
        The path written, as ``pathlib.Path``.
    """
    # pyplot with the caller's backend: a notebook's inline figures keep working.
    from matplotlib import pyplot as plt

    if min_score is not None:
        keep = np.asarray(pred_scores) >= min_score
        pred_boxes = np.where(keep[..., None], pred_boxes, -1.0)
        pred_labels = np.where(keep, pred_labels, -1)
    count = len(images)
    columns = max(1, min(columns, count))
    rows = max(1, -(-count // columns))
    figure, grid = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.4 * rows + (0.4 if title else 0)),
                                squeeze=False)
    for index, axes in enumerate(grid.flat):
        if index >= count:
            axes.axis("off")
            continue
        if true_boxes is not None:
            draw_boxes(axes, images[index], true_boxes[index], true_labels[index], None, class_names,
                       bounding_box_format, color=TRUE_COLOR, linestyle=(0, (3, 2)))
        draw_boxes(axes, images[index], pred_boxes[index], pred_labels[index], pred_scores[index], class_names,
                   bounding_box_format, show_image=true_boxes is None)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path = pathlib.Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
