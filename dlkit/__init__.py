"""dlkit: applied deep-learning recipes and reusable builders for Keras 3.

Importing ``dlkit`` registers every custom Keras object it defines (layers,
losses, metrics, optimizers, models), as ``import keras_hub`` does, so any model
a dlkit recipe or builder saved loads with plain Keras::

    import dlkit, keras
    model = keras.models.load_model("runs/classify-.../model.keras")

That imports Keras and TensorFlow (a few seconds). A process that only drives
others and never touches a model (``recipes/tour.py``) sets the environment
variable ``DLKIT_REGISTER_ON_IMPORT=0`` before importing dlkit and stays light;
``dlkit.registration.register_all()`` registers later on demand.
"""

import os

__version__ = "0.2.0"
__all__ = ["__version__"]

# Quiet TensorFlow's C++ start-up chatter unless the user set its level (before TensorFlow is imported): the level
# hides INFO and WARNING lines; the lines absl writes before its logging starts ignore it, so they are filtered out of
# stderr while TensorFlow starts (dlkit.native_logs).
_USER_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if os.environ.get("DLKIT_REGISTER_ON_IMPORT", "1") != "0":
    import contextlib as _contextlib

    from dlkit import native_logs as _native_logs
    from dlkit import registration as _registration

    with _contextlib.nullcontext() if _USER_LOG_LEVEL else _native_logs.hidden():
        _registration.register_all()
        import tensorflow as _tf

        _tf.config.list_physical_devices()  # CUDA's start-up lines come here, on the first look for a GPU
