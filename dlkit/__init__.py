"""dlkit: applied deep-learning recipes and reusable builders for Keras 3.

Importing ``dlkit`` registers every custom Keras object it defines (layers,
losses, metrics, optimizers, models), as ``import keras_hub`` does, so any model
a dlkit recipe or builder saved loads with plain Keras::

    import dlkit, keras
    model = keras.models.load_model("runs/classify-.../model.keras")

Under TensorFlow, the default backend, that imports Keras and TensorFlow (a few
seconds). Under ``KERAS_BACKEND=jax`` or ``torch`` without TensorFlow installed,
it registers what needs no TensorFlow (:func:`dlkit.registration.register_all`;
docs/backends.md lists what runs there). A process that only drives others and
never touches a model (``recipes/tour.py``) sets the environment variable
``DLKIT_REGISTER_ON_IMPORT=0`` before importing dlkit and stays light;
``dlkit.registration.register_all()`` registers later on demand.
"""

import importlib
import importlib.util
import os
import sys

__version__ = "0.2.0"
__all__ = ["__version__"]


def lazy_names(package, names):
    """The PEP 562 ``__getattr__`` and ``__dir__`` of a package that imports some of its names on first use.

    A package whose ``__init__`` imported every submodule would import TensorFlow
    with the first of its names, even ``from dlkit.verification import
    TripletLoss`` under JAX. So a package imports its TensorFlow-free modules
    eagerly and lists the others' names here: ``from dlkit.sequence import
    sample`` imports ``dlkit.sequence.sampling`` (and TensorFlow) then, and
    ``from dlkit.sequence import GRUCell`` does not. Any submodule is also an
    attribute of its package on first use (``dlkit.transfer.fine_tuning``), as
    when the package imported it.

    Args:
        package: the package's ``__name__``.
        names: ``{name: submodule}``, e.g. ``{"sample": "sampling"}``; a name equal
            to its submodule's stands for the submodule itself.

    Returns:
        ``(__getattr__, __dir__)`` to assign in the package's namespace.
    """

    def __getattr__(name):
        submodule = names.get(name)
        if submodule is None and not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}"):
            submodule = name  # ``dlkit.transfer.fine_tuning`` after ``import dlkit.transfer``, as when it was eager
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{submodule}")
        value = module if name == submodule else getattr(module, name)
        setattr(sys.modules[package], name, value)  # found directly from now on
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__


# Quiet TensorFlow's C++ start-up chatter unless the user set its level (before TensorFlow is imported): the level
# hides INFO and WARNING lines; the lines absl writes before its logging starts ignore it, so they are filtered out of
# stderr while TensorFlow starts (dlkit.native_logs). XLA under JAX reads the same level.
_USER_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if os.environ.get("DLKIT_REGISTER_ON_IMPORT", "1") != "0":
    import contextlib as _contextlib

    from dlkit import native_logs as _native_logs
    from dlkit import registration as _registration

    with _contextlib.nullcontext() if _USER_LOG_LEVEL else _native_logs.hidden():
        _registration.register_all()
        import keras as _keras

        if _keras.backend.backend() == "tensorflow":
            import tensorflow as _tf

            _tf.config.list_physical_devices()  # CUDA's start-up lines come here, on the first look for a GPU
