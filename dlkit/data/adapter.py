"""``ImageAdapter``: raw pixels of any image in, exactly what the trained network takes out.

A network is trained on one picture format: say 32x32 grey digits, light strokes on
black, scaled to [0, 1]. What a user has is a photo or a scan: any size, 1-4
channels (grey, grey + alpha, RGB, RGBA), 0-255, often dark ink on white paper.
Feeding that in as it is gives confident nonsense. ``ImageAdapter`` is the first
layer of every model a dlkit recipe saves, so the conventions travel inside the
``.keras`` file (and into a SavedModel or LiteRT export):

1. resize (area averaging when shrinking, bilinear when enlarging: :func:`resize`, which
   :func:`dlkit.data.pipeline.prepare_image` uses too);
2. composite an alpha channel over white, then convert to ``channels`` (ITU-R
   601 luma for grey, the grey value repeated for RGB);
3. ``polarity="light_on_dark"``: invert an image whose border is lighter than
   mid-grey (dark ink on paper -> light ink on black);
4. ``framing="content"``: stretch the contrast between the background (the
   border's median) and the brightest ink, crop a square around the ink's
   bounding box with ``margin`` blank on each side, and resample it to
   ``content_size`` (the training data's own resolution, e.g. 8x8 for
   scikit-learn's digits, whose ink fills the box) before the output size; the
   usual MNIST-style normalization of handwriting;
5. multiply by ``scale`` (``1 / 255`` for networks trained on [0, 1]).

On images in the training format (same size and channels, dark background)
steps 1-3 change nothing, so a network trained without the adapter can be
wrapped after training; content framing is not an identity, so a network that
uses it must be trained through it (``classify`` does).
"""

import keras
from keras import ops

from dlkit.errors import ConfigError

POLARITIES = (None, "light_on_dark")
FRAMINGS = ("stretch", "content")
# ITU-R 601-2 luma, as tf.image.rgb_to_grayscale.
LUMA = (0.2989, 0.5870, 0.1140)
# Content framing works on an image resampled to this many times the content size.
WORKING_SCALE = 4
# Ink is what is brighter than this share of the (stretched) range.
INK_THRESHOLD = 0.3


def _size(value, name):
    if value is None:
        return None
    if isinstance(value, int):
        value = (value, value)
    value = tuple(int(side) for side in value)
    if len(value) != 2 or min(value) < 1:
        raise ConfigError(f"{name} must be an int or (height, width) >= 1. Received: {name}={value}")
    return value


