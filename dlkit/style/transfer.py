"""``stylize``: Gatys et al.'s optimization of the pixels, with Adam or L-BFGS.

Reference: Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional
Neural Networks", CVPR 2016; color preservation by luminance-only transfer from
Gatys, Bethge, Hertzmann & Shechtman, "Preserving Color in Neural Artistic Style
Transfer", 2016; coarse-to-fine from Gatys et al., "Controlling Perceptual
Factors in Neural Style Transfer", CVPR 2017.

The image is optimized in caffe space (BGR minus the ImageNet means, 0–255 scale)
and kept inside the valid pixel range after every step (Adam: clip; L-BFGS-B:
bounds). An Adam step is one compiled ``tf.function`` (features, losses,
gradient, update, clip) with no NumPy in it, so it runs unchanged on a GPU; the
per-step losses stay tensors until the loop ends.

What a step costs beyond one forward + backward pass through the VGG layers the
losses need (``benchmarks/style.py`` measures each part): the content and style
targets are computed once per scale, outside the step; the image is optimized
in caffe space, so no preprocessing runs on the variable; and each style layer's
loss has its gradient written out (:func:`fused_style_layer_loss`), one matrix product
``F (G - A)`` instead of the two that automatic differentiation of ``Fᵀ F``
gives (one per operand). XLA (``jit_compile``) is off by default: on a CPU its
convolutions are not faster than TensorFlow's own.
"""

import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf

from dlkit import progress
from dlkit.errors import ConfigError
from dlkit.style import image as image_io
from dlkit.style import losses
from dlkit.style.features import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, feature_extractor

OPTIMIZERS = ("adam", "lbfgs")
INITS = ("content", "noise")
COMPONENTS = ("total", "content", "style", "tv")

# Calibrated on caffe-preprocessed 0–255 images with the offline VGG16 weights
# (see docs/style_transfer.md): at the start (init="content") the weighted style
# term is ~10–100× the content term, and the result keeps the content's layout.
DEFAULT_CONTENT_WEIGHT = 1.0
DEFAULT_STYLE_WEIGHT = 1e-2
DEFAULT_TV_WEIGHT = 1e-1
DEFAULT_LEARNING_RATE = 5.0
BETA_1 = 0.9


@dataclasses.dataclass
class StyleResult:
    """What :func:`stylize` returns.

    Attributes:
        image: ``(height, width, 3)`` float32 RGB in [0, 255].
        log: ``{"total" | "content" | "style" | "tv" | "size": [one value per step]}``;
            the loss components are weighted (they sum to ``total``) and are the
            losses of the image *before* that step's update; ``size`` is the
            longest side of the scale the step ran at.
        seconds: wall time of the optimizer steps (targets and tf.function tracing excluded).
        steps: the number of steps run.
    """

    image: np.ndarray
    log: dict
    seconds: float
    steps: int

    @property
    def seconds_per_step(self):
        return self.seconds / max(self.steps, 1)


@tf.custom_gradient
def fused_style_layer_loss(features, target_gram):
    """:func:`dlkit.style.losses.style_layer_loss` with its gradient written out: one matrix product, not two.

    Reference: Gatys et al. 2016, eq. 4 and 6: with ``G = Fᵀ F / n`` (``n`` =
    positions × channels) and ``E = ¼ Σ (G − A)²`` averaged over the batch,
    ``∂E/∂F = F (G − A) / (n · batch)`` because ``G − A`` is symmetric.
    Automatic differentiation of ``Fᵀ F`` computes one product per operand
    (``F dGᵀ`` and ``F dG``), each as costly as the gram matrix itself.

    Args:
        features: ``(batch, height, width, channels)`` activations.
        target_gram: ``(channels, channels)`` normalized target gram matrix (a constant: no gradient).

    Returns:
        A scalar tensor, equal to ``losses.style_layer_loss(features, target_gram)``.
    """
    shape = tf.shape(features)
    flat = tf.reshape(features, [shape[0], shape[1] * shape[2], shape[3]])
    count = tf.cast(shape[1] * shape[2] * shape[3], features.dtype)
    difference = tf.matmul(flat, flat, transpose_a=True) / count - target_gram
    loss = 0.25 * tf.reduce_mean(tf.reduce_sum(tf.square(difference), axis=(-2, -1)))

    def gradient(upstream):
        scale = upstream / (count * tf.cast(shape[0], features.dtype))
        return tf.reshape(tf.matmul(flat, difference) * scale, shape), None

    return loss, gradient


