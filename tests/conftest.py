"""Shared pytest set-up: quiet TensorFlow, fixed seeds for every test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

# The harness's asserts explain themselves like a test's (tests/support is on the pythonpath, see setup.cfg).
pytest.register_assert_rewrite("harness")


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same seeds (Python, NumPy, TensorFlow/Keras)."""
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")
