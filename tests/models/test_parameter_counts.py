"""Parameter counts of the full-size builders against keras.applications and the papers.

Each big model is built once (weights are random; counting is cheap, building
allocates up to ~0.6 GB for VGG19) and released before the next.
"""

import gc

import keras
import pytest

from dlkit.models import build

# keras.applications' documented counts (weights=None, include_top=True, 224×224×3, 1000 classes) and
# the single-tower AlexNet (sum of the paper's layer sizes).
ANCHORS = {
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "resnet50": 25_636_712,
    "mobilenet": 4_253_864,
    "mobilenet_v2": 3_538_984,
    "alexnet": 62_378_344,
}
# torchvision's counts of the same architectures (trainable parameters: torchvision's BN statistics are buffers).
TORCHVISION_TRAINABLE = {
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
}


def _trainable(model):
    return sum(int(keras.ops.size(weight)) for weight in model.trainable_weights)


@pytest.mark.parametrize("name", sorted(ANCHORS))
def test_parameter_count_equals_the_anchor(name):
    model = build(name)
    assert model.count_params() == ANCHORS[name]
    del model
    gc.collect()


def test_resnet50_trainable_and_batch_norm_statistics_split_like_keras():
    model = build("resnet50")
    assert _trainable(model) == 25_583_592
    assert model.count_params() - _trainable(model) == 53_120


@pytest.mark.parametrize("name", sorted(TORCHVISION_TRAINABLE))
def test_vgg11_13_resnet18_34_match_torchvision(name):
    model = build(name)
    assert _trainable(model) == TORCHVISION_TRAINABLE[name]
    del model
    gc.collect()


@pytest.mark.parametrize(
    "name, application", [("resnet101", keras.applications.ResNet101), ("resnet152", keras.applications.ResNet152)]
)
def test_resnet101_152_equal_keras_layer_by_layer(name, application):
    ours = build(name)
    theirs = application(weights=None)
    assert ours.count_params() == theirs.count_params()
    ours_weights = [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in ours.layers if layer.weights]
    their_weights = [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in theirs.layers if layer.weights]
    assert ours_weights == their_weights


def test_vgg16_without_top_matches_keras_count():
    assert build("vgg16", include_top=False).count_params() == 14_714_688
