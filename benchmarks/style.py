"""Benchmark of dlkit.style.stylize against the TF tutorial's step and the VGG floor.

For each size (longest side; default 256 and 512 px on the square-ish chelsea.png):

* ``dlkit``: seconds per Adam step of ``stylize`` (tracing excluded);
* ``tutorial``: the TF style-transfer tutorial's way of writing the same loss
  (a ``StyleContentModel`` on [0, 1] images: ``*255``, ``preprocess_input``, a
  feature model built from the full VGG16 with a list of outputs, gram matrices
  divided by positions, a ``tf.function`` train step with ``clip_0_1``);
* ``floor``: one forward + backward pass through only the VGG layers the losses
  need (the extractor), gradient with respect to the image, timed alone.

Ratios: ``dlkit / tutorial`` (target <= 1.0) and ``dlkit / floor`` (target <= 1.2).
Then L-BFGS vs Adam: the final total loss after the same wall time at 256 px.

    PYTHONPATH=. python benchmarks/style.py [--sizes 256,512] [--steps 6]

Prints one JSON object.
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dlkit import style  # noqa: E402
from dlkit.style import transfer  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "recipes"))
from style_transfer import default_images  # noqa: E402


def time_calls(function, steps):
    function()  # trace + warm up
    start = time.perf_counter()
    for _ in range(steps):
        result = function()
    tf.nest.map_structure(lambda tensor: tensor.numpy(), result)
    return (time.perf_counter() - start) / steps


def tutorial_step(base, content, style_image, layers, content_layer):
    """The TF tutorial's formulation (tensorflow.org/tutorials/generative/style_transfer)."""
    outputs = [base.get_layer(name).output for name in [*layers, content_layer]]
    model = keras.Model([base.input], outputs)
    model.trainable = False

    def gram(tensor):
        result = tf.linalg.einsum("bijc,bijd->bcd", tensor, tensor)
        shape = tf.shape(tensor)
        return result / tf.cast(shape[1] * shape[2], tf.float32)

    def extract(inputs):
        processed = keras.applications.vgg16.preprocess_input(inputs * 255.0)
        values = model(processed)
        return [gram(value) for value in values[:-1]], values[-1]

    style_targets, _ = extract(tf.constant(style_image[None] / 255.0))
    _, content_target = extract(tf.constant(content[None] / 255.0))
    image = tf.Variable(content[None] / 255.0, dtype=tf.float32)
    optimizer = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            grams, features = extract(image)
            style_loss = tf.add_n([tf.reduce_mean((g - t) ** 2) for g, t in zip(grams, style_targets)]) / len(grams)
            content_loss = tf.reduce_mean((features - content_target) ** 2)
            loss = 1e-2 * style_loss + 1e4 * content_loss + 30 * tf.image.total_variation(image)
        gradient = tape.gradient(loss, image)
        optimizer.apply_gradients([(gradient, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return loss

    return step


def floor_step(extractor, content):
    image = tf.constant(style.preprocess(content)[None])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(image)
            total = tf.add_n([tf.reduce_sum(value) for value in extractor(image).values()])
        return tape.gradient(total, image)

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args(argv)
    content_path, style_path = default_images()
    extractor = style.feature_extractor()
    layers, content_layer = list(style.DEFAULT_STYLE_LAYERS), style.DEFAULT_CONTENT_LAYER
    base = style.vgg_base()
    report = {"machine_load": os.getloadavg()[0], "steps_timed": args.steps}
    for size in [int(part) for part in args.sizes.split(",")]:
        content = style.load_image(content_path, size)
        style_image = style.load_image(style_path, size)
        floor = time_calls(floor_step(extractor, content), args.steps)
        tutorial = time_calls(tutorial_step(base, content, style_image, layers, content_layer), args.steps)
        ours = style.stylize(content, style_image, steps=args.steps + 1, size=size, extractor=extractor)
        dlkit_seconds = ours.seconds_per_step
        report[f"{size}_dlkit_seconds_per_step"] = dlkit_seconds
        report[f"{size}_tutorial_seconds_per_step"] = tutorial
        report[f"{size}_floor_seconds_per_step"] = floor
        report[f"{size}_dlkit_vs_tutorial"] = dlkit_seconds / tutorial
        report[f"{size}_dlkit_vs_floor"] = dlkit_seconds / floor
    # L-BFGS vs Adam after equal wall time, at the smallest size.
    size = int(args.sizes.split(",")[0])
    content = style.load_image(content_path, size)
    style_image = style.load_image(style_path, size)
    adam = style.stylize(content, style_image, steps=40, size=size, extractor=extractor)
    # L-BFGS's time per iteration varies (line searches): size the run from a probe,
    # then once more from the measured rate so both get about the same wall time.
    lbfgs_steps = 5
    for _ in range(2):
        lbfgs = style.stylize(content, style_image, steps=lbfgs_steps, size=size, optimizer="lbfgs",
                              extractor=extractor)
        lbfgs_steps = max(1, round(lbfgs_steps * adam.seconds / lbfgs.seconds))
    report.update({
        "equal_time_size": size,
        "equal_time_adam_seconds": adam.seconds,
        "equal_time_adam_steps": adam.steps,
        "equal_time_adam_final_loss": adam.log["total"][-1],
        "equal_time_lbfgs_seconds": lbfgs.seconds,
        "equal_time_lbfgs_iterations": lbfgs.steps,
        "equal_time_lbfgs_final_loss": lbfgs.log["total"][-1],
        "lbfgs_vs_adam_final_loss": lbfgs.log["total"][-1] / adam.log["total"][-1],
        "targets": "dlkit_vs_tutorial <= 1.0, dlkit_vs_floor <= 1.2",
        "machine_load_end": os.getloadavg()[0],
    })
    report = {key: (round(value, 4) if isinstance(value, float) else value) for key, value in report.items()}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
