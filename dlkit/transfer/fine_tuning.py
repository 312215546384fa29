"""Two-phase fine-tuning, as in the Keras transfer-learning guide.

Phase 1 trains only the new head on the frozen base (a randomly initialized head
would otherwise send large gradients into the pretrained weights). Phase 2
unfreezes the top of the base and continues, recompiled, with a learning rate
10-100x lower, counting epochs on from where phase 1 stopped.

Phase 1 is counted in optimizer steps, not only in epochs. A user's folder of
a few dozen photos is one or two batches an epoch: five head epochs were ten
Adam steps, too few for a head whose inputs are pooled VGG features of norm
~200, and it stayed at chance (measured in docs/transfer_learning.md, "Small
folders"). So the head gets at least ``head_steps`` steps. With a frozen base
and nothing random in front of it, those steps run on features computed once
(the base's forward pass is the whole cost of a step, and it gives the same
features every time), in milliseconds; otherwise the data is repeated.
"""

import dataclasses
import math
import pathlib
import warnings

import keras
import tensorflow as tf

from dlkit import training
from dlkit.errors import ConfigError
from dlkit.transfer.backbones import InferenceMode, find_base
from dlkit.transfer.freezing import freeze, unfreeze
from dlkit.transfer.optimizers import (
    LayerwiseAdam,
    LayerwiseSGD,
    layer_decay_multipliers,
)

