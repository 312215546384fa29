"""Per-class NMS latency: dlkit (keras.ops and TF paths) vs tf.image.combined_non_max_suppression vs a Python loop.

One image, 20 classes, IoU threshold 0.5, 100 detections, in three cases:

* ``boxes_1000`` and ``boxes_10000``: random boxes (rel_xyxy) and scores (``uniform ** 4``, most below the
  score threshold 0.05): the keras.ops path keeps its 100 detections within its first sorted block;
* ``clustered_10000``: the worst case of the tile walk, 30 clusters of near-duplicate boxes, two classes scored
  per cluster, score threshold 0.3: ~9k valid candidates of 200k and only ~60 survivors, so every valid
  candidate must be decided (the keras.ops path falls back to its class rounds).

All sides run inside ``tf.function`` (as in a compiled model) and are interleaved in rounds
(``timing.interleave``); ratios are medians over rounds of ``time / combined_nms time``, wall and process CPU.
The plain loop calls ``tf.image.non_max_suppression`` once per class and merges in Python (fewer rounds). Each
case also checks that the keras.ops path returns what the loop returns (``keras_matches_loop``).

    PYTHONPATH=. python benchmarks/nms.py [--rounds 15] [--calls 5]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import Session, interleave  # noqa: E402

from dlkit.detection.nms import non_max_suppression  # noqa: E402

CLASSES, IOU, MAX = 20, 0.5, 100


def random_case(rng, count):
    xy = rng.uniform(0, 0.9, (count, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(0.02, 0.2, (count, 2))], 1).astype(np.float32)
    scores = rng.uniform(0, 1, (count, CLASSES)).astype(np.float32) ** 4  # most below the threshold
    return boxes, scores, 0.05


def clustered_case(rng, count, clusters=30):
    centers, sizes = rng.uniform(0.05, 0.75, (clusters, 2)), rng.uniform(0.08, 0.2, (clusters, 2))
    which = rng.integers(0, clusters, count)
    xy = centers[which] + rng.normal(0, 0.004, (count, 2))
    boxes = np.concatenate([xy, xy + sizes[which] * rng.uniform(0.97, 1.03, (count, 2))], 1).astype(np.float32)
    scores = rng.uniform(0, 0.3, (count, CLASSES)) ** 2  # every other class below the threshold
    for shift in (0, 3):
        scores[np.arange(count), (7 * np.arange(clusters) + shift)[which] % CLASSES] = rng.uniform(0, 1, count) ** 2
    return boxes, scores.astype(np.float32), 0.3


def python_loop(boxes, scores, score_threshold):
    found = []
    yxyx = tf.gather(boxes, [1, 0, 3, 2], axis=1)
    for c in range(scores.shape[1]):
        selected = tf.image.non_max_suppression(yxyx, scores[:, c], MAX, IOU, score_threshold).numpy()
        found += [(float(scores[i, c]), i, c) for i in selected]
    found.sort(key=lambda item: -item[0])
    return found[:MAX]


def compare(boxes, scores, score_threshold, rounds, calls):
    boxes_t, scores_t = tf.constant(boxes[None]), tf.constant(scores[None])
    keras_path = tf.function(lambda b, s: non_max_suppression(b, s, IOU, score_threshold, MAX, implementation="keras"))
    tf_path = tf.function(lambda b, s: non_max_suppression(b, s, IOU, score_threshold, MAX, implementation="tf"))
    combined = tf.function(lambda b, s: tf.image.combined_non_max_suppression(
        tf.gather(b, [1, 0, 3, 2], axis=-1)[:, :, None, :], s, MAX, MAX, IOU, score_threshold, clip_boxes=False))

    def repeated(function):
        def call():
            for _ in range(calls):
                result = function(boxes_t, scores_t)
            tf.nest.map_structure(lambda tensor: tensor.numpy(), result)
        return call

    ours = keras_path(boxes_t, scores_t)
    reference = python_loop(tf.constant(boxes), tf.constant(scores), score_threshold)
    count = int(ours["num_detections"][0])
    agree = count == len(reference) and np.array_equal(ours["scores"][0, :count].numpy(),
                                                         [item[0] for item in reference])
    timed = interleave({"combined_nms": repeated(combined), "dlkit_keras": repeated(keras_path),
                        "dlkit_tf": repeated(tf_path)}, rounds=rounds, warmup=2)
    loop = interleave({"combined_nms": repeated(combined),
                       "python_loop": lambda: python_loop(tf.constant(boxes), tf.constant(scores), score_threshold)},
                      rounds=3, warmup=1, work={"combined_nms": calls, "python_loop": 1})
    figures = {
        "score_threshold": score_threshold,
        "valid_candidates": int(np.sum(scores > score_threshold)),
        "detections": count,
        "keras_matches_loop": bool(agree),
        "calls_per_round": calls,
        **{key: round(value / calls, 3) for key, value in timed.summary().items() if key.endswith("_ms")},
        "rounds": rounds,
    }
    for side in ("dlkit_keras", "dlkit_tf"):
        figures[f"{side}_ratio"] = timed.ratio(side, "combined_nms")
        figures[f"{side}_ratio_cpu"] = timed.ratio(side, "combined_nms", "cpu")
    figures["python_loop_ratio"] = loop.ratio("python_loop", "combined_nms")
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=5, help="calls of each side per round")
    args = parser.parse_args(argv)
    session = Session("nms", {"classes": CLASSES, "iou_threshold": IOU, "max_detections": MAX,
                              "rounds": args.rounds, "calls": args.calls})
    rng = np.random.default_rng(0)
    cases = {"boxes_1000": random_case(rng, 1000), "boxes_10000": random_case(rng, 10000),
             "clustered_10000": clustered_case(rng, 10000)}
    figures = {name: compare(*case, args.rounds, args.calls) for name, case in cases.items()}
    figures["targets"] = "dlkit_keras_ratio: clustered_10000 <= 3; boxes_1000 and boxes_10000 no worse than 1.01 / 0.83"
    return session.finish(figures)


if __name__ == "__main__":
    main()
