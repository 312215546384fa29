"""What dlkit does on an accelerator, in one bounded run: throughput and peak device memory, on any Keras backend.

The GPU machines this project can borrow have CUDA builds of JAX and PyTorch but no TensorFlow, so the script runs
the backend-agnostic core (docs/backends.md) under whatever ``KERAS_BACKEND`` says, and adds what needs TensorFlow
only where TensorFlow is the backend:

* ``zoo``: training steps (``train_on_batch``, SGD with momentum) of ResNet50, MobileNetV2 and VGG16 at 224 px,
  batch 32, in float32 and with ``keras.mixed_precision`` ``mixed_float16`` and ``mixed_bfloat16``: images/s;
* ``recipes``: the training step of each recipe's default model on random batches (classify's LeNet-5 on 32 px
  digits, yolo_detection's tiny-Darknet detector with :class:`~dlkit.detection.YoloLoss` on 64 px shapes,
  face_verification's 128-d embedding under the semi-hard :class:`~dlkit.verification.TripletLoss` on P x K =
  24 x 8 glyphs): images/s;
* ``nms``: :func:`~dlkit.detection.non_max_suppression` (``implementation="keras"``) on 10,000 boxes x 3 classes,
  compiled (``jax.jit`` / ``tf.function``): images/s;
* ``triplet``: the semi-hard triplet loss and its gradient on 192 embeddings of 128: batches/s;
* ``style``: one style-transfer step at 256 px (VGG16 features to ``block5_conv1``, the content, style and
  total-variation losses of :mod:`dlkit.style.losses`, their gradient with respect to the image through
  ``stateless_call``, a signed-gradient update): steps/s. The recipe's own Adam loop
  (:func:`dlkit.style.transfer.run_adam`, TensorFlow only) is timed by benchmarks/style.py.

Each case is compiled by one untimed call, then timed over ``--rounds`` calls of ``--steps`` steps
(``timing.interleave`` with one side: the median). Peak device memory: JAX's ``memory_stats()``
``peak_bytes_in_use`` (the process's peak so far: JAX cannot reset it, so a case reports the peak of all cases
up to it), TensorFlow's ``get_memory_info("GPU:0")["peak"]`` (reset before each case), PyTorch's
``max_memory_allocated`` (reset too); ``null`` on a CPU.

    PYTHONPATH=. python benchmarks/gpu.py                       # a GPU machine: about 5 minutes
    PYTHONPATH=. KERAS_BACKEND=jax python benchmarks/gpu.py     # the same core under JAX
    PYTHONPATH=. python benchmarks/gpu.py --smoke               # tiny sizes on a CPU, about a minute

Prints one JSON object (timing.Session: machine, load average before and after, ``busy``).
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "--smoke" in sys.argv:  # a check that it runs: XLA's cheapest CPU compilation (set before JAX starts)
    os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402
from timing import Session, interleave  # noqa: E402

import dlkit  # noqa: E402, F401  (registers dlkit's objects; under JAX it imports no TensorFlow)
from dlkit import models  # noqa: E402
from dlkit.detection import YoloLoss, encode_targets, non_max_suppression, yolo_detector  # noqa: E402
from dlkit.style import losses as style_losses  # noqa: E402
from dlkit.verification import TripletLoss, embedding_model  # noqa: E402

BACKEND = keras.backend.backend()
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and one round: checks that it runs (CPU)")
    parser.add_argument("--steps", type=int, default=None, help="steps per timed call (default 10; smoke 1)")
    parser.add_argument("--rounds", type=int, default=None, help="timed calls per case (default 3; smoke 1)")
    parser.add_argument("--batch-size", type=int, default=None, help="zoo batch size (default 32; smoke 2)")
    parser.add_argument("--only", default=None, help="comma-separated suites: zoo,recipes,nms,triplet,style")
    return parser.parse_args(argv)


def compiled(function):
    """``function`` compiled for the backend: ``jax.jit``, ``tf.function(jit_compile=True)``, or as it is."""
    if BACKEND == "jax":
        import jax

        return jax.jit(function)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True)
    return function


def finish(value):
    """Waits for a result (device work is asynchronous) by copying it to the host."""
    for leaf in keras.tree.flatten(value):
        ops.convert_to_numpy(leaf)
    return value


def device():
    """The accelerator this backend uses, in words (``"cpu"`` without one)."""
    if BACKEND == "jax":
        import jax

        return jax.local_devices()[0].device_kind
    if BACKEND == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else "cpu"
    if BACKEND == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return "cpu"


def reset_peak_memory():
    """Starts a case's peak-memory count where the backend can (not JAX: its peak is the process's)."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            tf.config.experimental.reset_memory_stats("GPU:0")
    elif BACKEND == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()