class Objective:
    """The weighted Gatys loss of one image size, with its content and style targets.

    Args:
        extractor: a model from :func:`~dlkit.style.features.feature_extractor`.
        content: ``(h, w, 3)`` RGB content image at the size being optimized.
        styles: list of RGB style images.
        blend: list of weights for ``styles`` (sum 1): the target gram matrices are
            their weighted mean, which has the same gradient as the weighted sum of
            the per-style losses.
        style_layers: ``{layer: weight}``.
        content_layer: the content layer name.
        content_weight, style_weight, tv_weight: the weights of the three terms.
    """

    def __init__(self, extractor, content, styles, blend, style_layers, content_layer,
                 content_weight, style_weight, tv_weight):
        self.extractor = extractor
        self.style_layers = dict(style_layers)
        self.content_layer = content_layer
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        self.content_target = extractor(image_io.preprocess(content)[None])[content_layer]
        grams = {layer: 0.0 for layer in self.style_layers}
        for style, weight in zip(styles, blend):
            features = extractor(image_io.preprocess(style)[None])
            for layer in self.style_layers:
                grams[layer] = grams[layer] + weight * losses.gram_matrix(features[layer])[0]
        # Constants of the step: computed once here, captured by the compiled step, never recomputed.
        self.content_target = tf.convert_to_tensor(self.content_target)
        self.style_targets = {layer: tf.convert_to_tensor(gram) for layer, gram in grams.items()}

    def __call__(self, caffe_images):
        """Returns the dict of weighted loss components for a caffe-space batch."""
        features = self.extractor(caffe_images)
        content = self.content_weight * losses.content_loss(features[self.content_layer], self.content_target)
        style = 0.0
        for layer, weight in self.style_layers.items():
            style = style + weight * fused_style_layer_loss(features[layer], self.style_targets[layer])
        style = self.style_weight * style
        tv = self.tv_weight * losses.total_variation_loss(caffe_images)
        return {"total": content + style + tv, "content": content, "style": style, "tv": tv}


def _pixel_bounds(shape):
    """Lower/upper bounds of caffe-space pixels, broadcast to ``shape``."""
    mean = image_io.CAFFE_MEAN_BGR
    low = np.broadcast_to(-mean, shape).astype("float32")
    return low, low + 255.0


def adam_step(objective, initial, learning_rate=DEFAULT_LEARNING_RATE, jit_compile=False):
    """Builds the compiled Adam step of :func:`run_adam` over a new image variable.

    Args:
        objective: an :class:`Objective`.
        initial: ``(1, h, w, 3)`` caffe-space starting image.
        learning_rate: Adam's step in pixel units (0–255 scale).
        jit_compile: compile the step with XLA.

    Returns:
        ``(step, variable)``: ``step()`` updates ``variable`` once (gradient,
        Adam, clip to the valid pixels) and returns the dict of the weighted
        losses of the image before the update, as scalar tensors; it is traced
        already.
    """
    low, high = _pixel_bounds(initial.shape)
    low, high = tf.constant(low), tf.constant(high)
    variable = keras.Variable(initial, dtype="float32", name="stylized")
    # A tiny epsilon makes each step ~learning_rate pixels whatever the loss scale
    # (the TF tutorial's epsilon=0.1 stalls when the per-pixel gradients are small).
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=BETA_1, epsilon=1e-8)
    optimizer.build([variable])

    @tf.function(jit_compile=jit_compile)
    def step():
        with tf.GradientTape() as tape:
            values = objective(variable.value)
        gradient = tape.gradient(values["total"], variable.value)
        optimizer.apply_gradients([(gradient, variable)])
        variable.assign(tf.clip_by_value(variable.value, low, high))
        return values

    step.get_concrete_function()  # trace now, so a timing of the steps measures steps only
    return step, variable


