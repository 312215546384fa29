"""Training-step throughput of dlkit's zoo builders against their keras.applications twins.

For VGG16, ResNet50 and MobileNetV2 the dlkit model and the Keras model are
built with the same input size, classes and weights (copied), compiled with the
same optimizer and loss, and trained on the same random batch in one process.
Each round times both models back to back, alternating which goes first (on a
busy machine the first of a pair is measurably slower, whichever it is). The
figure per model is the median over rounds of images per second; the ratio
(dlkit / Keras) is the geometric mean of the per-round ratios, in which the
order effect of alternating pairs cancels. The same figures are also given per
CPU second of this process (``cpu_ratio``), which other programs on a shared
machine disturb less than wall-clock time. Identical graphs should give ~1.0;
the target is >= 0.95.

    python benchmarks/models.py                      # 32×32 inputs, batch 16, CPU-size
    python benchmarks/models.py --image-size 224 --batch-size 32 --rounds 5   # GPU-size

Prints one JSON object.
"""

import argparse
import json
import math
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from dlkit.models import mobilenet_v2, resnet50, vgg16  # noqa: E402

PAIRS = {
    "vgg16": (vgg16, keras.applications.VGG16),
    "resnet50": (resnet50, keras.applications.ResNet50),
    "mobilenet_v2": (mobilenet_v2, keras.applications.MobileNetV2),
}


def _compiled(model, jit_compile):
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        jit_compile=jit_compile,
    )
    return model


def _images_per_second(model, images, labels, steps):
    """Returns (images per wall-clock second, images per CPU second of this process)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        loss = model.train_on_batch(images, labels)
    float(np.asarray(loss))  # wait for the last step's result
    count = steps * len(images)
    return count / (time.perf_counter() - started), count / (time.process_time() - started_cpu)


def _geometric_mean_ratio(ours, theirs):
    return math.exp(statistics.fmean(math.log(a / b) for a, b in zip(ours, theirs)))


def compare(name, image_size, batch_size, classes, steps, rounds, warmup, jit_compile):
    """Returns the throughput figures of one dlkit/keras pair."""
    ours_builder, keras_builder = PAIRS[name]
    shape = (image_size, image_size, 3)
    keras.utils.set_random_seed(0)
    theirs = keras_builder(weights=None, input_shape=shape, classes=classes)
    ours = ours_builder(input_shape=shape, num_classes=classes)
    ours.set_weights(theirs.get_weights())
    models = {"dlkit": _compiled(ours, jit_compile), "keras": _compiled(theirs, jit_compile)}
    rng = np.random.default_rng(0)
    images = rng.uniform(-1.0, 1.0, (batch_size, *shape)).astype("float32")
    labels = rng.integers(0, classes, batch_size)
    for model in models.values():
        _images_per_second(model, images, labels, warmup)
    wall = {"dlkit": [], "keras": []}
    cpu = {"dlkit": [], "keras": []}
    for round_index in range(rounds):
        order = ("dlkit", "keras") if round_index % 2 == 0 else ("keras", "dlkit")
        for key in order:
            wall_rate, cpu_rate = _images_per_second(models[key], images, labels, steps)
            wall[key].append(wall_rate)
            cpu[key].append(cpu_rate)
    return {
        "params": ours.count_params(),
        "same_params": ours.count_params() == theirs.count_params(),
        "dlkit_images_per_second": round(statistics.median(wall["dlkit"]), 2),
        "keras_images_per_second": round(statistics.median(wall["keras"]), 2),
        "ratio": round(_geometric_mean_ratio(wall["dlkit"], wall["keras"]), 3),
        "ratio_per_round": [round(a / b, 3) for a, b in zip(wall["dlkit"], wall["keras"])],
        "dlkit_images_per_cpu_second": round(statistics.median(cpu["dlkit"]), 2),
        "keras_images_per_cpu_second": round(statistics.median(cpu["keras"]), 2),
        "cpu_ratio": round(_geometric_mean_ratio(cpu["dlkit"], cpu["keras"]), 3),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=8, help="training steps per timed run")
    parser.add_argument("--rounds", type=int, default=8, help="timed runs per model (alternating order)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model (tracing)")
    parser.add_argument("--jit-compile", action="store_true", help="compile both models with XLA")
    args = parser.parse_args(argv)
    if args.rounds < 2 or args.rounds % 2:
        parser.error(f"--rounds must be an even number >= 2 (pairs alternate order). Received: {args.rounds}")

    results = {
        name: compare(name, args.image_size, args.batch_size, args.classes, args.steps, args.rounds, args.warmup,
                      args.jit_compile)
        for name in args.models
    }
    report = {
        "benchmark": "training-step throughput, dlkit vs keras.applications",
        "input_shape": [args.image_size, args.image_size, 3],
        "batch_size": args.batch_size,
        "steps_per_round": args.steps,
        "rounds": args.rounds,
        "jit_compile": args.jit_compile,
        "devices": [device.device_type for device in __import__("tensorflow").config.list_logical_devices()],
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
        "load_average_at_start": os.getloadavg()[0],
        "target_ratio": 0.95,
        "models": results,
        "min_ratio": min(result["ratio"] for result in results.values()),
        "min_cpu_ratio": min(result["cpu_ratio"] for result in results.values()),
    }
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
