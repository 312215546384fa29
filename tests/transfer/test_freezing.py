"""freeze / unfreeze select exactly the requested layers; trainable_report counts them right."""

import math

import keras
import pytest

from dlkit import transfer
from dlkit.errors import ConfigError


def count(variables):
    return sum(math.prod(variable.shape) for variable in variables)


@pytest.fixture
def model():
    # vgg_tiny: VGG16 layer names with batch norm after every convolution.
    return transfer.build_classifier("vgg_tiny", 3, input_shape=(32, 32, 3), freeze=True)


def trainable_base_layers(model):
    return [layer.name for layer in transfer.find_base(model).layers if layer.trainable_weights]


def conv_names(model):
    return [layer.name for layer in transfer.find_base(model).layers if isinstance(layer, keras.layers.Conv2D)]


def test_frozen_base_leaves_only_the_head(model):
    assert trainable_base_layers(model) == []
    assert [variable.path for variable in model.trainable_weights] == ["predictions/kernel", "predictions/bias"]


def test_top_n_unfreezes_exactly_the_last_n_layers_with_weights(model):
    names = transfer.unfreeze(model, top_n=3)
    assert names == conv_names(model)[-3:] == ["block5_conv1", "block5_conv2", "block5_conv3"]
    assert trainable_base_layers(model) == names  # batch norm stays frozen
    batch_norms = [
        layer for layer in transfer.find_base(model).layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert batch_norms and not any(layer.trainable for layer in batch_norms)


def test_from_layer_and_fraction(model):
    names = transfer.unfreeze(model, from_layer="block4_pool")
    assert names == ["block5_conv1", "block5_conv2", "block5_conv3"] == trainable_base_layers(model)
    names = transfer.unfreeze(model, from_layer="block4_conv2")
    assert names == ["block4_conv2", "block4_conv3", "block5_conv1", "block5_conv2", "block5_conv3"]
    assert trainable_base_layers(model) == names
    names = transfer.unfreeze(model, fraction=0.25)  # ceil(0.25 * 13 conv layers) = 4
    assert names == conv_names(model)[-4:] == trainable_base_layers(model)


def test_unfreezing_batch_norm_on_request(model):
    names = transfer.unfreeze(model, top_n=2, keep_batchnorm_frozen=False)
    assert names == ["block5_conv3", "block5_conv3_bn"]
    assert trainable_base_layers(model) == names
    assert len(transfer.unfreeze(model)) == 13  # batch norm kept frozen by default
    everything = transfer.unfreeze(model, keep_batchnorm_frozen=False)
    assert len(everything) == 26 and trainable_base_layers(model) == everything


def test_trainable_report_counts_match_keras(model):
    transfer.unfreeze(model, top_n=3)
    report = transfer.trainable_report(model)
    assert report.trainable_params == count(model.trainable_weights)
    assert report.non_trainable_params == count(model.non_trainable_weights)
    blocks = {row.block: row for row in report.blocks}
    base = transfer.find_base(model)
    block5 = [base.get_layer(f"block5_conv{index}") for index in (1, 2, 3)]
    assert blocks["block5"].trainable_params == sum(count(layer.trainable_weights) for layer in block5)
    assert blocks["block5"].trainable_layers == 3 and blocks["block5"].layers == 6  # 3 conv + 3 batch norm
    assert blocks["block4"].trainable_params == 0
    assert blocks["head"].trainable_params == count(model.get_layer("predictions").trainable_weights)
    assert "block5" in str(report) and f"{report.trainable_params:,}" in str(report)


def test_freeze_again_and_errors(model):
    transfer.unfreeze(model)
    transfer.freeze(model)
    assert trainable_base_layers(model) == []
    with pytest.raises(ConfigError, match="at most one"):
        transfer.unfreeze(model, top_n=1, fraction=0.5)
    with pytest.raises(ConfigError, match="Received: from_layer='block9_conv1'"):
        transfer.unfreeze(model, from_layer="block9_conv1")
    with pytest.raises(ConfigError, match="top_n=14"):
        transfer.unfreeze(model, top_n=14)
    with pytest.raises(ConfigError, match="fraction=0"):
        transfer.unfreeze(model, fraction=0)


def test_block_names():
    assert transfer.block_of("block1_conv2") == "block1"
    assert transfer.block_of("conv2_block1_out") == "conv2_block1"
    assert transfer.block_of("block_16_project") == "block_16"
    assert transfer.block_of("conv1_bn") == "conv1"
    assert transfer.block_of("expanded_conv_project_BN") == "expanded_conv"
    assert transfer.block_of("predictions") == "predictions"
