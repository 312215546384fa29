"""Model builders and their registry.

``from dlkit.models import build, names`` then ``build("lenet5", num_classes=10)``;
or import a builder directly: ``from dlkit.models import lenet5``.
Importing this package registers every builder family below.
"""

from dlkit.models.registry import build, get, names, register  # noqa: F401
from dlkit.models import lenet, mlp  # noqa: F401,E402  (registers the builders)
from dlkit.models import alexnet, convolutional, inception, mobilenet, resnet, small_cnn, vgg  # noqa: F401,E402
from dlkit.models.lenet import lenet5  # noqa: F401,E402
# The builder function `mlp` shadows its module name here, as users expect `from dlkit.models import mlp`.
from dlkit.models.mlp import logistic_regression, mlp  # noqa: F401,E402,F811
# Likewise `alexnet` and `mobilenet` are the builders here; import blocks from their modules
# (`from dlkit.models.mobilenet import depthwise_separable_block`).
from dlkit.models.alexnet import alexnet  # noqa: F401,E402,F811
from dlkit.models.convolutional import to_fully_convolutional  # noqa: F401,E402
from dlkit.models.inception import (  # noqa: F401,E402
    drop_aux_heads, googlenet, inception_module, network_in_network_block,
)
from dlkit.models.mobilenet import mobilenet, mobilenet_v2  # noqa: F401,E402,F811
from dlkit.models.resnet import (  # noqa: F401,E402
    conv_block, identity_block, resnet18, resnet34, resnet50, resnet101, resnet152,
)
# `small_cnn` is the builder here too.
from dlkit.models.small_cnn import small_cnn  # noqa: F401,E402,F811
from dlkit.models.vgg import vgg11, vgg13, vgg16, vgg19  # noqa: F401,E402
