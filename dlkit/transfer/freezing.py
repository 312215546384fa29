"""Freeze and unfreeze a backbone, and see what will train.

Setting ``trainable`` only takes effect in training after the model is compiled
again (``dlkit.training.fit`` compiles on every call); :func:`dlkit.transfer.fine_tune`
does that for you. ``unfreeze`` keeps ``BatchNormalization`` layers frozen by
default: with few images their batch statistics are noisy, and Keras 3 updates a
BN layer's moving mean and variance only when it is trainable and in training mode.
"""

import dataclasses
import math
import re

import keras

from dlkit.errors import ConfigError
from dlkit.transfer.backbones import find_base, set_trainable

HEAD_BLOCK = "head"
BLOCK_PATTERN = re.compile(r"^(.*?block_?\d+[a-z]?)")
STEM_PATTERN = re.compile(r"^(conv\d+)_")
EXPANDED_PATTERN = re.compile(r"^(expanded_conv)")


def walk_layers(layer):
    """Yields every layer nested inside ``layer`` (depth first), not ``layer`` itself."""
    for child in getattr(layer, "layers", []):
        yield child
        yield from walk_layers(child)


def freeze(model):
    """Freezes the backbone of a classifier from :func:`build_classifier` (or all of a plain model).

    Args:
        model: a ``keras.Model``.

    Returns:
        The model (changed in place); recompile before training.
    """
    set_trainable(find_base(model), False)
    return model


def _weighted(layer):
    return bool(layer.weights)


def unfreeze(model, from_layer=None, top_n=None, fraction=None, keep_batchnorm_frozen=True):
    """Makes the top of the backbone trainable; everything below stays frozen.

    The candidates are the backbone's layers that hold weights, in order (a
    ``BatchNormalization`` layer is not a candidate while
    ``keep_batchnorm_frozen``). Give at most one of ``from_layer``, ``top_n``,
    ``fraction``; none unfreezes every candidate. The head outside the backbone
    is left as it is.

    Args:
        model: a classifier from :func:`build_classifier`, or a plain model
            (then all its layers are the candidates).
        from_layer: name of the first layer to unfreeze; it and every
            candidate after it become trainable.
        top_n: number of candidates to unfreeze, counted from the top.
        fraction: share of the candidates to unfreeze, counted from the top
            (rounded up), in ``(0, 1]``.
        keep_batchnorm_frozen: leave ``BatchNormalization`` layers frozen.

    Returns:
        The names of the layers made trainable, bottom to top.

    Raises:
        ConfigError: more than one selector, an unknown layer name, or a count
            out of range.
    """
    given = [
        key
        for key, value in (("from_layer", from_layer), ("top_n", top_n), ("fraction", fraction))
        if value is not None
    ]
    if len(given) > 1:
        raise ConfigError(f"Pass at most one of from_layer, top_n, fraction. Received: {', '.join(given)}")
    base = find_base(model)
    candidates = [
        layer
        for layer in base.layers
        if _weighted(layer) and not (keep_batchnorm_frozen and isinstance(layer, keras.layers.BatchNormalization))
    ]
    if from_layer is not None:
        names = [layer.name for layer in base.layers]
        if from_layer not in names:
            raise ConfigError(
                f"Layer not found in {base.name}; its layers are: {', '.join(names)}. "
                f"Received: from_layer={from_layer!r}"
            )
        start = names.index(from_layer)
        later = {layer.name for layer in base.layers[start:]}
        chosen = [layer for layer in candidates if layer.name in later]
    elif top_n is not None:
        if not 0 <= int(top_n) <= len(candidates):
            raise ConfigError(
                f"top_n must be between 0 and the {len(candidates)} unfreezable layers of {base.name}. "
                f"Received: top_n={top_n}"
            )
        chosen = candidates[len(candidates) - int(top_n) :]
    elif fraction is not None:
        if not 0 < fraction <= 1:
            raise ConfigError(f"fraction must be in (0, 1]. Received: fraction={fraction}")
        chosen = candidates[len(candidates) - math.ceil(fraction * len(candidates)) :]
    else:
        chosen = candidates
    chosen_ids = {id(layer) for layer in chosen}

    if not model.trainable:
        model.trainable = True  # a frozen outer model would hide everything below it
    for layer in model.layers:
        if getattr(layer, "base", None) is base and not layer.trainable:
            layer.trainable = True  # nor may the InferenceMode wrapper be frozen
    set_trainable(base, True)  # every nested layer; then freeze what was not asked for
    for layer in base.layers:
        if id(layer) not in chosen_ids:
            layer.trainable = False
    if keep_batchnorm_frozen:
        for layer in walk_layers(base):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
    return [layer.name for layer in chosen]


