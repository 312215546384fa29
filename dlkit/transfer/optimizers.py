"""Per-layer ("discriminative") learning rates.

Howard & Ruder, "Universal Language Model Fine-tuning for Text Classification"
(ULMFiT), ACL 2018 (https://arxiv.org/abs/1801.06146): lower layers hold more
general features and should move less than upper ones when fine-tuning. Keras 3
optimizers have one learning rate; :class:`LayerwiseAdam` and
:class:`LayerwiseSGD` multiply it per variable, by layer or block name.
"""

import keras

from dlkit.errors import ConfigError


def _check_multipliers(multipliers):
    multipliers = dict(multipliers or {})
    for key, value in multipliers.items():
        if not isinstance(key, str) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(
                f"layer_multipliers maps layer or block names to numbers >= 0. Received: {key!r}: {value!r}"
            )
    return {key: float(value) for key, value in multipliers.items()}


def multiplier_for(path, multipliers):
    """Returns the learning-rate multiplier of the variable at ``path`` (``"base/block5_conv1/kernel"``).

    The innermost path segment that is a key of ``multipliers``, or whose block
    (``block5_conv1`` -> ``block5``) is, decides; otherwise 1.
    """
    from dlkit.transfer.freezing import block_of

    for segment in reversed(str(path).split("/")[:-1]):
        if segment in multipliers:
            return multipliers[segment]
        if block_of(segment) in multipliers:
            return multipliers[block_of(segment)]
    return 1.0


class _Layerwise:
    """Mixin: scales the learning rate of each variable by its multiplier."""

    def __init__(self, *args, layer_multipliers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.layer_multipliers = _check_multipliers(layer_multipliers)
        self._variable_multipliers = []

    def build(self, variables):
        super().build(variables)
        self._variable_multipliers = [multiplier_for(variable.path, self.layer_multipliers) for variable in variables]

    def update_step(self, gradient, variable, learning_rate):
        # Traced once per variable, so the multiplier is a Python constant in the graph.
        scale = self._variable_multipliers[self._get_variable_index(variable)]
        if scale == 1.0:
            return super().update_step(gradient, variable, learning_rate)
        return super().update_step(gradient, variable, learning_rate * scale)

    def get_config(self):
        return {**super().get_config(), "layer_multipliers": self.layer_multipliers}


@keras.saving.register_keras_serializable(package="dlkit")
class LayerwiseAdam(_Layerwise, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with a learning-rate multiplier per layer or block.

    Args:
        learning_rate: the base learning rate (multiplier 1).
        layer_multipliers: ``{layer or block name: multiplier}``, e.g.
            ``{"block4": 0.1, "block5": 0.3}``; unnamed variables get 1.
        **kwargs: ``keras.optimizers.Adam`` arguments.
    """


@keras.saving.register_keras_serializable(package="dlkit")
class LayerwiseSGD(_Layerwise, keras.optimizers.SGD):
    """``keras.optimizers.SGD`` with a learning-rate multiplier per layer or block (see :class:`LayerwiseAdam`)."""


def layer_decay_multipliers(model, decay):
    """Multipliers that shrink by ``decay`` per block going down the trainable backbone.

    The top trainable block of the backbone gets 1, the one below ``decay``, then
    ``decay**2``...; the head is not listed (multiplier 1).

    Args:
        model: a classifier from :func:`dlkit.transfer.build_classifier`.
        decay: factor in ``(0, 1]``.

    Returns:
        ``{block name: multiplier}`` for :class:`LayerwiseAdam`.
    """
    from dlkit.transfer.backbones import find_base
    from dlkit.transfer.freezing import block_of

    if not 0 < decay <= 1:
        raise ConfigError(f"layer decay must be in (0, 1]. Received: decay={decay}")
    blocks = []
    for layer in find_base(model).layers:
        if layer.trainable_weights and block_of(layer.name) not in blocks:
            blocks.append(block_of(layer.name))
    return {block: decay**depth for depth, block in enumerate(reversed(blocks))}
