"""ImageNet weights for the builders that equal a ``keras.applications`` model.

Architecture lives in the family modules; this module only loads the weights.
``keras.applications`` downloads them on first use into the Keras cache
(:func:`dlkit.weights.keras_cache_dir`); dlkit builds the Keras twin with
``weights="imagenet"`` and copies every layer's weights by name into the dlkit
model, so a mismatch is an error, never a silent partial load.

Offline, ``keras.utils.get_file`` would retry for minutes. So before asking
Keras, :func:`imagenet_loader` calls :func:`dlkit.weights.require_download`:
a file that is neither cached nor downloadable gives a
:class:`~dlkit.errors.WeightsError` within seconds.
"""

import keras

from dlkit import weights
from dlkit.errors import WeightsError


def imagenet_loader(application, file_name, *, include_top, input_shape, **application_kwargs):
    """Returns ``loader(model)`` that loads ``keras.applications.<application>``'s ImageNet weights.

    Args:
        application: the ``keras.applications`` function name, e.g. ``"VGG16"``.
        file_name: the file Keras caches the weights under (to check the cache
            before touching the network; see :data:`dlkit.weights.WEIGHT_FILES`).
        include_top: whether the dlkit model has the 1000-class top.
        input_shape: the dlkit model's input shape (passed to Keras when
            ``include_top=False``, where any size the architecture allows works).
        **application_kwargs: more arguments for the Keras function (``alpha``).

    Returns:
        A callable for ``dlkit.weights.load_into(model, "imagenet", named={"imagenet": loader})``.
    """

    def loader(model):
        received = f"Received: weights='imagenet', input_shape={tuple(input_shape)}, include_top={include_top}"
        if input_shape[-1] != 3:
            raise WeightsError(f"ImageNet weights need 3 input channels (RGB). {received}")
        if include_top and model.outputs[0].shape[-1] != 1000:
            raise WeightsError(
                "ImageNet weights with include_top=True need num_classes=1000; for another number of classes "
                f"use include_top=False and add your own head. {received}, num_classes={model.outputs[0].shape[-1]}"
            )
        weights.require_download(
            weights.keras_cache_dir() / file_name,
            what=f"ImageNet weights for {model.name}",
            received=received,
            hint="pass weights=None or a path to a .weights.h5 file",
        )
        build = getattr(keras.applications, application)
        try:
            source = build(
                weights="imagenet",
                include_top=include_top,
                input_shape=None if include_top else tuple(input_shape),
                **application_kwargs,
            )
        except Exception as error:  # Keras raises ValueError, OSError, URL errors, hash errors...
            raise WeightsError(
                f"keras.applications.{application} could not provide ImageNet weights: {error}. {received}"
            ) from error
        copy_weights_by_name(source, model)

    return loader


def copy_weights_by_name(source, target):
    """Copies the weights of every layer of ``target`` from the same-named layer of ``source``.

    Args:
        source: the ``keras.Model`` holding the weights.
        target: the ``keras.Model`` to fill; every layer with weights must
            have a same-named twin with the same weight shapes in ``source``.

    Raises:
        WeightsError: a layer is missing in ``source`` or its shapes differ.
    """
    source_layers = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        if not layer.weights:
            continue
        twin = source_layers.get(layer.name)
        if twin is None:
            raise WeightsError(
                f"Layer {layer.name!r} of {target.name} has no twin in {source.name}. Received: source={source.name}"
            )
        values = twin.get_weights()
        shapes = [tuple(value.shape) for value in values]
        expected = [tuple(weight.shape) for weight in layer.weights]
        if shapes != expected:
            raise WeightsError(
                f"Layer {layer.name!r} of {target.name} has weight shapes {expected}; "
                f"the source has {shapes}. Received: source={source.name}"
            )
        layer.set_weights(values)
