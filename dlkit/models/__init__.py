"""Model builders and their registry.

``from dlkit.models import build, names`` then ``build("lenet5", num_classes=10)``;
or import a builder directly: ``from dlkit.models import lenet5``.
Importing this package registers every builder family below.
"""

from dlkit.models.registry import build, get, names, register  # noqa: F401
