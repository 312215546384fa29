"""dlkit: applied deep-learning recipes and reusable builders for Keras 3.

Importing ``dlkit`` is cheap: subpackages (``dlkit.models``, ``dlkit.data``,
``dlkit.training`` ...) import Keras and TensorFlow only when they are imported.
"""

__version__ = "0.1.0"
