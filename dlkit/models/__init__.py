"""Model builders and their registry.

``from dlkit.models import build, names`` then ``build("lenet5", num_classes=10)``;
or import a builder directly: ``from dlkit.models import lenet5``.
Importing this package registers every builder family below.

The builders ``alexnet``, ``mlp``, ``mobilenet`` and ``small_cnn`` shadow their
module names here, as users expect ``from dlkit.models import mlp``; import a
family's blocks from its module (``from dlkit.models.mobilenet import
depthwise_separable_block``).
"""

from dlkit.models.alexnet import alexnet
from dlkit.models.convolutional import to_fully_convolutional
from dlkit.models.inception import drop_aux_heads, googlenet, inception_module, network_in_network_block
from dlkit.models.lenet import lenet5
from dlkit.models.mlp import logistic_regression, mlp
from dlkit.models.mobilenet import mobilenet, mobilenet_v2
from dlkit.models.registry import build, get, names, register
from dlkit.models.resnet import conv_block, identity_block, resnet18, resnet34, resnet50, resnet101, resnet152
from dlkit.models.small_cnn import small_cnn
from dlkit.models.vgg import vgg11, vgg13, vgg16, vgg19

__all__ = [
    "alexnet",
    "build",
    "conv_block",
    "drop_aux_heads",
    "get",
    "googlenet",
    "identity_block",
    "inception_module",
    "lenet5",
    "logistic_regression",
    "mlp",
    "mobilenet",
    "mobilenet_v2",
    "names",
    "network_in_network_block",
    "register",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "small_cnn",
    "to_fully_convolutional",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
]