def peak_memory_mib():
    """Peak device memory in MiB (see the module docstring), ``None`` where the device does not count it."""
    peak = None
    if BACKEND == "jax":
        import jax

        peak = (jax.local_devices()[0].memory_stats() or {}).get("peak_bytes_in_use")
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            peak = tf.config.experimental.get_memory_info("GPU:0")["peak"]
    elif BACKEND == "torch":
        import torch

        peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
    return None if peak is None else round(peak / 2**20, 1)


def measure(name, call, units, options, unit="images"):
    """Times ``call`` (one untimed compiling call, then the rounds): ``{unit_per_second, seconds, peak_mib}``."""
    reset_peak_memory()
    started = time.perf_counter()
    finish(call())
    compile_seconds = time.perf_counter() - started
    rounds = interleave({name: lambda: finish(call())}, rounds=options.rounds, warmup=0, work={name: units})
    return {f"{unit}_per_second": rounds.rate(name), "step_ms": round(1000 * rounds.median_seconds(name) /
                                                                    options.steps, 2),
            "first_call_seconds": round(compile_seconds, 1), "peak_mib": peak_memory_mib()}


def training_steps(model, loss, inputs, targets, steps, optimizer=None):
    """A callable running ``steps`` ``train_on_batch`` steps of a compiled ``model``."""
    model.compile(optimizer=optimizer or keras.optimizers.SGD(0.01, momentum=0.9), loss=loss)

    def call():
        for _ in range(steps):
            result = model.train_on_batch(inputs, targets)
        return result

    return call


def zoo(options):
    """Training steps of the big zoo models in each precision."""
    rng = np.random.default_rng(0)
    names = ("lenet5",) if options.smoke else ("resnet50", "mobilenet_v2", "vgg16")
    size, batch = (32, options.batch_size) if options.smoke else (224, options.batch_size)
    images = rng.uniform(0, 1, (batch, size, size, 3)).astype("float32")
    labels = rng.integers(0, 10, batch).astype("int32")
    figures = {}
    for precision in PRECISIONS:
        keras.mixed_precision.set_global_policy(precision)
        try:
            for name in names:
                keras.utils.set_random_seed(0)
                model = models.build(name, input_shape=(size, size, 3), num_classes=10)
                call = training_steps(model, "sparse_categorical_crossentropy", images, labels, options.steps)
                figures[f"{name}_{precision}"] = measure(name, call, batch * options.steps, options)
                del model
                keras.backend.clear_session()
        finally:
            keras.mixed_precision.set_global_policy("float32")
    figures["settings"] = {"image_size": size, "batch_size": batch}
    return figures


def recipes(options):
    """Each recipe's default model (the CPU-sized defaults the recipes train), one training step per call."""
    rng = np.random.default_rng(0)
    figures = {}
    batch = 4 if options.smoke else 32

    keras.utils.set_random_seed(0)
    lenet = models.lenet5(input_shape=(32, 32, 1), num_classes=10)
    images = rng.uniform(0, 1, (batch, 32, 32, 1)).astype("float32")
    call = training_steps(lenet, "sparse_categorical_crossentropy", images, rng.integers(0, 10, batch),
                          options.steps, keras.optimizers.Adam(2e-3))
    figures["classify_lenet5"] = measure("classify", call, batch * options.steps, options)

    anchors = np.array([[0.1, 0.1], [0.2, 0.3], [0.35, 0.2], [0.4, 0.45], [0.7, 0.6]], "float32")
    detector = yolo_detector(input_size=(64, 64), anchors=anchors, num_classes=3)
    grid = detector.output_shape[1]
    corners = rng.uniform(0, 0.6, (batch, 4, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(0.1, 0.4, (batch, 4, 2))], axis=-1).astype("float32")
    targets = ops.convert_to_numpy(encode_targets(boxes, rng.integers(0, 3, (batch, 4)), grid, anchors, 3))
    images = rng.uniform(0, 1, (batch, 64, 64, 3)).astype("float32")
    call = training_steps(detector, YoloLoss(anchors), images, targets, options.steps, keras.optimizers.Adam(1e-2))
    figures["yolo_detection_tiny_darknet"] = measure("yolo", call, batch * options.steps, options)

    identities, per_identity = (4, 2) if options.smoke else (24, 8)
    trunk = models.small_cnn((32, 32, 1), include_top=False, filters=(32, 64, 128), pooling="avg")
    embedding = embedding_model(trunk, dim=128)
    images = rng.uniform(0, 1, (identities * per_identity, 32, 32, 1)).astype("float32")
    labels = np.repeat(np.arange(identities), per_identity).astype("int32")
    call = training_steps(embedding, TripletLoss(0.5, "semi_hard"), images, labels, options.steps,
                          keras.optimizers.Adam(1e-3))
    figures["face_verification_embedding"] = measure("face", call, len(images) * options.steps, options)
    return figures


