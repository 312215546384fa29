"""``weights="imagenet"``: the cache file names, the copy by layer name, and the fast offline failure.

No test touches the network: the download host is replaced by a closed port on
127.0.0.1 and ``keras.applications`` by a stand-in that builds the Keras model
with ``weights=None`` (random weights play the ImageNet ones).
"""

import socket

import keras
import numpy as np
import pytest
from keras.src.utils import file_utils

from dlkit import weights
from dlkit.errors import WeightsError
from dlkit.models import inception, resnet, vgg
from dlkit.models.alexnet import alexnet_tiny
from dlkit.models.mobilenet import mobilenet, mobilenet_v2


class _Stop(Exception):
    pass


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty Keras cache and an unreachable download host."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(weights, "WEIGHTS_HOST", ("127.0.0.1", _closed_port()))
    return tmp_path / "keras" / "models"


def _keras_file_name(monkeypatch, application, **kwargs):
    """The file name keras.applications asks keras.utils.get_file for."""
    captured = {}

    def fake_get_file(fname=None, origin=None, **unused):
        captured["fname"] = fname
        raise _Stop

    monkeypatch.setattr(file_utils, "get_file", fake_get_file)
    with pytest.raises(_Stop):
        getattr(keras.applications, application)(weights="imagenet", **kwargs)
    monkeypatch.undo()
    return captured["fname"]


CASES = [
    ("VGG16", vgg.vgg16, {"include_top": False, "input_shape": (32, 32, 3)}),
    ("ResNet50", resnet.resnet50, {"include_top": False, "input_shape": (32, 32, 3)}),
    ("MobileNet", mobilenet, {"include_top": True, "input_shape": (128, 128, 3)}),
    ("MobileNetV2", mobilenet_v2, {"include_top": False, "input_shape": (96, 96, 3)}),
]


@pytest.mark.parametrize("application, builder, kwargs", CASES, ids=[case[0] for case in CASES])
def test_imagenet_weights_come_from_the_keras_cache_file_and_are_copied_by_name(
    monkeypatch, offline, application, builder, kwargs
):
    file_name = _keras_file_name(monkeypatch, application, **kwargs)
    monkeypatch.setenv("KERAS_HOME", str(offline.parent))
    monkeypatch.setattr(weights, "WEIGHTS_HOST", ("127.0.0.1", _closed_port()))
    offline.mkdir(parents=True)
    (offline / file_name).write_bytes(b"")  # found in the cache: no network check, Keras is asked directly
    original = getattr(keras.applications, application)
    sources = []

    def stand_in(**arguments):
        assert arguments["weights"] == "imagenet"
        arguments["weights"] = None
        source = original(**arguments)
        source.set_weights([np.random.default_rng(1).normal(0, 0.05, w.shape).astype("float32")
                            if "variance" not in w.path else np.ones(w.shape, "float32") for w in source.weights])
        sources.append(source)
        return source

    monkeypatch.setattr(keras.applications, application, stand_in)
    model = builder(weights="imagenet", **kwargs)
    assert len(sources) == 1
    copied = [layer for layer in model.layers if layer.weights]
    assert len(copied) == len([layer for layer in sources[0].layers if layer.weights])
    for layer in copied:
        for ours, theirs in zip(layer.get_weights(), sources[0].get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name, application", [("vgg16", "VGG16"), ("vgg19", "VGG19"), ("resnet50", "ResNet50")])
def test_the_weights_table_names_the_files_keras_applications_asks_for(monkeypatch, name, application):
    entry = weights.keras_weight_file(name, include_top=False)
    assert entry.application == application and entry.origin.endswith("/" + entry.file_name)
    assert entry.file_name == _keras_file_name(monkeypatch, application, include_top=False, input_shape=(32, 32, 3))
    assert weights.keras_weight_file(name, include_top=True).file_name == entry.file_name.replace("_notop", "")


def test_offline_imagenet_fails_fast_with_a_clear_error(monkeypatch, offline):
    def must_not_run(**unused):
        raise AssertionError("keras.applications must not be asked when the host is unreachable")

    monkeypatch.setattr(keras.applications, "VGG16", must_not_run)
    with pytest.raises(WeightsError) as error:
        vgg.vgg16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    message = str(error.value)
    assert "cannot be reached" in message
    assert str(offline / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5") in message
    assert message.endswith("include_top=False")


@pytest.mark.parametrize(
    "make",
    [
        lambda: mobilenet_v2(weights="imagenet", num_classes=10, input_shape=(96, 96, 3)),
        lambda: mobilenet_v2(weights="imagenet", include_top=False, input_shape=(96, 96, 1)),
        lambda: vgg.vgg_tiny(weights="imagenet"),
        lambda: mobilenet(weights="imagenet", alpha=0.3),
        lambda: alexnet_tiny(weights="imagenet"),
        lambda: inception.googlenet_tiny(weights="imagenet"),
    ],
    ids=["num_classes", "one_channel", "width", "alpha", "alexnet", "googlenet"],
)
def test_imagenet_weights_that_cannot_exist_are_refused(offline, make):
    with pytest.raises(WeightsError, match="Received"):
        make()
