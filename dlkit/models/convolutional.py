"""The convolutional implementation of sliding windows.

Sermanet et al., "OverFeat: Integrated Recognition, Localization and Detection
using Convolutional Networks", ICLR 2014 (https://arxiv.org/abs/1312.6229):
a classifier trained on fixed-size crops becomes fully convolutional when its
dense layers are rewritten as convolutions — the first one as a convolution
with the size of the last feature map, the others as 1×1 convolutions. Run on
a larger image it then yields a grid of predictions, one per crop position,
sharing all the convolution work between overlapping crops (the course's
14×14 classifier run on a 16×16 image gives a 2×2 grid).
"""

import keras

from dlkit.errors import ConfigError

_POOLS = {
    keras.layers.GlobalAveragePooling2D: keras.layers.AveragePooling2D,
    keras.layers.GlobalMaxPooling2D: keras.layers.MaxPooling2D,
}


def to_fully_convolutional(model, name=None):
    """Turns a single-input image classifier into an equivalent fully convolutional model.

    ``Flatten`` + ``Dense`` becomes a ``Conv2D`` whose kernel is the feature
    map's height × width (the dense kernel reshaped), later ``Dense`` layers
    become 1×1 convolutions, global poolings become poolings over a window of
    the training-time feature map size with stride 1, and a ``Reshape`` to a
    vector is dropped. Every other layer is copied with its weights.

    The result takes images of any size >= the classifier's input size and
    outputs ``(batch, rows, columns, units)``: cell ``(i, j)`` equals the
    classifier applied to the crop at ``(i * stride, j * stride)`` of the
    classifier's input size, where ``stride`` is the product of the
    feature extractor's strides. The equality is exact for "valid"-padded
    feature extractors; with "same" padding, cells whose receptive field
    touches a crop border see real pixels where the crop saw zero padding.

    Args:
        model: a functional or sequential ``keras.Model`` with one image input
            of fixed height and width.
        name: name of the new model (default ``{model.name}_fully_convolutional``).

    Returns:
        A ``keras.Model`` with input ``(None, None, channels)``.

    Raises:
        ConfigError: the model's input is not an image of fixed size, or it
            has more than one ``Flatten`` layer.
    """
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4 or None in model.inputs[0].shape[1:3]:
        raise ConfigError(
            "to_fully_convolutional needs a model with one image input of fixed height and width. "
            f"Received: inputs={[tuple(tensor.shape) for tensor in model.inputs]}"
        )
    flattens = [layer for layer in model.layers if isinstance(layer, keras.layers.Flatten)]
    if len(flattens) > 1:
        raise ConfigError(
            f"to_fully_convolutional handles one Flatten layer. Received: {[layer.name for layer in flattens]}"
        )
    flatten_window = tuple(flattens[0].input.shape[1:3]) if flattens else (1, 1)
    if isinstance(model, keras.Sequential):
        # clone_model's call_function needs a functional graph; this one shares the layers.
        model = keras.Model(model.inputs[0], model.outputs[0], name=model.name)

    def clone(layer):
        if isinstance(layer, keras.layers.Flatten):
            return keras.layers.Identity(name=layer.name)
        if isinstance(layer, keras.layers.Reshape) and len(layer.target_shape) == 1:
            return keras.layers.Identity(name=layer.name)
        if type(layer) in _POOLS:
            window = tuple(layer.input.shape[1:3])
            return _POOLS[type(layer)](window, strides=1, name=layer.name, dtype=layer.dtype_policy)
        return layer.__class__.from_config(layer.get_config())

    def call(layer, *args, **kwargs):
        features = args[0]
        if not isinstance(layer, keras.layers.Dense) or len(features.shape) != 4:
            return layer(*args, **kwargs)
        # The dense layer right after Flatten sees (window × channels) inputs, later ones channels only.
        input_size = model.get_layer(layer.name).kernel.shape[0]
        kernel_size = (1, 1) if input_size == features.shape[-1] else flatten_window
        config = layer.get_config()
        convolution = keras.layers.Conv2D(
            config["units"],
            kernel_size,
            activation=config["activation"],
            use_bias=config["use_bias"],
            name=layer.name,
            dtype=layer.dtype_policy,
        )
        return convolution(features)

    channels = model.inputs[0].shape[-1]
    new_input = keras.Input(shape=(None, None, channels), name=model.inputs[0].name)
    if isinstance(model.input, (list, tuple)):
        new_input = type(model.input)([new_input])
    converted = keras.models.clone_model(model, input_tensors=new_input, clone_function=clone, call_function=call)
    for old_layer in model.layers:
        if not old_layer.weights:
            continue
        new_layer = converted.get_layer(old_layer.name)
        values = old_layer.get_weights()
        if isinstance(old_layer, keras.layers.Dense) and isinstance(new_layer, keras.layers.Conv2D):
            # Flatten is row-major over (height, width, channels), the order of a Conv2D kernel.
            values[0] = values[0].reshape(tuple(new_layer.kernel.shape))
        new_layer.set_weights(values)
    return keras.Model(converted.inputs[0], converted.output, name=name or f"{model.name}_fully_convolutional")