def nms(options):
    """The keras.ops NMS on 10,000 random boxes of 3 classes (one image per call)."""
    rng = np.random.default_rng(0)
    count = 500 if options.smoke else 10_000
    centers, sizes = rng.uniform(0, 1, (1, count, 2)), rng.uniform(0.01, 0.1, (1, count, 2))
    boxes = ops.convert_to_tensor(np.concatenate([centers - sizes / 2, centers + sizes / 2], -1).astype("float32"))
    scores = ops.convert_to_tensor(rng.uniform(0, 1, (1, count, 3)).astype("float32"))
    suppress = compiled(lambda boxes, scores: non_max_suppression(boxes, scores, iou_threshold=0.5,
                                                                  score_threshold=0.05, max_detections=100))

    def call():
        for _ in range(options.steps):
            result = suppress(boxes, scores)
        return result

    return {f"boxes_{count}": measure("nms", call, options.steps, options)}


def gradient_function(loss_of_trainables):
    """``trainables -> (loss, gradients)`` for the backend, compiled."""
    if BACKEND == "jax":
        import jax

        return jax.jit(jax.value_and_grad(loss_of_trainables))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        def value_and_gradients(trainables):
            with tf.GradientTape() as tape:
                tape.watch(trainables)
                loss = loss_of_trainables(trainables)
            return loss, tape.gradient(loss, trainables)

        return tf.function(value_and_gradients, jit_compile=True)
    import torch

    def value_and_gradients(trainables):
        trainables = [tensor.detach().requires_grad_(True) for tensor in trainables]
        loss = loss_of_trainables(trainables)
        return loss, torch.autograd.grad(loss, trainables)

    return value_and_gradients


def triplet(options):
    """The semi-hard triplet loss and its gradient with respect to the embeddings."""
    rng = np.random.default_rng(0)
    identities, per_identity = (4, 2) if options.smoke else (24, 8)
    embeddings = rng.normal(size=(identities * per_identity, 128)).astype("float32")
    labels = ops.convert_to_tensor(np.repeat(np.arange(identities), per_identity).astype("int32"))
    loss = TripletLoss(0.5, "semi_hard")
    step = gradient_function(lambda trainables: loss(labels, trainables[0]))
    variables = [ops.convert_to_tensor(embeddings)]

    def call():
        for _ in range(options.steps):
            result = step(variables)
        return result

    return {f"semi_hard_{len(embeddings)}x128": measure("triplet", call, options.steps, options, unit="batches")}


def style(options):
    """One style-transfer step: VGG16 features, content + style + total variation, gradient, update."""
    from dlkit.style.features import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS

    rng = np.random.default_rng(0)
    size = 32 if options.smoke else 256
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(size, size, 3))
    names = [*DEFAULT_STYLE_LAYERS, DEFAULT_CONTENT_LAYER]
    extractor = keras.Model(base.input, {name: base.get_layer(name).output for name in names})
    content, style_image = (rng.uniform(-100, 100, (1, size, size, 3)).astype("float32") for _ in range(2))
    style_targets = {name: style_losses.gram_matrix(value) for name, value in extractor(style_image).items()
                     if name in DEFAULT_STYLE_LAYERS}
    content_target = extractor(content)[DEFAULT_CONTENT_LAYER]
    trainable = [variable.value for variable in extractor.trainable_variables]
    non_trainable = [variable.value for variable in extractor.non_trainable_variables]

    def loss_of_image(trainables):
        features, _ = extractor.stateless_call(trainable, non_trainable, trainables[0])
        return (1e-3 * style_losses.content_loss(features[DEFAULT_CONTENT_LAYER], content_target)
                + style_losses.style_loss(features, style_targets, DEFAULT_STYLE_LAYERS)
                + 1e-4 * style_losses.total_variation_loss(trainables[0]))

    gradient = gradient_function(loss_of_image)
    image = [ops.convert_to_tensor(content)]

    def call():
        for _ in range(options.steps):
            loss, gradients = gradient(image)
            image[0] = ops.clip(image[0] - ops.sign(gradients[0]), -128.0, 152.0)
        return loss

    return {f"step_{size}px": measure("style", call, options.steps, options, unit="steps")}


SUITES = {"zoo": zoo, "recipes": recipes, "nms": nms, "triplet": triplet, "style": style}


def main(argv=None):
    options = parse_args(argv)
    options.steps = options.steps or (1 if options.smoke else 10)
    options.rounds = options.rounds or (1 if options.smoke else 3)
    options.batch_size = options.batch_size or (2 if options.smoke else 32)
    chosen = options.only.split(",") if options.only else list(SUITES)
    session = Session("gpu", {"backend": BACKEND, "device": device(), "smoke": options.smoke, "steps": options.steps,
                              "rounds": options.rounds, "suites": chosen},
                      sensitive="the CPU-side figures (a GPU's are less so)")
    figures = {}
    for name in chosen:
        started = time.perf_counter()
        figures[name] = SUITES[name](options)
        figures[name]["suite_seconds"] = round(time.perf_counter() - started, 1)
    return session.finish(figures)


if __name__ == "__main__":
    main()
