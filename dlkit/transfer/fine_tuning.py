"""Two-phase fine-tuning, as in the Keras transfer-learning guide.

Phase 1 trains only the new head on the frozen base (a randomly initialized head
would otherwise send large gradients into the pretrained weights). Phase 2
unfreezes the top of the base and continues, recompiled, with a learning rate
10-100x lower, counting epochs on from where phase 1 stopped.
"""

import dataclasses
import pathlib
import warnings

from dlkit import training
from dlkit.errors import ConfigError
from dlkit.transfer.backbones import find_base
from dlkit.transfer.freezing import freeze, unfreeze
from dlkit.transfer.optimizers import LayerwiseAdam, LayerwiseSGD, layer_decay_multipliers


@dataclasses.dataclass
class FineTuneResult:
    """What :func:`fine_tune` returns.

    Attributes:
        model: the fine-tuned model.
        head_history: ``{metric: [value per epoch]}`` of phase 1.
        fine_tune_history: the same for phase 2 (epochs ``head_epochs`` onward).
        unfrozen: names of the base layers trained in phase 2.
        head_epochs: epochs of phase 1 (phase 2 starts counting here).
        fine_tune_learning_rate: the learning rate of phase 2.
    """

    model: object
    head_history: dict
    fine_tune_history: dict
    unfrozen: list
    head_epochs: int
    fine_tune_learning_rate: float

    @property
    def history(self):
        """Both phases, one list per metric."""
        keys = [*self.head_history, *(key for key in self.fine_tune_history if key not in self.head_history)]
        return {key: [*self.head_history.get(key, []), *self.fine_tune_history.get(key, [])] for key in keys}


def fine_tune(
    model,
    train,
    validation=None,
    *,
    head_epochs=5,
    fine_tune_epochs=5,
    learning_rate=1e-3,
    fine_tune_learning_rate=None,
    from_layer=None,
    top_n=None,
    fraction=None,
    keep_batchnorm_frozen=True,
    optimizer="adam",
    layer_multipliers=None,
    layer_decay=None,
    out=None,
    **fit_options,
):
    """Trains the head on the frozen base, then fine-tunes the top of the base.

    Args:
        model: a classifier from :func:`dlkit.transfer.build_classifier`.
        train: batched ``tf.data.Dataset`` of ``(images in [0, 255], labels)``.
        validation: optional validation dataset.
        head_epochs: epochs of phase 1 (head only); 0 skips it (the head must
            then already be trained).
        fine_tune_epochs: epochs of phase 2.
        learning_rate: learning rate of phase 1.
        fine_tune_learning_rate: learning rate of phase 2 (default
            ``learning_rate / 10``; the guide uses 1/100).
        from_layer, top_n, fraction: what to unfreeze (see
            :func:`dlkit.transfer.unfreeze`; none of them: the whole base).
        keep_batchnorm_frozen: leave batch-norm layers frozen in phase 2.
        optimizer: ``"adam"`` or ``"sgd"`` (or any :func:`dlkit.training.fit`
            name when no per-layer rates are asked for).
        layer_multipliers: optional ``{layer or block name: multiplier}`` of the
            phase-2 learning rate (discriminative fine-tuning).
        layer_decay: alternatively, multiply the rate by this factor per block
            going down the base (see :func:`layer_decay_multipliers`).
        out: folder; phase 1 writes into ``out/head``, phase 2 into
            ``out/fine_tune`` (checkpoints, history.csv).
        **fit_options: more :func:`dlkit.training.fit` arguments (``loss``,
            ``metrics``, ``verbose``, ``schedule``...).

    Returns:
        A :class:`FineTuneResult` with both histories.

    Raises:
        ConfigError: bad epochs or learning rates.
    """
    if head_epochs < 0 or fine_tune_epochs < 1:
        raise ConfigError(
            f"head_epochs must be >= 0 and fine_tune_epochs >= 1. Received: head_epochs={head_epochs}, "
            f"fine_tune_epochs={fine_tune_epochs}"
        )
    fine_tune_learning_rate = learning_rate / 10 if fine_tune_learning_rate is None else fine_tune_learning_rate
    if fine_tune_learning_rate <= 0:
        raise ConfigError(f"fine_tune_learning_rate must be > 0. Received: {fine_tune_learning_rate}")
    if fine_tune_learning_rate > learning_rate / 5:
        warnings.warn(
            f"fine_tune_learning_rate={fine_tune_learning_rate} is close to the head's {learning_rate}; "
            "fine-tuning usually uses a 10-100x lower rate so the pretrained weights are not wrecked.",
            stacklevel=2,
        )
    if layer_multipliers is not None and layer_decay is not None:
        raise ConfigError("Pass layer_multipliers or layer_decay, not both. Received: both")
    out = pathlib.Path(out) if out is not None else None
    base = find_base(model)
    if base is model:
        raise ConfigError(
            "fine_tune needs a classifier with a nested backbone (from build_classifier). "
            f"Received: model={model.name!r}"
        )

    head_history = {}
    if head_epochs:
        freeze(model)
        head = training.fit(
            model,
            train,
            validation,
            epochs=head_epochs,
            optimizer=optimizer,
            learning_rate=learning_rate,
            out=out / "head" if out else None,
            **fit_options,
        )
        head_history = head.history

    unfrozen = unfreeze(
        model, from_layer=from_layer, top_n=top_n, fraction=fraction, keep_batchnorm_frozen=keep_batchnorm_frozen
    )
    if layer_decay is not None:
        layer_multipliers = layer_decay_multipliers(model, layer_decay)
    phase_two_optimizer = optimizer
    if layer_multipliers is not None:
        kinds = {"adam": LayerwiseAdam, "sgd": LayerwiseSGD}
        if optimizer not in kinds:
            raise ConfigError(
                f"Per-layer learning rates need optimizer 'adam' or 'sgd'. Received: optimizer={optimizer!r}"
            )
        extra = {"momentum": fit_options.get("momentum", 0.9)} if optimizer == "sgd" else {}
        phase_two_optimizer = kinds[optimizer](
            learning_rate=fine_tune_learning_rate, layer_multipliers=layer_multipliers, **extra
        )
    # fit() compiles again, so the new optimizer sees the newly trainable variables.
    tuned = training.fit(
        model,
        train,
        validation,
        epochs=head_epochs + fine_tune_epochs,
        initial_epoch=head_epochs,
        optimizer=phase_two_optimizer,
        learning_rate=fine_tune_learning_rate,
        out=out / "fine_tune" if out else None,
        **fit_options,
    )
    return FineTuneResult(
        model=tuned.model,
        head_history=head_history,
        fine_tune_history=tuned.history,
        unfrozen=unfrozen,
        head_epochs=head_epochs,
        fine_tune_learning_rate=fine_tune_learning_rate,
    )