#: Phase 1's floor of optimizer steps (see the module docstring).
HEAD_STEPS = 200


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
        head_steps: optimizer steps phase 1 took (on cached features or images).
        kept: ``"fine_tuned"``, or ``"head"`` when phase 2 ended with a
            higher validation loss than phase 1 and phase 1's weights were
            put back (``keep_better=True``).
    """

    model: object
    head_history: dict
    fine_tune_history: dict
    unfrozen: list
    head_epochs: int
    fine_tune_learning_rate: float
    head_steps: int = 0
    kept: str = "fine_tuned"

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
    head_steps=HEAD_STEPS,
    fine_tune_steps=None,
    cache_features=True,
    head_batch_size=32,
    keep_better=True,
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
            ``learning_rate / 100``, the guide's 1e-5 after 1e-3: at 1/10
            Adam moved VGG16's weights ~1% a step and a 33-image folder lost
            a third of its accuracy in phase 2).
        from_layer, top_n, fraction: what to unfreeze (see
            :func:`dlkit.transfer.unfreeze`; none of them: the whole base).
        keep_batchnorm_frozen: leave batch-norm layers frozen in phase 2.
        optimizer: ``"adam"`` or ``"sgd"`` (or any :func:`dlkit.training.fit`
            name when no per-layer rates are asked for).
        layer_multipliers: optional ``{layer or block name: multiplier}`` of the
            phase-2 learning rate (discriminative fine-tuning).
        layer_decay: alternatively, multiply the rate by this factor per block
            going down the base (see :func:`layer_decay_multipliers`).
        head_steps: phase 1 takes at least this many optimizer steps in all
            (an epoch makes several passes over a small set); 0 for one pass
            per epoch.
        fine_tune_steps: the same floor for phase 2 (default: one pass per epoch).
        cache_features: let phase 1 train the head on features computed once
            when the model allows it (a classifier from ``build_classifier``:
            only its deterministic preprocessing in front of the frozen base)
            and no ``callbacks`` are given (they see the classifier on images,
            as Keras callbacks expect).
        head_batch_size: batch size of phase 1 on cached features.
        keep_better: with ``validation``, put phase 1's weights back when
            phase 2 ends with a higher validation loss (see ``kept``).
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
    fine_tune_learning_rate = learning_rate / 100 if fine_tune_learning_rate is None else fine_tune_learning_rate
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

    head_history, head_steps_run = {}, 0
    if head_epochs:
        freeze(model)
        # A user's callbacks expect the classifier on images (self.model, its optimizer): they get the images path.
        parts = _head_on_features(model) if cache_features and not fit_options.get("callbacks") else None
        phase_one = dict(epochs=head_epochs, optimizer=optimizer, learning_rate=learning_rate,
                         out=out / "head" if out else None, **fit_options)
        if parts is not None:
            head_history, head_steps_run = _train_cached_head(model, *parts, train, validation, head_steps,
                                                              head_batch_size, phase_one)
        else:
            _adapt_standardization(model, train)
            steps = _steps_per_epoch(train, head_steps, head_epochs)
            head = training.fit(model, train, validation, steps_per_epoch=steps, **phase_one)
            if head.model is not model:  # a distribution strategy trained a copy
                model.set_weights(head.model.get_weights())
            head_history = head.history
            head_steps_run = head.epochs_run * (steps or training._cardinality(train) or 0)

    head_weights = model.get_weights() if keep_better and validation is not None else None
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
        steps_per_epoch=_steps_per_epoch(train, fine_tune_steps or 0, fine_tune_epochs),
        optimizer=phase_two_optimizer,
        learning_rate=fine_tune_learning_rate,
        out=out / "fine_tune" if out else None,
        **fit_options,
    )
    kept = "fine_tuned"
    before, after = head_history.get("val_loss", [None])[-1], tuned.history.get("val_loss", [None])[-1]
    if head_weights is not None and before is not None and after is not None and after > before:
        # Phase 2 made the held-out loss worse (a few dozen images can pull the base off its features).
        tuned.model.set_weights(head_weights)
        kept = "head"
    return FineTuneResult(
        model=tuned.model,
        head_history=head_history,
        fine_tune_history=tuned.history,
        unfrozen=unfrozen,
        head_epochs=head_epochs,
        fine_tune_learning_rate=fine_tune_learning_rate,
        head_steps=head_steps_run,
        kept=kept,
    )


def _steps_per_epoch(dataset, floor, epochs):
    """Steps per epoch so that ``epochs`` epochs make at least ``floor`` steps; ``None`` (one pass) when they do."""
    batches = training._cardinality(dataset)
    if not floor or batches is None or batches * epochs >= floor:
        return None
    return max(batches, math.ceil(floor / epochs))


def _head_on_features(model):
    """``(extractor, head)`` sharing ``model``'s layers, or ``None`` when phase 1 cannot run on cached features.

    That needs a classifier as :func:`~dlkit.transfer.build_classifier` makes
    it: the input, deterministic preprocessing, the base (in inference mode,
    frozen), pooling, then a chain of ``head_standardization``,
    ``head_dropout`` and ``predictions`` (each but the last optional).
    """
    from dlkit.transfer.preprocessing import BackbonePreprocessing

    names = [layer.name for layer in model.layers]
    if "predictions" not in names:
        return None
    bases = [index for index, layer in enumerate(model.layers) if isinstance(layer, (InferenceMode, keras.Model))]
    if len(bases) != 1:
        return None
    in_front = model.layers[:bases[0]]
    if not all(isinstance(layer, (keras.layers.InputLayer, BackbonePreprocessing)) for layer in in_front):
        return None
    head = ("head_standardization", "head_dropout", "predictions")
    start = min(names.index(name) for name in head if name in names)
    if set(names[start:]) - set(head):
        return None
    features = model.layers[start].input
    extractor = keras.Model(model.inputs, features, name=f"{model.name}_features")
    inputs = keras.Input(tuple(features.shape[1:]), name="features")
    x = inputs
    for layer in model.layers[start:]:
        x = layer(x)
    return extractor, keras.Model(inputs, x, name=f"{model.name}_head")


def _train_cached_head(model, extractor, head, train, validation, head_steps, batch_size, fit_options):
    """Phase 1 on features computed once; the trained head's weights end up in ``model``.

    Returns:
        ``(history, optimizer steps taken)``.
    """
    from dlkit.transfer.features import extract_features

    verbose = fit_options.get("verbose", "auto")
    features, labels = extract_features(extractor, train, verbose=verbose)
    if "head_standardization" in [layer.name for layer in model.layers]:
        model.get_layer("head_standardization").adapt(features)
    epochs = fit_options["epochs"]
    batches = math.ceil(len(features) / batch_size)
    steps = max(batches, math.ceil(head_steps / epochs)) if head_steps else batches
    cached = tf.data.Dataset.from_tensor_slices((features, labels))
    cached = cached.shuffle(len(features), reshuffle_each_iteration=True).batch(batch_size)
    cached_validation = None
    if validation is not None:
        cached_validation = tf.data.Dataset.from_tensor_slices(
            extract_features(extractor, validation, verbose=verbose)).batch(256)
    result = training.fit(head, cached, cached_validation, steps_per_epoch=steps, **fit_options)
    # fit() may have trained a copy (under a distribution strategy): copy the weights into the classifier.
    for layer in result.model.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
    return result.history, result.epochs_run * steps


def _adapt_standardization(model, train):
    """Sets the head's feature statistics from ``train`` (random layers in front run in inference mode)."""
    if "head_standardization" not in [layer.name for layer in model.layers]:
        return
    from dlkit.transfer.features import extract_features

    layer = model.get_layer("head_standardization")
    features, _ = extract_features(keras.Model(model.inputs, layer.input), train)
    layer.adapt(features)

