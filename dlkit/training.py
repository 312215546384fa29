"""``fit``: ``model.fit`` with the callbacks, strategies and precision a recipe needs.

One call gives: an optimizer and learning-rate schedule by name; a best-model
``ModelCheckpoint`` (``.keras``); ``BackupAndRestore`` so a killed run, rerun with
the same ``out`` folder, resumes from its last finished epoch;
``TerminateOnNaN(raise_error=True)`` (the graceful variant would delete the
backup); ``CSVLogger`` plus ``history.json``; optional TensorBoard and early
stopping; a ``tf.distribute`` strategy; mixed precision; XLA.

Pass the model as a zero-argument builder (``lambda: models.build("lenet5")``)
when using a distribution strategy or mixed precision: variables must be
created inside the strategy's scope and under the dtype policy. A built model is
accepted too; under a strategy it is cloned inside the scope with its weights.
"""

import dataclasses
import json
import math
import os
import pathlib
import time

import keras
import tensorflow as tf

from dlkit.errors import ConfigError, TrainingError

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "exponential", "step", "cosine")


@dataclasses.dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        model: the trained model (best weights restored when asked).
        history: ``{metric: [value per epoch]}`` over all epochs of the run,
            including epochs finished before a resume.
        initial_epoch: the epoch this call started from (> 0 after a resume).
        epochs_run: epochs trained by this call.
        seconds: wall time of this call's training.
        strategy: the ``tf.distribute.Strategy`` used.
    """

    model: keras.Model
    history: dict
    initial_epoch: int
    epochs_run: int
    seconds: float
    strategy: object


def make_strategy(name="auto"):
    """Returns a ``tf.distribute.Strategy`` by name.

    Args:
        name: ``"auto"`` (mirrored over all GPUs when there are two or more,
            else the default strategy), ``"default"``, ``"mirrored"`` (all GPUs;
            without GPUs, all logical CPU devices) or ``"multiworker"``
            (``MultiWorkerMirroredStrategy`` configured by ``TF_CONFIG``).
            A ``tf.distribute.Strategy`` is returned unchanged.

    Raises:
        ConfigError: unknown name, or ``multiworker`` without ``TF_CONFIG``.
    """
    if isinstance(name, tf.distribute.Strategy):
        return name
    gpus = tf.config.list_logical_devices("GPU")
    if name in (None, "auto"):
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy()
        cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(cpus)
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError(
                "strategy 'multiworker' reads the cluster from the TF_CONFIG environment variable, "
                "which is not set. Received: strategy='multiworker'"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"strategy must be one of auto, default, mirrored, multiworker. Received: strategy={name!r}")


def learning_rate_schedule(name, learning_rate, total_steps, decay_rate=0.1, warmup_steps=0):
    """Returns a learning rate (float) or a ``keras.optimizers.schedules`` object.

    Args:
        name: ``"constant"``; ``"exponential"`` (smooth decay to
            ``learning_rate * decay_rate`` at the last step); ``"step"``
            (multiply by ``decay_rate`` at 50% and again at 75% of training);
            ``"cosine"`` (cosine decay to 0, after ``warmup_steps`` linear warm-up).
        learning_rate: the initial (peak) learning rate.
        total_steps: number of optimizer steps in the whole run.
        decay_rate: the factor of ``exponential`` and ``step``.
        warmup_steps: linear warm-up steps of ``cosine``.
    """
    if name not in SCHEDULES:
        raise ConfigError(f"schedule must be one of {', '.join(SCHEDULES)}. Received: schedule={name!r}")
    if learning_rate <= 0:
        raise ConfigError(f"learning_rate must be > 0. Received: learning_rate={learning_rate}")
    total_steps = max(int(total_steps), 1)
    if name == "constant":
        return float(learning_rate)
    if name == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(learning_rate, total_steps, decay_rate)
    if name == "step":
        boundaries = [total_steps // 2, (3 * total_steps) // 4]
        values = [learning_rate, learning_rate * decay_rate, learning_rate * decay_rate**2]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    if warmup_steps:
        return keras.optimizers.schedules.CosineDecay(
            0.0, max(total_steps - warmup_steps, 1), warmup_target=learning_rate, warmup_steps=warmup_steps
        )
    return keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)


def make_optimizer(name, learning_rate, momentum=0.9, weight_decay=None):
    """Returns a Keras optimizer by name (``sgd`` with momentum, ``rmsprop``, ``adam``, ``adamw``).

    An ``keras.optimizers.Optimizer`` instance is returned unchanged.
    """
    if isinstance(name, keras.optimizers.Optimizer):
        return name
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, weight_decay=weight_decay)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay or 1e-4)
    raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}. Received: optimizer={name!r}")


def fit(
    model,
    train,
    validation=None,
    *,
    epochs=10,
    initial_epoch=0,
    steps_per_epoch=None,
    optimizer="adam",
    learning_rate=1e-3,
    schedule="constant",
    decay_rate=0.1,
    warmup_steps=0,
    momentum=0.9,
    weight_decay=None,
    loss="sparse_categorical_crossentropy",
    loss_weights=None,
    metrics=("accuracy",),
    compile=True,
    out=None,
    monitor=None,
    restore_best=False,
    backup=True,
    early_stopping=None,
    tensorboard=False,
    callbacks=(),
    strategy="default",
    mixed_precision=False,
    jit_compile="auto",
    verbose="auto",
):
    """Compiles and trains ``model`` on ``train``; see the module docstring.

    Args:
        model: a ``keras.Model`` or a zero-argument callable that builds one
            (required for ``mixed_precision``; preferred under a strategy).
        train: a batched ``tf.data.Dataset`` of ``(inputs, targets)``.
        validation: an optional batched dataset for validation.
        epochs: the total number of epochs (a resumed run counts the epochs
            finished before the interruption).
        initial_epoch: the epoch to start counting from, to continue an
            earlier call's epoch count (e.g. the second phase of fine-tuning).
        steps_per_epoch: optimizer steps per epoch; ``train`` is then
            repeated as needed (a small set makes several passes per epoch).
            ``None``: one pass over ``train``.
        optimizer: ``"sgd"``, ``"rmsprop"``, ``"adam"``, ``"adamw"`` or an instance.
        learning_rate: initial learning rate.
        schedule: ``"constant"``, ``"exponential"``, ``"step"`` or ``"cosine"``.
        decay_rate: factor of the exponential and step schedules.
        warmup_steps: linear warm-up steps of the cosine schedule.
        momentum: SGD momentum.
        weight_decay: decoupled weight decay, or ``None``.
        loss: a loss (or dict of losses keyed by output name) for ``compile``.
        loss_weights: optional dict of loss weights keyed by output name.
        metrics: metrics for ``compile`` (a list, or a dict keyed by output name).
        compile: set ``False`` to keep the compilation of an already compiled
            model (default strategy only).
        out: folder for ``checkpoints/best.keras``, ``backup/``,
            ``history.csv``, ``history.json`` and ``logs/``; ``None`` writes nothing.
        monitor: metric for the checkpoint and early stopping (default
            ``val_loss`` with validation data, else ``loss``).
        restore_best: load the best checkpoint's weights after training.
        backup: keep ``BackupAndRestore`` state in ``out/backup`` so an
            interrupted run resumes.
        early_stopping: patience in epochs, or ``None`` for no early stopping.
        tensorboard: write TensorBoard logs to ``out/logs``.
        callbacks: extra Keras callbacks.
        strategy: a name for :func:`make_strategy` or a strategy instance.
        mixed_precision: build under ``mixed_float16``; the model's outputs
            must stay float32 (dlkit builders keep their last layer float32).
        jit_compile: passed to ``compile`` (``"auto"``, ``True``, ``False``).
        verbose: passed to ``model.fit``.

    Returns:
        A :class:`FitResult`.

    Raises:
        ConfigError: inconsistent arguments.
        TrainingError: the loss became NaN or infinite.
    """
    if epochs < 1 or not 0 <= initial_epoch < epochs:
        raise ConfigError(
            f"epochs must be >= 1 and 0 <= initial_epoch < epochs. Received: epochs={epochs}, "
            f"initial_epoch={initial_epoch}"
        )
    if steps_per_epoch is not None:
        if int(steps_per_epoch) < 1:
            raise ConfigError(f"steps_per_epoch must be >= 1 or None. Received: steps_per_epoch={steps_per_epoch}")
        steps_per_epoch = int(steps_per_epoch)
        train = train.repeat()
    strategy = make_strategy(strategy)
    with strategy.scope():
        model = _materialize(model, strategy, mixed_precision)
        if compile:
            steps = steps_per_epoch or _cardinality(train)
            rate = learning_rate_schedule(
                schedule, learning_rate, (epochs - initial_epoch) * (steps or 1), decay_rate, warmup_steps
            )
            model.compile(
                optimizer=make_optimizer(optimizer, rate, momentum, weight_decay),
                loss=loss,
                loss_weights=loss_weights,
                metrics=_metrics(metrics),
                jit_compile=jit_compile,
            )
        elif strategy is not tf.distribute.get_strategy() or model.optimizer is None:
            raise ConfigError("compile=False needs an already compiled model and the default strategy.")

    monitor = monitor or ("val_loss" if validation is not None else "loss")
    all_callbacks = [keras.callbacks.TerminateOnNaN(raise_error=True)]
    out_path = pathlib.Path(out) if out is not None else None
    if out_path is not None:
        out_path.mkdir(parents=True, exist_ok=True)
        (out_path / "checkpoints").mkdir(exist_ok=True)
        all_callbacks.append(
            keras.callbacks.ModelCheckpoint(
                str(out_path / "checkpoints" / "best.keras"), monitor=monitor, save_best_only=True
            )
        )
        if backup:
            all_callbacks.append(keras.callbacks.BackupAndRestore(str(out_path / "backup")))
        all_callbacks.append(keras.callbacks.CSVLogger(str(out_path / "history.csv"), append=True))
        if tensorboard:
            all_callbacks.append(keras.callbacks.TensorBoard(str(out_path / "logs")))
    elif tensorboard:
        raise ConfigError("tensorboard=True needs an out folder for its logs.")
    if early_stopping is not None:
        all_callbacks.append(
            keras.callbacks.EarlyStopping(monitor=monitor, patience=int(early_stopping), restore_best_weights=False)
        )
    all_callbacks.extend(callbacks)
    epoch_counter = _EpochCounter()
    all_callbacks.append(epoch_counter)

    started = time.perf_counter()
    try:
        model.fit(
            train,
            validation_data=validation,
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=all_callbacks,
            verbose=verbose,
            shuffle=False,
        )
    except RuntimeError as error:
        if "NaN" not in str(error) and "Inf" not in str(error):
            raise
        raise TrainingError(
            f"Training diverged: {error}. Lower the learning rate or check the data for NaN/Inf values. "
            f"Received: optimizer={optimizer!r}, learning_rate={learning_rate}"
        ) from error
    seconds = time.perf_counter() - started

    if restore_best and out_path is not None and (out_path / "checkpoints" / "best.keras").exists():
        best = keras.models.load_model(out_path / "checkpoints" / "best.keras", compile=False)
        model.set_weights(best.get_weights())
    history = _history(model, out_path)
    return FitResult(
        model=model,
        history=history,
        initial_epoch=epoch_counter.first_epoch if epoch_counter.first_epoch is not None else epochs,
        epochs_run=epoch_counter.count,
        seconds=seconds,
        strategy=strategy,
    )


class _EpochCounter(keras.callbacks.Callback):
    """Records the first epoch index this call ran and how many it ran."""

    def __init__(self):
        super().__init__()
        self.first_epoch = None
        self.count = 0

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:
            self.first_epoch = epoch
        self.count += 1


def _materialize(model, strategy, mixed_precision):
    """Builds (or clones) the model inside the current scope and dtype policy."""
    previous_policy = keras.config.dtype_policy()
    if mixed_precision:
        if isinstance(model, keras.Model):
            raise ConfigError(
                "mixed_precision=True needs the model as a builder callable (e.g. lambda: build('lenet5')), "
                "because the dtype policy applies when layers are created. Received: a built keras.Model"
            )
        keras.config.set_dtype_policy("mixed_float16")
    try:
        if isinstance(model, keras.Model):
            if strategy is not tf.distribute.get_strategy() and strategy.num_replicas_in_sync > 1:
                clone = keras.models.clone_model(model)
                clone.set_weights(model.get_weights())
                model = clone
        elif callable(model):
            model = model()
        else:
            raise ConfigError(f"model must be a keras.Model or a callable that builds one. Received: {type(model)}")
    finally:
        keras.config.set_dtype_policy(previous_policy)
    if mixed_precision:
        loose = [tensor.name for tensor in model.outputs if tensor.dtype != "float32"]
        if loose:
            raise ConfigError(
                "Under mixed precision the model's outputs must be float32 (give the last layer "
                f"dtype='float32'). Received float16 outputs: {loose}"
            )
    return model


def _cardinality(dataset):
    steps = int(dataset.cardinality()) if hasattr(dataset, "cardinality") else -1
    return steps if steps > 0 else None


def _metrics(metrics):
    if metrics is None or isinstance(metrics, dict):
        return metrics
    return list(metrics)


def _history(model, out_path):
    """Returns the full history: from ``history.csv`` when it exists (covers resumes)."""
    if out_path is not None and (out_path / "history.csv").exists():
        import csv

        history = {}
        with open(out_path / "history.csv", newline="") as handle:
            rows = {}
            for row in csv.DictReader(handle):
                rows[int(row["epoch"])] = row  # a rerun epoch replaces its interrupted twin
        for epoch in sorted(rows):
            for key, value in rows[epoch].items():
                if key != "epoch" and value not in ("", "NA", None):  # CSVLogger writes NA for absent values
                    history.setdefault(key, []).append(float(value))
        history_json = {key: [v if math.isfinite(v) else None for v in values] for key, values in history.items()}
        (out_path / "history.json").write_text(json.dumps(history_json, indent=1) + "\n")
        return history
    return {key: [float(v) for v in values] for key, values in model.history.history.items()}