@keras.saving.register_keras_serializable(package="dlkit")
class ImageAdapter(keras.layers.Layer):
    """Converts raw ``[0, 255]`` images of any size and channel count to a network's input.

    Args:
        image_size: ``(height, width)`` of the output (an int for a square).
        channels: 1 or 3, the output channels.
        scale: factor applied last (``1 / 255`` for networks trained on
            ``[0, 1]``, ``1.0`` for networks that take ``[0, 255]``).
        polarity: ``None`` or ``"light_on_dark"`` (see the module docstring).
        framing: ``"stretch"`` (resize the whole image, as the training
            pipeline did) or ``"content"`` (crop to the ink; see above).
        margin: ``framing="content"``: blank share of the side on each side
            of the content (0 for scikit-learn's digits, 4/28 for MNIST).
        content_size: ``framing="content"``: resolution the content is
            resampled to before ``image_size`` (default ``image_size``).
        **kwargs: ``keras.layers.Layer`` arguments (``name``).

    Input: float or integer images ``(batch, height, width, channels)`` in
    ``[0, 255]``, ``channels`` 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA);
    height, width and channels may differ from call to call.
    Output: float32 ``(batch, *image_size, channels)``.
    """

    def __init__(self, image_size, channels=3, scale=1.0 / 255.0, polarity=None, framing="stretch", margin=0.0,
                 content_size=None, **kwargs):
        kwargs.setdefault("dtype", "float32")  # pixel arithmetic stays float32 under mixed precision
        super().__init__(**kwargs)
        self.image_size = _size(image_size, "image_size")
        if channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3. Received: channels={channels}")
        if polarity not in POLARITIES:
            raise ConfigError(f"polarity must be None or 'light_on_dark'. Received: polarity={polarity!r}")
        if framing not in FRAMINGS:
            raise ConfigError(f"framing must be one of {', '.join(FRAMINGS)}. Received: framing={framing!r}")
        if not 0.0 <= float(margin) < 0.5:
            raise ConfigError(f"margin must be in [0, 0.5). Received: margin={margin}")
        self.channels = int(channels)
        self.scale = float(scale)
        self.polarity = polarity
        self.framing = framing
        self.margin = float(margin)
        self.content_size = _size(content_size, "content_size") or self.image_size

    def call(self, images):
        x = ops.cast(images, "float32")
        if self.framing == "content":
            working = tuple(WORKING_SCALE * side for side in self.content_size)
            height, width = ops.shape(x)[1], ops.shape(x)[2]
            x = self._channels(self._resize(x, working), working)
            x = self._polarity(x)
            x = self._frame(x, ops.cast(height, "float32"), ops.cast(width, "float32"))
            x = resize(x, self.content_size)
            if self.content_size != self.image_size:
                x = resize(x, self.image_size)
        else:
            x = self._channels(self._resize(x, self.image_size), self.image_size)
            x = self._polarity(x)
        x = ops.clip(x, 0.0, 255.0)
        return x * self.scale if self.scale != 1.0 else x

    def _resize(self, x, size):
        if tuple(x.shape[1:3]) == tuple(size):
            return x
        return resize(x, size)

    def _channels(self, x, size):
        """Any of 1-4 input channels to ``self.channels``; alpha is composited over white."""
        incoming = x.shape[-1]
        if incoming is not None:
            return self._convert(x, incoming)
        # Only a TensorFlow graph traced for any channel count gets here (JAX and torch shapes are static).
        count = ops.shape(x)[-1]
        x = ops.cond(
            count <= 2,
            lambda: ops.cond(count == 1, lambda: self._convert(x, 1), lambda: self._convert(x, 2)),
            lambda: ops.cond(count == 3, lambda: self._convert(x, 3), lambda: self._convert(x, 4)),
        )
        return ops.reshape(x, (-1, *size, self.channels))

    def _convert(self, x, incoming):
        if incoming not in (1, 2, 3, 4):
            raise ConfigError(f"Images must have 1 to 4 channels. Received: {incoming} channels")
        if incoming in (2, 4):
            alpha = x[..., incoming - 1 : incoming] / 255.0
            x = x[..., : incoming - 1] * alpha + 255.0 * (1.0 - alpha)
        else:
            x = x[..., :incoming]
        # Decided by ``incoming``, not by x.shape: inside a graph traced for any channel count that is unknown.
        colour = incoming in (3, 4)
        if colour == (self.channels == 3):
            return x
        if self.channels == 3:
            return ops.repeat(x, 3, axis=-1)
        return ops.sum(x * ops.convert_to_tensor(LUMA, x.dtype), axis=-1, keepdims=True)

    def _polarity(self, x):
        if self.polarity is None:
            return x
        light_background = ops.mean(_border(ops.mean(x, axis=-1)), axis=-1) > 127.5
        return ops.where(light_background[:, None, None, None], 255.0 - x, x)

    def _frame(self, x, height, width):
        """Square crop around the ink (``x`` resampled to the working size; ``height``/``width`` the original)."""
        rows, columns = x.shape[1], x.shape[2]
        grey = ops.mean(x, axis=-1)
        background = _median(_border(grey))
        brightest = ops.max(ops.reshape(grey, (-1, rows * columns)), axis=-1)
        span = ops.maximum(brightest - background, 1.0)
        x = ops.clip((x - background[:, None, None, None]) * (255.0 / span)[:, None, None, None], 0.0, 255.0)
        ink = ops.mean(x, axis=-1) > 255.0 * INK_THRESHOLD
        top, bottom = _extent(ops.any(ink, axis=2))
        left, right = _extent(ops.any(ink, axis=1))
        # Box in working pixels -> a square in the original image's pixels -> back to working pixels.
        per_row, per_column = height / rows, width / columns
        side = ops.maximum((bottom - top) * per_row, (right - left) * per_column) / (1.0 - 2.0 * self.margin)
        center_y, center_x = (top + bottom) / 2.0, (left + right) / 2.0
        box_height, box_width = side / per_row, side / per_column
        # Output pixel i samples the box at i + 0.5 of its steps (pixel centres), bilinearly, 0 outside.
        return crop(x, center_y - box_height / 2.0, center_x - box_width / 2.0, box_height / rows,
                    box_width / columns)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.image_size, self.channels)

    def conventions(self):
        """What the adapter assumes and does, as a JSON-ready dict (a run's ``run.json`` records it)."""
        keys = ("image_size", "channels", "scale", "polarity", "framing", "margin", "content_size")
        config = self.get_config()
        return {key: config[key] for key in keys}

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": list(self.image_size),
            "channels": self.channels,
            "scale": self.scale,
            "polarity": self.polarity,
            "framing": self.framing,
            "margin": self.margin,
            "content_size": list(self.content_size),
        }


