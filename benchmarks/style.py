"""Benchmark of dlkit.style's Adam step against the TF tutorial's step and the VGG floor.

For each size (longest side; default 256 and 512 px on the square-ish chelsea.png), four sides are timed in
interleaved rounds (``timing.interleave``: one call of each per round, the order rotated), one step per call:

* ``floor``: one forward + backward pass through only the VGG layers the losses need (the extractor),
  gradient of the sum of its outputs with respect to the image;
* ``loss``: the value and gradient of dlkit's :class:`~dlkit.style.transfer.Objective` (the floor plus the
  content, style and total-variation terms), no update;
* ``dlkit``: the compiled Adam step :func:`~dlkit.style.transfer.run_adam` runs (loss, gradient, Adam, clip);
* ``tutorial``: the TF style-transfer tutorial's way of writing the same loss (a ``StyleContentModel`` on
  [0, 1] images: ``*255``, ``preprocess_input``, a feature model built from VGG16 with a list of outputs, gram
  matrices by ``einsum`` divided by positions, a ``tf.function`` train step with ``clip_0_1``).

Ratios (median over rounds of the per-round ratio, wall and process CPU): ``dlkit / floor`` (target <= 1.1)
and ``dlkit / tutorial`` (target <= 0.9). Where the rest of the time goes, in median ms per step:
``loss_terms`` (loss - floor), ``update`` (dlkit - loss: Adam, clip, the variable's read), wall and CPU, and
``loop`` (wall: a real ``stylize`` run's seconds per step - dlkit: Python, callbacks, the first call's graph
optimization, which a run of ``rounds`` steps spreads over few steps).
Then L-BFGS vs Adam: the final total loss after the same wall time at the smallest size.

    PYTHONPATH=. python benchmarks/style.py [--sizes 256,512] [--rounds 7] [--no-equal-time]

Prints one JSON object (timing.Session: machine, load average before and after, ``busy``).
"""

import argparse
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import Session, interleave  # noqa: E402

from dlkit import style  # noqa: E402
from dlkit.style import transfer  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "recipes"))
from style_transfer import default_images  # noqa: E402


def finished(step):
    """``step`` as a callable that returns only when its results are computed."""
    return lambda: tf.nest.map_structure(lambda tensor: tensor.numpy(), step())


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


def loss_step(objective, content):
    image = tf.constant(style.preprocess(content)[None])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(image)
            total = objective(image)["total"]
        return total, tape.gradient(total, image)

    return step


def compare(size, extractor, base, content_path, style_path, rounds):
    """One size: the four sides interleaved, the ratios and the breakdown."""
    layers, content_layer = dict(style.DEFAULT_STYLE_LAYERS), style.DEFAULT_CONTENT_LAYER
    content = style.load_image(content_path, size)
    style_image = style.load_image(style_path, size)
    objective = transfer.Objective(extractor, content, [style_image], [1.0], layers, content_layer,
                                   transfer.DEFAULT_CONTENT_WEIGHT, transfer.DEFAULT_STYLE_WEIGHT,
                                   transfer.DEFAULT_TV_WEIGHT)
    ours, _ = transfer.adam_step(objective, style.preprocess(content)[None])
    sides = {
        "floor": finished(floor_step(extractor, content)),
        "loss": finished(loss_step(objective, content)),
        "dlkit": finished(ours),
        "tutorial": finished(tutorial_step(base, content, style_image, list(layers), content_layer)),
    }
    timed = interleave(sides, rounds=rounds, warmup=1)
    # A real stylize run: the Python loop, callbacks and the first call's graph optimization on top of the step.
    steps = max(3, rounds)
    run = style.stylize(content, style_image, steps=steps, size=size, extractor=extractor)
    figures = {"steps_per_call": 1, **timed.summary()}
    for clock in ("wall", "cpu"):
        suffix = "" if clock == "wall" else "_cpu"
        figures[f"dlkit_vs_floor{suffix}"] = timed.ratio("dlkit", "floor", clock)
        figures[f"dlkit_vs_tutorial{suffix}"] = timed.ratio("dlkit", "tutorial", clock)
        figures[f"loss_vs_floor{suffix}"] = timed.ratio("loss", "floor", clock)
        figures[f"tutorial_vs_floor{suffix}"] = timed.ratio("tutorial", "floor", clock)
    for clock in ("wall", "cpu"):
        median = {side: 1000.0 * timed.median_seconds(side, clock) for side in sides}
        figures["breakdown_ms" if clock == "wall" else "breakdown_cpu_ms"] = {
            "floor": round(median["floor"], 2),
            "loss_terms": round(median["loss"] - median["floor"], 2),
            "update": round(median["dlkit"] - median["loss"], 2),
        }
    figures["breakdown_ms"]["loop"] = round(1000.0 * run.seconds_per_step - 1000.0 * timed.median_seconds("dlkit"), 2)
    figures["stylize_ms_per_step"] = round(1000.0 * run.seconds_per_step, 2)
    return figures


def equal_time(size, extractor, content_path, style_path):
    """L-BFGS vs Adam: the final total loss after about the same wall time."""
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
    return {
        "size": size,
        "adam_seconds": round(adam.seconds, 2),
        "adam_steps": adam.steps,
        "adam_final_loss": round(adam.log["total"][-1], 4),
        "lbfgs_seconds": round(lbfgs.seconds, 2),
        "lbfgs_iterations": lbfgs.steps,
        "lbfgs_final_loss": round(lbfgs.log["total"][-1], 4),
        "lbfgs_vs_adam_final_loss": round(lbfgs.log["total"][-1] / adam.log["total"][-1], 3),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-equal-time", dest="equal_time", action="store_false",
                        help="skip the L-BFGS vs Adam comparison")
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.sizes.split(",")]
    session = Session("style", {"sizes": sizes, "rounds": args.rounds})
    content_path, style_path = default_images()
    extractor = style.feature_extractor()
    base = style.vgg_base()
    figures = {f"size_{size}": compare(size, extractor, base, content_path, style_path, args.rounds)
               for size in sizes}
    if args.equal_time:
        figures["equal_time"] = equal_time(sizes[0], extractor, content_path, style_path)
    figures["targets"] = "dlkit_vs_floor <= 1.1, dlkit_vs_tutorial <= 0.9"
    return session.finish(figures)


if __name__ == "__main__":
    main()
