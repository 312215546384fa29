"""Model builders and their registry.

``from dlkit.models import build, names`` then ``build("lenet5", num_classes=10)``;
or import a builder directly: ``from dlkit.models import lenet5``.
Importing this package registers every builder family below.
"""

from dlkit.models.registry import build, get, names, register  # noqa: F401
from dlkit.models import lenet, mlp  # noqa: F401,E402  (registers the builders)
from dlkit.models.lenet import lenet5  # noqa: F401,E402
# The builder function `mlp` shadows its module name here, as users expect `from dlkit.models import mlp`.
from dlkit.models.mlp import logistic_regression, mlp  # noqa: F401,E402,F811