def resampling_matrix(source_size, target_size):
    """``(target_size, source_size)`` weights of a resize along one axis.

    Shrinking averages the source pixels each output pixel covers, weighted by
    the overlap (area interpolation, ``tf.image.resize(method="area")``,
    OpenCV's ``INTER_AREA``): no aliasing, and an image enlarged by an integer
    factor with nearest neighbours shrinks back to itself exactly. Enlarging is
    bilinear interpolation with half-pixel centres (``tf.image.resize``'s
    default). ``source_size`` may be a tensor, an image size known only when
    the graph runs.
    """
    source = ops.cast(source_size, "float32")
    ratio = source / float(target_size)  # source pixels per output pixel
    outputs = ops.arange(target_size, dtype="float32")[:, None]
    pixels = ops.cast(ops.arange(source_size), "float32")[None, :]
    covered = ops.minimum(pixels + 1.0, (outputs + 1.0) * ratio) - ops.maximum(pixels, outputs * ratio)
    area = ops.maximum(covered, 0.0) / ratio
    # Bilinear: the sample point of output pixel i, clamped into the image as TensorFlow clamps it.
    sample = ops.clip((outputs + 0.5) * ratio - 0.5, 0.0, source - 1.0)
    bilinear = ops.maximum(1.0 - ops.abs(pixels - sample), 0.0)
    return ops.where(ratio > 1.0, area, bilinear)


def resize(images, size):
    """Resizes ``(batch, H, W, C)`` to ``size``: area averaging when shrinking, bilinear when enlarging, per axis.

    Equal (to float rounding) to ``tf.image.resize(..., method="area")`` for
    an image shrunk along both axes and to ``tf.image.resize`` (bilinear) for
    one enlarged along both, on every backend, and made of ops every exporter
    knows (``ops.arange``, arithmetic, ``matmul``; LiteRT has no resize-area op).
    """
    height, width = ops.shape(images)[1], ops.shape(images)[2]
    rows = resampling_matrix(height, size[0])
    columns = resampling_matrix(width, size[1])
    return _separable(images, rows, columns)


def _separable(images, rows, columns):
    """``rows @ image @ columns.T`` per channel; ``rows`` ``([batch,] out_h, H)``, ``columns`` ``([batch,] out_w, W)``.

    Written with transposes and broadcasting ``matmul`` (not ``einsum``): the
    LiteRT converter turns this into BATCH_MATMUL ops with valid shapes.
    """
    if len(rows.shape) == 3:
        rows, columns = rows[:, None], columns[:, None]
    x = ops.transpose(images, (0, 3, 1, 2))  # (batch, channels, H, W)
    x = ops.matmul(ops.matmul(rows, x), ops.swapaxes(columns, -1, -2))
    return ops.transpose(x, (0, 2, 3, 1))