def block_of(layer_name):
    """The block a layer belongs to by its name.

    ``block1_conv2`` -> ``block1``, ``conv2_block1_out`` -> ``conv2_block1``,
    ``block_16_project`` -> ``block_16``, ``conv1_bn`` -> ``conv1`` (ResNet's
    stem), ``expanded_conv_project_BN`` -> ``expanded_conv`` (MobileNetV2's
    first block); any other name is its own block.
    """
    for pattern in (BLOCK_PATTERN, STEM_PATTERN, EXPANDED_PATTERN):
        match = pattern.match(layer_name)
        if match:
            return match.group(1)
    return layer_name


@dataclasses.dataclass
class BlockCount:
    """One row of a :class:`TrainableReport`."""

    block: str
    layers: int
    trainable_layers: int
    trainable_params: int
    non_trainable_params: int


@dataclasses.dataclass
class TrainableReport:
    """Trainable and non-trainable parameter counts, in total and by block."""

    trainable_params: int
    non_trainable_params: int
    blocks: list

    def to_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        width = max([len("block"), *(len(row.block) for row in self.blocks)])
        lines = [
            f"{'block':<{width}}  {'layers':>6}  {'trainable':>9}  {'trainable params':>16}  {'frozen params':>13}"
        ]
        for row in self.blocks:
            lines.append(
                f"{row.block:<{width}}  {row.layers:>6}  {row.trainable_layers:>9}  "
                f"{row.trainable_params:>16,}  {row.non_trainable_params:>13,}"
            )
        lines.append(
            f"{'total':<{width}}  {'':>6}  {'':>9}  {self.trainable_params:>16,}  {self.non_trainable_params:>13,}"
        )
        return "\n".join(lines)


def _size(variables):
    return int(sum(math.prod(variable.shape) for variable in variables))


def trainable_report(model):
    """Counts trainable and non-trainable parameters by block.

    The backbone's layers are grouped by their name's block
    (:func:`block_of`); the layers of a classifier outside its backbone form the
    ``"head"`` block. Non-trainable parameters include batch-norm statistics.

    Args:
        model: a ``keras.Model``.

    Returns:
        A :class:`TrainableReport` (``print`` it for a table).
    """
    base = find_base(model)
    rows = {}

    def add(block, layer):
        row = rows.setdefault(block, BlockCount(block, 0, 0, 0, 0))
        row.layers += 1
        trainable = _size(layer.trainable_weights)
        row.trainable_layers += int(trainable > 0)
        row.trainable_params += trainable
        row.non_trainable_params += _size(layer.non_trainable_weights)

    for layer in model.layers:
        if layer is base or getattr(layer, "base", None) is base:
            for inner in base.layers:
                if inner.weights:
                    add(block_of(inner.name), inner)
        elif layer.weights:
            add(HEAD_BLOCK if base is not model else block_of(layer.name), layer)
    blocks = list(rows.values())
    return TrainableReport(
        trainable_params=sum(row.trainable_params for row in blocks),
        non_trainable_params=sum(row.non_trainable_params for row in blocks),
        blocks=blocks,
    )
