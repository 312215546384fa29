"""Registers every custom Keras object of dlkit, so ``keras.models.load_model`` reads any dlkit model.

``import dlkit`` imports this module, which imports each module that defines a
``@keras.saving.register_keras_serializable(package="dlkit")`` layer, loss,
metric, optimizer or model, as ``import keras_hub`` does for its own. After it,
a ``.keras`` file saved by any recipe or builder loads with plain Keras::

    import dlkit, keras
    model = keras.models.load_model("runs/yolo_detection-.../model.keras")

It costs the import of Keras and TensorFlow (a few seconds; measured in
docs/inference.md), not of the optional heavy libraries (gensim,
scikit-learn, TensorFlow Datasets, matplotlib), which dlkit imports only where
it uses them.

Under another Keras backend (``KERAS_BACKEND=jax`` or ``torch``) TensorFlow may
be absent: a module that cannot be imported without it is skipped and named in
:data:`SKIPPED`, and everything else is registered (docs/backends.md). Under
TensorFlow every import error is raised, as before.
"""

import importlib

#: The modules that define registered objects (kept complete by tests/test_registration.py).
MODULES = (
    "dlkit.data.adapter",
    "dlkit.data.augment",
    "dlkit.detection.serving",
    "dlkit.detection.yolo",
    "dlkit.embeddings.model",
    "dlkit.models.common",
    "dlkit.multitask.losses",
    "dlkit.multitask.metrics",
    "dlkit.optimizers",
    "dlkit.sequence.cells",
    "dlkit.transfer.backbones",
    "dlkit.transfer.optimizers",
    "dlkit.transfer.preprocessing",
    "dlkit.verification.embedding",
    "dlkit.verification.losses",
    "dlkit.verification.siamese",
)

PACKAGE = "dlkit"

#: The modules of :data:`MODULES` that the last :func:`register_all` skipped because TensorFlow is missing.
SKIPPED = []


def register_all():
    """Imports every module of :data:`MODULES` (idempotent) and returns the registered names.

    Under a backend other than TensorFlow, a module whose import needs the
    missing TensorFlow is skipped (listed in :data:`SKIPPED`).
    """
    import keras

    tolerant = keras.backend.backend() != "tensorflow"
    skipped = []
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError as error:
            if not (tolerant and is_missing_tensorflow(error)):
                raise
            skipped.append(name)
    SKIPPED[:] = skipped
    return registered_names()


def is_missing_tensorflow(error):
    """Whether an ``ImportError`` says that TensorFlow (or one of its modules) cannot be imported."""
    missing = getattr(error, "name", None) or ""
    return missing.split(".")[0] == "tensorflow"


def registered_names():
    """The ``"dlkit>ClassName"`` keys in Keras's global registry of custom objects."""
    import keras

    return sorted(key for key in keras.saving.get_custom_objects() if key.startswith(f"{PACKAGE}>"))