def crop(images, top, left, step_y, step_x):
    """Per-image axis-aligned crop-and-resize by bilinear sampling, zero outside the image.

    Output pixel ``(i, j)`` of image ``b`` samples the input at row
    ``top[b] + (i + 0.5) * step_y[b] - 0.5`` and column ``left[b] + (j + 0.5) *
    step_x[b] - 0.5`` (pixel indices), as ``ops.image.affine_transform`` with
    ``fill_mode="constant"`` would, written as two batched matrix products.
    The output has the input's height and width.
    """
    rows, columns = images.shape[1], images.shape[2]

    def sampling(origin, step, count):
        positions = origin[:, None] + (ops.arange(count, dtype="float32")[None, :] + 0.5) * step[:, None] - 0.5
        pixels = ops.arange(count, dtype="float32")
        return ops.maximum(1.0 - ops.abs(positions[:, :, None] - pixels[None, None, :]), 0.0)  # (batch, out, in)

    return _separable(images, sampling(top, step_y, rows), sampling(left, step_x, columns))


def _border(grey):
    """``(batch, border pixels)``: the outermost ring of ``(batch, rows, columns)``."""
    return ops.concatenate([grey[:, 0, :], grey[:, -1, :], grey[:, 1:-1, 0], grey[:, 1:-1, -1]], axis=-1)


def _median(values):
    """Per-row median (lower middle) of ``(batch, n)``."""
    ordered = ops.sort(values, axis=-1)
    return ordered[:, (values.shape[-1] - 1) // 2]


def _extent(mask):
    """First and one-past-last index of True along axis 1 of ``(batch, n)``; the full range when none is True."""
    size = mask.shape[-1]
    any_true = ops.any(mask, axis=-1)
    as_int = ops.cast(mask, "int32")
    first = ops.cast(ops.argmax(as_int, axis=-1), "float32")
    last = size - ops.cast(ops.argmax(ops.flip(as_int, axis=-1), axis=-1), "float32")
    return ops.where(any_true, first, 0.0), ops.where(any_true, last, float(size))


def with_adapter(network, *, scale=1.0 / 255.0, polarity=None, framing="stretch", margin=0.0, content_size=None,
                 name=None):
    """Puts an :class:`ImageAdapter` in front of a trained network: raw pixels of any image in.

    Args:
        network: a ``keras.Model`` whose image inputs have a fixed
            ``(height, width, channels)``; a network with several image inputs
            (a dict, like a siamese pair) gets one pixel input of the same name
            for each, through one shared adapter.
        scale, polarity, framing, margin, content_size: see :class:`ImageAdapter`
            (they must describe what the network was trained on).
        name: model name (default ``<network>_pixels``).

    Returns:
        A ``keras.Model`` from ``(batch, H, W, 1-4 channels)`` pixels in
        ``[0, 255]`` (the same structure of inputs) to the network's outputs.
    """
    shapes = {tensor.name: tuple(tensor.shape[1:]) for tensor in network.inputs}
    if len(set(shapes.values())) != 1:
        raise ConfigError(f"with_adapter needs image inputs of one shape. Received: {shapes}")
    shape = next(iter(shapes.values()))
    if len(shape) != 3 or None in shape[:2] or shape[2] not in (1, 3):
        raise ConfigError(f"with_adapter needs a network with a fixed (height, width, 1 or 3) input. "
                          f"Received: input_shape={network.input_shape}")
    adapter = ImageAdapter(shape[:2], shape[2], scale, polarity, framing, margin, content_size, name="adapter")
    structure = network.input
    if isinstance(structure, dict):
        pixels = {key: keras.Input((None, None, None), name=key) for key in structure}
        outputs = network({key: adapter(value) for key, value in pixels.items()})
    else:
        pixels = keras.Input((None, None, None), name="pixels")
        outputs = network(adapter(pixels))
    return keras.Model(pixels, outputs, name=name or f"{network.name}_pixels")