def run_adam(objective, initial, steps, learning_rate=DEFAULT_LEARNING_RATE, jit_compile=False, callbacks=None,
             first_step=0):
    """Optimizes caffe-space pixels with Adam; returns (image, per-step log tensors).

    Args:
        objective: an :class:`Objective`.
        initial: ``(1, h, w, 3)`` caffe-space starting image.
        steps: number of updates.
        learning_rate: Adam's step in pixel units (0–255 scale).
        jit_compile: compile the step with XLA.
        callbacks: a ``keras.callbacks.CallbackList``; ``on_train_batch_end(first_step + i, losses)``
            after each step, the losses as tensors (read them only when needed:
            reading one waits for the step).
        first_step: the number of steps run before this call (earlier scales).

    Returns:
        ``(final caffe image as a tensor, list of per-step dicts of scalar tensors)``.
    """
    step, variable = adam_step(objective, initial, learning_rate, jit_compile)
    start = time.perf_counter()
    log = []
    for index in range(steps):
        log.append(step())
        if callbacks is not None:
            callbacks.on_train_batch_end(first_step + index, log[-1])
    final = tf.convert_to_tensor(variable.value)
    final.numpy()  # waits for the last step
    run_adam.last_seconds = time.perf_counter() - start
    return final, log


def run_lbfgs(objective, initial, steps, max_correction=10, callbacks=None, first_step=0):
    """Optimizes caffe-space pixels with SciPy's L-BFGS-B (the paper's optimizer).

    Bounds keep pixels valid without clipping. SciPy works in float64 NumPy, so
    each function evaluation crosses to the host; the value and the gradient come
    from one compiled ``tf.function``.

    Args:
        objective: an :class:`Objective`.
        initial: ``(1, h, w, 3)`` caffe-space starting image.
        steps: maximum L-BFGS iterations (each may evaluate the loss more than once).
        max_correction: L-BFGS memory (SciPy's ``maxcor``).
        callbacks: a ``keras.callbacks.CallbackList``; ``on_train_batch_end(first_step + i, losses)``
            after each iteration.
        first_step: the number of steps run before this call (earlier scales).

    Returns:
        ``(final caffe image, list of per-iteration dicts of loss values)``.
    """
    import scipy.optimize

    shape = tuple(initial.shape)
    low, high = _pixel_bounds(shape)

    @tf.function
    def value_and_gradient(flat):
        images = tf.reshape(flat, shape)
        with tf.GradientTape() as tape:
            tape.watch(images)
            values = objective(images)
        return values, tf.reshape(tape.gradient(values["total"], images), [-1])

    last = {}

    def function(flat):
        values, gradient = value_and_gradient(tf.constant(flat, dtype="float32"))
        last.update(values=values, x=flat)
        return float(values["total"]), gradient.numpy().astype("float64")

    # The loss at the start, so the log has one entry per iteration like Adam's
    # (losses *before* each update).
    function(np.asarray(initial, dtype="float64").ravel())
    log = [last["values"]]
    last["start"] = time.perf_counter()  # after tracing

    def record(flat):
        if not np.array_equal(flat, last["x"]):
            function(flat)
        if callbacks is not None:  # the loss before this iteration's update, as Adam reports
            callbacks.on_train_batch_end(first_step + len(log) - 1, log[-1])
        log.append(last["values"])

    result = scipy.optimize.minimize(
        function,
        np.asarray(initial, dtype="float64").ravel(),
        jac=True,
        method="L-BFGS-B",
        bounds=scipy.optimize.Bounds(low.ravel(), high.ravel()),
        callback=record,
        # Tolerances at zero: run the requested iterations unless the line search fails.
        options={"maxiter": steps, "maxcor": max_correction, "ftol": 0.0, "gtol": 0.0, "maxfun": 20 * steps + 20},
    )
    # The last entry is the loss after the final update; drop it so the log holds
    # the loss before each of the iterations run.
    log = log[: max(len(log) - 1, 1)]
    run_lbfgs.last_seconds = time.perf_counter() - last["start"]
    return tf.constant(result.x.reshape(shape), dtype="float32"), log


def _check_choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{name} must be one of {choices}. Received: {name}={value!r}")


