"""Per-class NMS latency: dlkit (keras.ops and TF paths) vs tf.image.combined_non_max_suppression vs a Python loop.

Random boxes (rel_xyxy) and scores, 20 classes, 1k and 10k boxes, one image;
the same IoU threshold 0.5, score threshold 0.05 and 100 detections for all.
The keras.ops path runs inside ``tf.function`` (as it would in a compiled model).
The plain loop calls ``tf.image.non_max_suppression`` once per class and merges
in Python. Prints one JSON object; ratios are ``time / combined_nms time``.

    PYTHONPATH=. python benchmarks/nms.py [--repeats 20]
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dlkit.detection.nms import non_max_suppression  # noqa: E402

CLASSES, IOU, SCORE, MAX = 20, 0.5, 0.05, 100


def python_loop(boxes, scores):
    found = []
    yxyx = tf.gather(boxes, [1, 0, 3, 2], axis=1)
    for c in range(scores.shape[1]):
        selected = tf.image.non_max_suppression(yxyx, scores[:, c], MAX, IOU, SCORE).numpy()
        found += [(float(scores[i, c]), i, c) for i in selected]
    found.sort(key=lambda item: -item[0])
    return found[:MAX]


def timed(function, repeats):
    function()  # warm-up (tracing)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    report = {"classes": CLASSES, "iou_threshold": IOU, "score_threshold": SCORE, "max_detections": MAX,
              "load_average": os.getloadavg()[0]}
    for count in (1000, 10000):
        xy = rng.uniform(0, 0.9, (count, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(0.02, 0.2, (count, 2))], 1).astype(np.float32)
        scores = rng.uniform(0, 1, (count, CLASSES)).astype(np.float32) ** 4  # most below the threshold
        boxes_t, scores_t = tf.constant(boxes[None]), tf.constant(scores[None])
        keras_path = tf.function(lambda b, s: non_max_suppression(b, s, IOU, SCORE, MAX, implementation="keras"))
        tf_path = tf.function(lambda b, s: non_max_suppression(b, s, IOU, SCORE, MAX, implementation="tf"))
        combined = tf.function(lambda b, s: tf.image.combined_non_max_suppression(
            tf.gather(b, [1, 0, 3, 2], axis=-1)[:, :, None, :], s, MAX, MAX, IOU, SCORE, clip_boxes=False))
        ours = keras_path(boxes_t, scores_t)
        reference = python_loop(tf.constant(boxes), tf.constant(scores))
        agree = int(ours["num_detections"][0]) == len(reference) and np.allclose(
            ours["scores"][0, :len(reference)].numpy(), [item[0] for item in reference])
        base = timed(lambda: combined(boxes_t, scores_t), args.repeats)
        figures = {
            "combined_nms_ms": 1000 * base,
            "dlkit_keras_ms": 1000 * timed(lambda: keras_path(boxes_t, scores_t), args.repeats),
            "dlkit_tf_ms": 1000 * timed(lambda: tf_path(boxes_t, scores_t), args.repeats),
            "python_loop_ms": 1000 * timed(lambda: python_loop(tf.constant(boxes), tf.constant(scores)),
                                           max(3, args.repeats // 4)),
            "keras_matches_loop": agree,
        }
        for key in ("dlkit_keras", "dlkit_tf", "python_loop"):
            figures[f"{key}_ratio"] = figures[f"{key}_ms"] / figures["combined_nms_ms"]
        report[f"boxes_{count}"] = figures
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
