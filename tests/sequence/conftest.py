"""Full float32 matrix products in these tests: they compare recurrent layers to 1e-5.

On Ampere and later GPUs TensorFlow runs float32 matmuls in TensorFloat-32
(10-bit mantissa) by default, ~1e-3 apart from the exact products; cuDNN's
kernels and the cells' step-by-step loops would then differ by more than the
tests allow. On a CPU this changes nothing.
"""

import pytest
import tensorflow as tf


@pytest.fixture(autouse=True)
def _exact_float32_matmuls():
    previous = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    yield
    tf.config.experimental.enable_tensor_float_32_execution(previous)