def _luminance_only(content, styles):
    """Gatys et al. 2016 (color): transfer on luminance, style luminance matched to the content's.

    Returns gray RGB copies of the content and the styles (Y repeated), the
    styles' Y having the content's Y mean and standard deviation.
    """
    content_y = image_io.rgb_to_yuv(content)[..., 0]
    mean, std = content_y.mean(), content_y.std()
    gray_styles = []
    for style in styles:
        style_y = image_io.rgb_to_yuv(style)[..., 0]
        matched = (style_y - style_y.mean()) * (std / max(style_y.std(), 1e-6)) + mean
        gray_styles.append(np.repeat(np.clip(matched, 0, 255)[..., None], 3, axis=-1))
    return np.repeat(content_y[..., None], 3, axis=-1), gray_styles


def _recolor(result, content):
    """Result's luminance with the content's chroma (U, V), back to RGB."""
    yuv = image_io.rgb_to_yuv(content)
    yuv[..., 0] = image_io.rgb_to_yuv(result)[..., 0]
    return np.clip(image_io.yuv_to_rgb(yuv), 0.0, 255.0)


def _scale_sizes(longest, scales):
    if scales is None:
        return [longest]
    scales = [float(scale) for scale in scales]
    if not scales or any(not 0 < scale <= 1 for scale in scales) or scales != sorted(scales):
        raise ConfigError(
            "scales must be increasing fractions in (0, 1] of the size, e.g. (0.25, 0.5, 1.0). "
            f"Received: scales={scales}"
        )
    return [max(16, round(longest * scale)) for scale in scales]


