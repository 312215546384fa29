"""Training-step throughput of dlkit's zoo builders against their keras.applications twins.

For VGG16, ResNet50 and MobileNetV2 the dlkit model and the Keras model are
built with the same input size, classes and weights (copied), compiled with the
same optimizer and loss, and trained on the same random batch in one process.
Each round times both models back to back, alternating which goes first
(``benchmarks/timing.py``). The figure per model is the median over rounds of
images per second; the ratio (dlkit / Keras throughput) is the median of the
per-round ratios. The same figures are also given per CPU second of this process
(``cpu_ratio``). Identical graphs should give ~1.0; the target is >= 0.95. The
report carries the load average before and after, and warns when it exceeded
the core count (the figures are then not to be quoted).

    python benchmarks/models.py                      # 32×32 inputs, batch 16, CPU-size
    python benchmarks/models.py --image-size 224 --batch-size 32 --rounds 5   # GPU-size

Prints one JSON object.
"""

import argparse
import functools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from timing import Session, interleave  # noqa: E402

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


def _train(model, images, labels, steps):
    """``steps`` training steps; returns once the last one has finished."""
    for _ in range(steps):
        loss = model.train_on_batch(images, labels)
    float(np.asarray(loss))


def compare(name, image_size, batch_size, classes, steps, rounds, warmup, jit_compile):
    """Returns the throughput figures of one dlkit/keras pair, timed in interleaved rounds."""
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
        _train(model, images, labels, warmup)
    timed = interleave({key: functools.partial(_train, model, images, labels, steps) for key, model in models.items()},
                       rounds=rounds, warmup=0, work={key: steps * batch_size for key in models})
    return {
        "params": ours.count_params(),
        "same_params": ours.count_params() == theirs.count_params(),
        "dlkit_images_per_second": timed.rate("dlkit"),
        "keras_images_per_second": timed.rate("keras"),
        "ratio": timed.speed_ratio("dlkit", "keras"),
        "ratio_per_round": [round(b / a, 3) for a, b in zip(timed.wall["dlkit"], timed.wall["keras"])],
        "dlkit_images_per_cpu_second": timed.rate("dlkit", "cpu"),
        "keras_images_per_cpu_second": timed.rate("keras", "cpu"),
        "cpu_ratio": timed.speed_ratio("dlkit", "keras", "cpu"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=8, help="training steps per timed run")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (order alternates; median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model (tracing)")
    parser.add_argument("--jit-compile", action="store_true", help="compile both models with XLA")
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error(f"--rounds must be >= 2 (pairs alternate order). Received: --rounds {args.rounds}")

    session = Session("models: training-step throughput, dlkit vs keras.applications", {
        "input_shape": [args.image_size, args.image_size, 3], "batch_size": args.batch_size,
        "steps_per_round": args.steps, "rounds": args.rounds, "jit_compile": args.jit_compile,
        "devices": [device.device_type for device in __import__("tensorflow").config.list_logical_devices()]})
    results = {
        name: compare(name, args.image_size, args.batch_size, args.classes, args.steps, args.rounds, args.warmup,
                      args.jit_compile)
        for name in args.models
    }
    return session.finish({
        "target_ratio": 0.95,
        "models": results,
        "min_ratio": min(result["ratio"] for result in results.values()),
        "min_cpu_ratio": min(result["cpu_ratio"] for result in results.values()),
    })


if __name__ == "__main__":
    main()
