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
    "dlkit.sequence.cells",
    "dlkit.transfer.backbones",
    "dlkit.transfer.optimizers",
    "dlkit.transfer.preprocessing",
    "dlkit.verification.embedding",
    "dlkit.verification.losses",
    "dlkit.verification.siamese",
)

PACKAGE = "dlkit"


def register_all():
    """Imports every module of :data:`MODULES` (idempotent) and returns the registered names."""
    for name in MODULES:
        importlib.import_module(name)
    return registered_names()


def registered_names():
    """The ``"dlkit>ClassName"`` keys in Keras's global registry of custom objects."""
    import keras

    return sorted(key for key in keras.saving.get_custom_objects() if key.startswith(f"{PACKAGE}>"))