def stylize(
    content,
    style,
    steps=300,
    size=512,
    optimizer="adam",
    init="content",
    content_weight=DEFAULT_CONTENT_WEIGHT,
    style_weight=DEFAULT_STYLE_WEIGHT,
    tv_weight=DEFAULT_TV_WEIGHT,
    preserve_color=False,
    style_blend=None,
    scales=None,
    learning_rate=DEFAULT_LEARNING_RATE,
    style_layers=None,
    content_layer=DEFAULT_CONTENT_LAYER,
    network="vgg16",
    weights="vgg16-hed",
    extractor=None,
    seed=0,
    jit_compile=False,
    callbacks=None,
    verbose=0,
    tensorboard=None,
):
    """Paints ``content`` in the style of ``style`` (Gatys et al. 2016).

    Args:
        content: the content image: a path or an RGB array in [0, 255].
        style: a style image (path or array), or a list of them to blend.
        steps: optimizer steps in all (split evenly over ``scales``, the
            remainder going to the finest).
        size: the longest side of the result in pixels (``None``: the content's own
            size). Style images are resized to the same longest side.
        optimizer: ``"adam"`` (one compiled step per update) or ``"lbfgs"``
            (SciPy L-BFGS-B; ``steps`` is its iteration count).
        init: ``"content"`` (start from the content image), ``"noise"`` (uniform
            noise, as the paper), or an RGB array of the content's size.
        content_weight: weight of the content loss (``α``).
        style_weight: weight of the style loss (``β``).
        tv_weight: weight of the total-variation loss.
        preserve_color: transfer luminance only and keep the content's colors
            (its YUV chroma).
        style_blend: weights of the style images (normalized to sum 1); default
            equal weights.
        scales: increasing fractions of ``size`` to optimize at coarse-to-fine,
            e.g. ``(0.25, 0.5, 1.0)``; each scale starts from the previous result.
        learning_rate: Adam's learning rate in pixel units.
        style_layers: ``{layer: weight}`` or a list of layers (equal weights);
            default block1_conv1 ... block5_conv1 at 0.2 each.
        content_layer: the content layer (default ``block4_conv2``).
        network: ``"vgg16"`` or ``"vgg19"``.
        weights: ``"vgg16-hed"`` (offline), ``"imagenet"`` (online) or a path.
        extractor: a prebuilt :func:`~dlkit.style.features.feature_extractor`
            model to reuse (its layers must include the ones asked for).
        seed: seed of the noise initialization.
        jit_compile: XLA-compile the Adam step.
        callbacks: Keras callbacks: ``on_train_begin``, then
            ``on_train_batch_end(step, logs)`` after each step with the weighted
            losses of :data:`COMPONENTS` (tensors with Adam: reading one waits
            for the step), then ``on_train_end``.
        verbose: progress (:mod:`dlkit.progress`): 0 none, 1 Keras's progress
            bar, 2 a line at least every ``HEARTBEAT_SECONDS``; ``"auto"``
            picks 1 or 2. A 512 px Adam step takes seconds on a CPU.
        tensorboard: a folder for TensorBoard logs of the losses per step, or ``None``/``False``.

    Returns:
        A :class:`StyleResult` with the image and a per-step log of each loss.

    Raises:
        ConfigError: a bad argument. ImageError: an image path cannot be read.
        WeightsError: the VGG weights cannot be loaded.
    """
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    if not isinstance(init, str):
        init_image = image_io.as_rgb_array(init, "init")
    else:
        _check_choice("init", init, INITS)
        init_image = None
    if int(steps) < 1:
        raise ConfigError(f"steps must be >= 1. Received: steps={steps}")
    for name, value in (("content_weight", content_weight), ("style_weight", style_weight), ("tv_weight", tv_weight)):
        if not np.isfinite(value) or value < 0:
            raise ConfigError(f"{name} must be a finite number >= 0. Received: {name}={value}")
    content = image_io.as_rgb_array(content, "content")
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise ConfigError("style needs at least one image. Received: style=[]")
    styles = [image_io.as_rgb_array(item, "style") for item in styles]
    blend = [1.0] * len(styles) if style_blend is None else [float(weight) for weight in style_blend]
    if len(blend) != len(styles) or any(weight < 0 for weight in blend) or sum(blend) <= 0:
        raise ConfigError(
            f"style_blend needs one non-negative weight per style image ({len(styles)}), not all zero. "
            f"Received: style_blend={style_blend}"
        )
    blend = [weight / sum(blend) for weight in blend]
    layer_weights = losses.normalize_layer_weights(DEFAULT_STYLE_LAYERS if style_layers is None else style_layers)
    if extractor is None:
        extractor = feature_extractor(list(layer_weights), content_layer, network, weights)

    final_shape = image_io.fit_longest(content.shape, size)
    content = image_io.resize(content, final_shape)
    original_content = content
    if preserve_color:
        content, styles = _luminance_only(content, styles)
    sizes = _scale_sizes(max(final_shape), scales)
    steps = int(steps)
    counts = [steps // len(sizes)] * len(sizes)
    counts[-1] += steps - sum(counts)

    if init_image is not None:
        current = image_io.resize(init_image, final_shape)
    elif init == "noise":
        current = np.random.default_rng(seed).uniform(0, 255, final_shape + (3,)).astype("float32")
    else:
        current = content
    log = {name: [] for name in (*COMPONENTS, "size")}
    seconds = 0.0
    callbacks = progress.loop_callbacks(callbacks, steps, verbose, label="stylize", tensorboard=tensorboard)
    callbacks.on_train_begin()
    for longest, count in zip(sizes, counts):
        shape = image_io.fit_longest(final_shape, longest)
        scaled_content = image_io.resize(content, shape)
        scaled_styles = [image_io.resize_longest(item, longest) for item in styles]
        objective = Objective(extractor, scaled_content, scaled_styles, blend, layer_weights, content_layer,
                              content_weight, style_weight, tv_weight)
        initial = image_io.preprocess(image_io.resize(current, shape))[None]
        if count == 0:
            continue
        if optimizer == "adam":
            result, step_log = run_adam(objective, initial, count, learning_rate, jit_compile, callbacks,
                                        first_step=len(log["total"]))
            result = result.numpy()
            seconds += run_adam.last_seconds
        else:
            result, step_log = run_lbfgs(objective, initial, count, callbacks=callbacks,
                                         first_step=len(log["total"]))
            result = result.numpy()
            seconds += run_lbfgs.last_seconds
        for name in COMPONENTS:
            log[name].extend(float(values[name]) for values in step_log)
        log["size"].extend([longest] * len(step_log))
        current = image_io.deprocess(result[0])
    callbacks.on_train_end({name: log[name][-1] for name in COMPONENTS})
    if preserve_color:
        current = _recolor(current, original_content)
    return StyleResult(image=current.astype("float32"), log=log, seconds=seconds, steps=len(log["total"]))
