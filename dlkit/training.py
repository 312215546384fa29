"""``fit``: ``model.fit`` with the callbacks, strategies and precision a recipe needs.

One call gives: an optimizer and learning-rate schedule by name; a best-model
checkpoint (``.keras``); a backup after every epoch so a killed run, rerun with
the same ``out`` folder, resumes from its last finished epoch; a guard that
stops a run whose loss becomes NaN, infinite or explodes; ``history.csv`` plus
``history.json``; optional TensorBoard and early stopping; a ``tf.distribute``
strategy; mixed precision; XLA.

Resuming loses nothing (see :mod:`dlkit.files`): every file is written
atomically; the backup (weights with the optimizer's state, the epoch, the
loss scale of the divergence guard and the training settings) is written after
the epoch's history row and best checkpoint, so a kill at any point leaves a
consistent state; on resume the history keeps each epoch once and the best
checkpoint keeps the best value of the epochs before the interruption. A
rerun that changes a training setting (learning rate, optimizer, schedule,
epochs...) is refused with a message instead of silently keeping the old one.
With ``keep_backup=True`` a finished phase keeps its backup, marked finished,
so a multi-phase program rerun after a kill skips it; the program removes the
backups with :func:`dlkit.files.clear_resume_state` once its final artifacts
exist (recipes do so in ``dlkit.cli.finish_run``).

Pass the model as a zero-argument builder (``lambda: models.build("lenet5")``)
when using a distribution strategy or mixed precision: variables must be
created inside the strategy's scope and under the dtype policy. A built model is
accepted too; under a strategy it is cloned inside the scope with its weights.
"""

import contextlib
import csv
import dataclasses
import json
import math
import os
import pathlib
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from dlkit import files, progress
from dlkit.errors import ConfigError, TrainingError

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw", "adagrad")
SCHEDULES = ("constant", "exponential", "step", "cosine", "inverse_time", "inverse_sqrt", "plateau")
#: ``schedule="plateau"``: the rate is multiplied by this after ``PLATEAU_PATIENCE`` epochs without a better monitor.
PLATEAU_FACTOR, PLATEAU_PATIENCE = 0.5, 2
_PROCESS_STRATEGIES = {}
#: :func:`fit` stops a run whose epoch loss exceeds this many times its first batch's loss.
DIVERGENCE_FACTOR = 100.0


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
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError(
                "strategy 'multiworker' reads the cluster from the TF_CONFIG environment variable, "
                "which is not set. Received: strategy='multiworker'"
            )
        # One per process, made before anything starts TensorFlow's runtime (listing devices does): collective
        # ops are configured at start-up, so a strategy made later fails ("Collective ops must be configured at
        # program startup"). dlkit.cli.start_run makes it first; later calls get the same one.
        if "multiworker" not in _PROCESS_STRATEGIES:
            _PROCESS_STRATEGIES["multiworker"] = tf.distribute.MultiWorkerMirroredStrategy()
        return _PROCESS_STRATEGIES["multiworker"]
    if name not in (None, "auto", "default", "mirrored"):
        raise ConfigError(f"strategy must be one of auto, default, mirrored, multiworker. Received: strategy={name!r}")
    if name in (None, "auto") and "multiworker" in _PROCESS_STRATEGIES:
        return _PROCESS_STRATEGIES["multiworker"]  # in a multi-worker process, the cluster is what is available
    if name == "default":
        return tf.distribute.get_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name in (None, "auto") and len(gpus) < 2:
        return tf.distribute.get_strategy()
    # One mirrored strategy per process, reused by every phase: each new one would number its collective ops
    # from the start again, and a second model's gradients could meet the first one's in the same collective
    # ("Shape mismatch in the collective instance").
    if "mirrored" not in _PROCESS_STRATEGIES:
        devices = None if gpus else [device.name for device in tf.config.list_logical_devices("CPU")]
        _PROCESS_STRATEGIES["mirrored"] = tf.distribute.MirroredStrategy(devices)
    return _PROCESS_STRATEGIES["mirrored"]


@contextlib.contextmanager
def build_scope(strategy="default", mixed_precision=False):
    """Where to build a model that :func:`fit` trains under ``strategy`` and ``mixed_precision``.

    Variables must be created inside the strategy's scope and under the dtype
    policy. A builder callable passed to :func:`fit` gets both; a model made in
    several steps (a pretrained backbone, then a head) is built inside this
    context instead, then passed to :func:`fit` with the same strategy::

        with training.build_scope("mirrored", mixed_precision=True) as strategy:
            model = transfer.build_classifier(base_builder(), num_classes)
        training.fit(model, train, strategy=strategy, mixed_precision=True)

    Yields:
        The ``tf.distribute.Strategy`` (pass it on to :func:`fit`).
    """
    strategy = make_strategy(strategy)
    previous = keras.config.dtype_policy()
    if mixed_precision:
        keras.config.set_dtype_policy("mixed_float16")
    try:
        with strategy.scope():
            yield strategy
    finally:
        keras.config.set_dtype_policy(previous)


def learning_rate_schedule(name, learning_rate, total_steps, decay_rate=0.1, warmup_steps=0, steps_per_epoch=None):
    """Returns a learning rate (float) or a ``keras.optimizers.schedules`` object.

    Args:
        name: ``"constant"``; ``"exponential"`` (smooth decay to
            ``learning_rate * decay_rate`` at the last step); ``"step"``
            (multiply by ``decay_rate`` at 50% and again at 75% of training);
            ``"cosine"`` (cosine decay to 0, after ``warmup_steps`` linear
            warm-up); the course notes' per-epoch forms ``"inverse_time"``
            (``learning_rate / (1 + k * epoch)``) and ``"inverse_sqrt"``
            (``learning_rate / sqrt(1 + k * epoch)``), with ``k`` such that the
            last epoch runs at ``learning_rate * decay_rate``; ``"plateau"``
            (a constant here: :func:`fit` adds ``ReduceLROnPlateau``, which
            halves the rate after 2 epochs without improvement).
        learning_rate: the initial (peak) learning rate.
        total_steps: number of optimizer steps in the whole run.
        decay_rate: the factor of ``exponential`` and ``step``, and the final
            fraction of ``inverse_time`` and ``inverse_sqrt``.
        warmup_steps: linear warm-up steps of ``cosine``.
        steps_per_epoch: optimizer steps per epoch (the per-epoch forms; default:
            ``total_steps``, i.e. one epoch).
    """
    from dlkit import optimizers

    if name not in SCHEDULES:
        raise ConfigError(f"schedule must be one of {', '.join(SCHEDULES)}. Received: schedule={name!r}")
    if learning_rate <= 0:
        raise ConfigError(f"learning_rate must be > 0. Received: learning_rate={learning_rate}")
    total_steps = max(int(total_steps), 1)
    if name in ("constant", "plateau"):
        return float(learning_rate)
    if name == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(learning_rate, total_steps, decay_rate)
    if name == "step":
        boundaries = [total_steps // 2, (3 * total_steps) // 4]
        values = [learning_rate, learning_rate * decay_rate, learning_rate * decay_rate**2]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    if name in ("inverse_time", "inverse_sqrt"):
        per_epoch = max(int(steps_per_epoch or total_steps), 1)
        k = optimizers.decay_constant(name, -(-total_steps // per_epoch), decay_rate)
        if name == "inverse_time":
            return keras.optimizers.schedules.InverseTimeDecay(learning_rate, per_epoch, k, staircase=True)
        return optimizers.InverseSqrtDecay(learning_rate, per_epoch, k)
    if warmup_steps:
        return keras.optimizers.schedules.CosineDecay(
            0.0, max(total_steps - warmup_steps, 1), warmup_target=learning_rate, warmup_steps=warmup_steps
        )
    return keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)


def make_optimizer(name, learning_rate, momentum=0.9, weight_decay=None, clipnorm=None, clipvalue=None):
    """Returns a Keras optimizer by name (``sgd`` with momentum, ``rmsprop``, ``adam``, ``adamw``, ``adagrad``).

    Args:
        name: the optimizer's name; a ``keras.optimizers.Optimizer`` instance
            is returned unchanged.
        learning_rate: a float or a learning-rate schedule.
        momentum: SGD momentum.
        weight_decay: decoupled weight decay, or ``None``.
        clipnorm: rescale each variable's gradient to at most this L2 norm,
            the remedy for exploding gradients in recurrent networks (Pascanu
            et al., "On the difficulty of training recurrent neural
            networks", ICML 2013). ``None``: no clipping.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.

    Raises:
        ConfigError: an unknown name, or a clip bound that is not > 0.
    """
    if isinstance(name, keras.optimizers.Optimizer):
        return name
    clipping = {}
    for key, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
        if value is not None:
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{key} must be a finite number > 0 or None. Received: {key}={value}")
            clipping[key] = float(value)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, weight_decay=weight_decay, **clipping)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, weight_decay=weight_decay, **clipping)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay, **clipping)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay or 1e-4, **clipping)
    if name == "adagrad":  # Duchi et al., JMLR 2011: each weight's rate divided by its summed squared gradients
        return keras.optimizers.Adagrad(learning_rate, weight_decay=weight_decay, **clipping)
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
    clipnorm=None,
    clipvalue=None,
    loss="sparse_categorical_crossentropy",
    loss_weights=None,
    metrics=("accuracy",),
    compile=True,
    out=None,
    monitor=None,
    restore_best=False,
    backup=True,
    keep_backup=False,
    early_stopping=None,
    tensorboard=False,
    callbacks=(),
    strategy="default",
    mixed_precision=False,
    jit_compile="auto",
    divergence_factor=DIVERGENCE_FACTOR,
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
        schedule: one of :data:`SCHEDULES` (see :func:`learning_rate_schedule`).
        decay_rate: factor of the exponential and step schedules.
        warmup_steps: linear warm-up steps of the cosine schedule.
        momentum: SGD momentum.
        weight_decay: decoupled weight decay, or ``None``.
        clipnorm: clip each gradient to this L2 norm (exploding gradients in
            recurrent networks); see :func:`make_optimizer`.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
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
        backup: keep a backup in ``out/backup`` after every epoch, so an
            interrupted run resumes when called again with the same ``out``.
        keep_backup: keep the backup after training, marked finished, so a
            later call with the same ``out`` and settings skips training and
            returns the trained weights (a multi-phase program rerun after a
            kill); remove it with :func:`dlkit.files.clear_resume_state`.
            ``False``: removed when training ends.
        early_stopping: patience in epochs, or ``None`` for no early stopping.
        tensorboard: write TensorBoard logs (loss and metrics per epoch) to
            ``out/logs`` (``True``) or to the folder given.
        callbacks: extra Keras callbacks.
        strategy: a name for :func:`make_strategy` or a strategy instance.
        mixed_precision: build under ``mixed_float16``; the model's outputs
            must stay float32 (dlkit builders keep their last layer float32).
        jit_compile: passed to ``compile`` (``"auto"``, ``True``, ``False``).
        divergence_factor: stop with a :class:`TrainingError` when an epoch's
            mean loss exceeds this many times the loss of the first batch
            (at least 1.0): the run diverged even if the loss is finite.
            ``None`` checks only for NaN and infinity.
        verbose: 0 (silent), 1 (Keras's progress bar), 2 (a line per epoch
            and a heartbeat line during long epochs, :mod:`dlkit.progress`), or
            ``"auto"``: 1 on a terminal or in a notebook, else 2.

    Returns:
        A :class:`FitResult`.

    Raises:
        ConfigError: inconsistent arguments, or ``out`` holds an interrupted
            run that was trained with other settings.
        TrainingError: the loss became NaN or infinite, or exploded.
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
    out_path = pathlib.Path(out) if out is not None else None
    if tensorboard is True and out_path is None:
        raise ConfigError("tensorboard=True needs an out folder for its logs; or pass the logs folder as tensorboard.")
    log_dir = (out_path / "logs" if tensorboard is True else pathlib.Path(tensorboard)) if tensorboard else None
    settings = _settings(
        optimizer=optimizer, learning_rate=learning_rate, schedule=schedule, decay_rate=decay_rate,
        warmup_steps=warmup_steps, momentum=momentum, weight_decay=weight_decay, clipnorm=clipnorm,
        clipvalue=clipvalue, epochs=epochs,
        initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch, mixed_precision=bool(mixed_precision),
    )
    backup_dir = out_path / files.BACKUP if out_path is not None and backup else None
    state = files.read_state(backup_dir) if backup_dir is not None else None
    if state is not None:
        _check_settings(state.get("settings", {}), settings, backup_dir)

    distributed = strategy is not tf.distribute.get_strategy()  # asked outside the scope, where it is itself
    if distributed:
        _patch_keras_for_distribution()
    with strategy.scope():
        model = _materialize(model, distributed, mixed_precision)
        if compile:
            steps = steps_per_epoch or _cardinality(train)
            if steps is None and schedule not in ("constant", "plateau"):
                # Counting 1 step per epoch would decay the rate to its floor within the first epoch.
                raise ConfigError(
                    f"The {schedule} schedule needs the number of steps per epoch, and the dataset's length is "
                    f"unknown (from_generator, filter, repeat...): pass steps_per_epoch= or "
                    f"train.apply(tf.data.experimental.assert_cardinality(batches)). Received: schedule={schedule!r}"
                )
            rate = learning_rate_schedule(
                schedule, learning_rate, (epochs - initial_epoch) * (steps or 1), decay_rate, warmup_steps, steps
            )
            model.compile(
                optimizer=make_optimizer(optimizer, rate, momentum, weight_decay, clipnorm, clipvalue),
                loss=loss,
                loss_weights=loss_weights,
                metrics=_metrics(metrics),
                jit_compile=jit_compile,
            )
        elif distributed or model.optimizer is None:
            raise ConfigError("compile=False needs an already compiled model and the default strategy.")

    start_epoch, finished = initial_epoch, False
    if state is not None:
        _restore(model, backup_dir / state["weights"], strategy)
        start_epoch = max(initial_epoch, int(state["epoch"]))
        finished = bool(state.get("finished")) or start_epoch >= epochs
        # Printed whatever the verbosity: a run that picks up an earlier one's work should say so.
        what = "finished; skipping its training" if finished else f"resuming at epoch {start_epoch + 1}/{epochs}"
        print(f"{out_path}: found the backup of an earlier run, {what}", flush=True)

    monitor = monitor or ("val_loss" if validation is not None else "loss")
    guard = DivergenceGuard(divergence_factor, reference=(state or {}).get("reference_loss"))
    all_callbacks = [keras.callbacks.TerminateOnNaN(raise_error=True), guard]
    if out_path is not None:
        (out_path / "checkpoints").mkdir(parents=True, exist_ok=True)
        history_log = HistoryLog(out_path / "history.csv", start_epoch)
        all_callbacks += [
            history_log,
            BestCheckpoint(out_path / "checkpoints" / "best.keras", monitor, earlier=history_log.column(monitor)),
        ]
        if backup_dir is not None:
            all_callbacks.append(Backup(backup_dir, settings, guard))
    if log_dir is not None:
        all_callbacks.append(keras.callbacks.TensorBoard(str(log_dir)))
    if schedule == "plateau":
        all_callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=PLATEAU_FACTOR,
                                                               patience=PLATEAU_PATIENCE, verbose=0))
    if early_stopping is not None:
        all_callbacks.append(
            keras.callbacks.EarlyStopping(monitor=monitor, patience=int(early_stopping), restore_best_weights=False)
        )
    all_callbacks.extend(callbacks)
    verbose = progress.check_verbose(verbose)
    all_callbacks.extend(progress.fit_callbacks(verbose))
    epoch_counter = _EpochCounter()
    all_callbacks.append(epoch_counter)
    if files.failpoints_active("batch"):
        batch_end = keras.callbacks.LambdaCallback(on_train_batch_end=lambda *_, **__: files.failpoint("batch"))
        all_callbacks.append(batch_end)

    started = time.perf_counter()
    if not finished:
        try:
            model.fit(
                train,
                validation_data=validation,
                epochs=epochs,
                initial_epoch=start_epoch,
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
    files.failpoint("fit_end")

    if restore_best and out_path is not None and (out_path / "checkpoints" / "best.keras").exists():
        best = keras.models.load_model(out_path / "checkpoints" / "best.keras", compile=False)
        model.set_weights(best.get_weights())
    history = _history(model, out_path)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        # Each worker evaluates the trained weights on its own: a distributed model's predict() would shard the
        # data across workers and gather the predictions in replica order, not the data's.
        model = _local_copy(model)
    if backup_dir is not None and not keep_backup:
        shutil.rmtree(backup_dir, ignore_errors=True)
    return FitResult(
        model=model,
        history=history,
        initial_epoch=epoch_counter.first_epoch if epoch_counter.first_epoch is not None else start_epoch,
        epochs_run=epoch_counter.count,
        seconds=seconds,
        strategy=strategy,
    )


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training when the loss explodes while staying finite.

    ``TerminateOnNaN`` catches NaN and infinity; a learning rate a million times
    too large often gives huge finite losses instead, and a run that "finished"
    with them would be reported as a success. The reference is the loss of the
    first batch the run trained (kept in the backup across resumes), floored at
    1.0 so a loss that starts near zero may still move.

    Args:
        factor: the allowed ratio of an epoch's mean loss to the reference;
            ``None`` disables the check.
        reference: a reference loss from an earlier, interrupted run.
    """

    def __init__(self, factor=DIVERGENCE_FACTOR, reference=None):
        super().__init__()
        self.factor = factor
        self.reference = reference

    def on_train_batch_end(self, batch, logs=None):
        if self.reference is None and logs and "loss" in logs:
            value = float(logs["loss"])
            if math.isfinite(value):
                self.reference = value

    def on_epoch_end(self, epoch, logs=None):
        value = float((logs or {}).get("loss", 0.0))
        if self.factor is None or self.reference is None or not math.isfinite(value):
            return
        limit = self.factor * max(abs(self.reference), 1.0)
        if value > limit:
            raise TrainingError(
                f"Training diverged: the loss rose to {value:.4g} in epoch {epoch + 1}, more than {self.factor:g} "
                f"times its start ({self.reference:.4g}). Lower the learning rate. The backup of the last good epoch "
                f"is kept. Received: loss={value:.4g}"
            )


class HistoryLog(keras.callbacks.Callback):
    """``history.csv``, one row per epoch, rewritten atomically after each epoch.

    On resume the rows of the epochs about to be trained again are dropped, so
    every epoch appears once. Rows are written before the backup of their
    epoch, so a finished epoch is never missing from the history.

    Args:
        path: the CSV file.
        start_epoch: the epoch training (re)starts at.
    """

    def __init__(self, path, start_epoch=0):
        super().__init__()
        self.path = pathlib.Path(path)
        self.rows = [row for row in _read_rows(self.path) if row["epoch"] < start_epoch]

    def column(self, key):
        """The values of ``key`` in the rows kept from before the restart."""
        return [row[key] for row in self.rows if isinstance(row.get(key), float)]

    def on_train_begin(self, logs=None):
        self._write()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch}
        for key, value in (logs or {}).items():
            try:
                row[key] = float(value)
            except (TypeError, ValueError):
                continue
        self.rows.append(row)
        self._write()

    def _write(self):
        keys = sorted({key for row in self.rows for key in row} - {"epoch"})
        lines = [",".join(["epoch", *keys])]
        for row in self.rows:
            lines.append(",".join([str(row["epoch"]), *(repr(row[key]) if key in row else "NA" for key in keys)]))
        files.write_text(self.path, "\n".join(lines) + "\n")


class BestCheckpoint(keras.callbacks.ModelCheckpoint):
    """Keras's best-only ``ModelCheckpoint``, written atomically and aware of a resume.

    Args:
        path: the ``.keras`` file.
        monitor: the metric compared across epochs.
        earlier: the monitored values of the epochs trained before an
            interruption: the best of them is the value to beat, so a resumed
            run does not overwrite a better checkpoint with a worse epoch.
    """

    def __init__(self, path, monitor, earlier=()):
        super().__init__(str(path), monitor=monitor, save_best_only=True)
        self.earlier = [value for value in earlier if math.isfinite(value)]

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
            for value in self.earlier:
                if self._is_improvement(value, self.best):
                    self.best = value
        super().on_epoch_end(epoch, logs)

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if self._should_save_model(epoch, batch, logs, filepath):
            files.write_atomically(filepath, lambda temporary: self.model.save(temporary))


class Backup(keras.callbacks.Callback):
    """The resume state of a training phase, written after every epoch.

    ``directory/state.json`` names the epoch reached and the weights file of
    that epoch (the model's weights with the optimizer's state, so its step
    count, moments and learning rate continue). The weights go to a new file
    first and the state is replaced after it, both atomically, so a kill
    leaves either the previous consistent state or the new one. Unlike Keras's
    ``BackupAndRestore`` nothing is deleted when training ends: the state is
    marked ``finished`` instead, and :func:`fit` decides what to keep.

    Args:
        directory: the backup folder.
        settings: the training settings, refused on resume when they differ.
        guard: the :class:`DivergenceGuard` whose reference loss is kept.
    """

    def __init__(self, directory, settings, guard=None):
        super().__init__()
        self.directory = pathlib.Path(directory)
        self.settings = settings
        self.guard = guard
        self.epoch = None

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"epoch_{epoch + 1:04d}.weights.h5"
        files.write_atomically(self.directory / name, lambda temporary: self.model.save_weights(temporary))
        self.epoch = epoch + 1
        self._write_state(name, finished=False)
        for old in self.directory.glob("epoch_*.weights.h5"):
            if old.name != name:
                old.unlink(missing_ok=True)
        files.failpoint("epoch_end")

    def on_train_end(self, logs=None):
        state = files.read_state(self.directory)
        if state is not None:
            self._write_state(state["weights"], finished=True, epoch=state["epoch"])

    def _write_state(self, weights, finished, epoch=None):
        reference = self.guard.reference if self.guard is not None else None
        files.write_state(self.directory, {
            "epoch": self.epoch if epoch is None else epoch, "weights": weights, "finished": finished,
            "settings": self.settings, "reference_loss": reference,
        })


def _settings(**settings):
    """The training settings as JSON values (an optimizer instance by its class and configuration)."""
    optimizer = settings["optimizer"]
    if isinstance(optimizer, keras.optimizers.Optimizer):
        config = {key: value for key, value in optimizer.get_config().items() if key != "name"}
        settings["optimizer"] = {"class": type(optimizer).__name__, **config}
    return json.loads(json.dumps(settings, default=str))


def _check_settings(saved, settings, backup_dir):
    """Refuses to resume a run with other training settings than it was started with."""
    changed = sorted(key for key in set(saved) | set(settings) if saved.get(key) != settings.get(key))
    if changed:
        was = ", ".join(f"{key}={saved.get(key)!r}" for key in changed)
        now = ", ".join(f"{key}={settings.get(key)!r}" for key in changed)
        raise ConfigError(
            f"{backup_dir.parent} holds an interrupted run trained with {was}; resuming it with other settings would "
            f"mix two runs. Rerun with the same settings to resume it, or use a new output folder (or delete "
            f"{backup_dir}) to start afresh. Received: {now}"
        )


def _restore(model, weights, strategy):
    """Loads a backup's weights and optimizer state into ``model``."""
    with strategy.scope():
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(weights)
    except (OSError, ValueError) as error:
        raise TrainingError(
            f"The backup in {weights.parent} does not fit this model ({error}); delete it to start afresh. "
            f"Received: {weights}"
        ) from None


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


def _materialize(model, distributed, mixed_precision):
    """Builds (or clones) the model inside the current scope and dtype policy.

    A model built outside a distribution strategy's scope keeps that (no)
    strategy, and its optimizer's variables would be created outside the
    scope; under a strategy it is cloned inside, with its weights, unless it
    was built in this strategy's scope already.
    """
    previous_policy = keras.config.dtype_policy()
    if mixed_precision:
        if isinstance(model, keras.Model) and not _built_mixed(model):
            raise ConfigError(
                "mixed_precision=True needs the model as a builder callable (e.g. lambda: build('lenet5')) or built "
                "inside training.build_scope(mixed_precision=True), because the dtype policy applies when layers are "
                "created. Received: a keras.Model built in float32"
            )
        keras.config.set_dtype_policy("mixed_float16")
    try:
        if isinstance(model, keras.Model):
            if distributed and getattr(model, "_distribute_strategy", None) is not tf.distribute.get_strategy():
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


def _patch_keras_for_distribution():
    """Works around two bugs of Keras 3's ``fit`` under a ``tf.distribute`` strategy.

    1. Before training and before each evaluation, Keras builds the model
       symbolically from one batch, which it first averages across replicas
       with ``strategy.reduce``. That fails when the batch was split unevenly
       (a last batch of 3 over two replicas: "Inputs to operation AddN must
       have the same size and shape") and, under the multi-worker strategy,
       always ("Attempt to convert a value (PerReplica ...)",
       keras-team/keras#20585). The build only needs the batch's shapes and
       dtypes: it gets the first local replica's batch.
    2. Under the multi-worker strategy each step's logs (scalars) are averaged
       across workers with ``strategy.reduce("MEAN", value, axis=0)``, which
       fails on a scalar ("Invalid reduction dimension 0"): scalars are
       averaged with ``axis=None``.

    Applied once per process, the first time :func:`fit` runs under a
    strategy; both replacements keep Keras's behaviour where it works.
    """
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tensorflow_trainer

    if getattr(tensorflow_trainer, "_dlkit_distribution_patch", False):
        return
    local = tensorflow_trainer.TensorFlowTrainer

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(
                    lambda value: self.distribute_strategy.experimental_local_results(value)[0]
                    if isinstance(value, tf.distribute.DistributedValues) else value,
                    next(batches),
                )
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    original_reduce = tensorflow_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        multiworker = tensorflow_trainer._collective_all_reduce_multi_worker(strategy)
        if multiworker and reduction in ("auto", "mean"):
            def mean(value):
                if not isinstance(value, tf.distribute.DistributedValues):
                    return value
                return strategy.reduce("MEAN", value, axis=0 if value.values[0].shape.rank else None)

            return tree.map_structure(mean, values)
        return original_reduce(values, strategy, reduction)

    local._maybe_symbolic_build = _maybe_symbolic_build
    tensorflow_trainer.reduce_per_replica = reduce_per_replica
    tensorflow_trainer._dlkit_distribution_patch = True


def _local_copy(model):
    """A copy of ``model`` outside any distribution strategy, with its weights (for evaluating on one worker)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _built_mixed(model):
    """Whether some layer of ``model`` computes in float16 (it was built under the mixed policy)."""
    return any(getattr(layer, "compute_dtype", None) == "float16" for layer in model._flatten_layers())


def _cardinality(dataset):
    steps = int(dataset.cardinality()) if hasattr(dataset, "cardinality") else -1
    return steps if steps > 0 else None


def _metrics(metrics):
    if metrics is None or isinstance(metrics, dict):
        return metrics
    return list(metrics)


def _read_rows(path):
    """The rows of a ``history.csv`` as dicts (``epoch`` an int, values floats), one per epoch, in order."""
    rows = {}
    try:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                parsed = {"epoch": int(row.pop("epoch"))}
                for key, value in row.items():
                    if value not in ("", "NA", None):  # NA: a value absent in that epoch
                        parsed[key] = float(value)
                rows[parsed["epoch"]] = parsed  # a rerun epoch replaces its interrupted twin
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [rows[epoch] for epoch in sorted(rows)]


def _history(model, out_path):
    """Returns the full history: from ``history.csv`` when it exists (covers resumes)."""
    if out_path is not None and (out_path / "history.csv").exists():
        history = {}
        for row in _read_rows(out_path / "history.csv"):
            for key, value in row.items():
                if key != "epoch":
                    history.setdefault(key, []).append(value)
        history_json = {key: [v if math.isfinite(v) else None for v in values] for key, values in history.items()}
        files.write_text(out_path / "history.json", json.dumps(history_json, indent=1) + "\n")
        return history
    return {key: [float(v) for v in values] for key, values in model.history.history.items()}


#: :func:`gradient_check` compares at most this many entries of a weight tensor unless told otherwise.
GRADIENT_CHECK_ENTRIES = 200
#: Relative differences below this read as correct backpropagation (the notes' "about 1e-7: great").
GRADIENT_CHECK_FINE = 1e-6
#: Relative differences at or above this read as a likely bug (the notes' "about 1e-3: worry").
GRADIENT_CHECK_BUG = 1e-3


@dataclasses.dataclass
class TensorCheck:
    """One weight tensor's line in a :class:`GradientCheck`.

    Attributes:
        name: the variable's path (``"dense1/kernel"``).
        shape: its shape.
        checked: how many of its entries were compared (all of them, or a seeded sample).
        difference: ``||g - g_approx|| / (||g|| + ||g_approx||)`` over the checked entries (0 when both are 0).
        gradient_norm: ``||g||`` over the checked entries (backpropagation's gradient).
    """

    name: str
    shape: tuple
    checked: int
    difference: float
    gradient_norm: float

    @property
    def size(self):
        """The number of entries of the tensor."""
        return math.prod(self.shape)


@dataclasses.dataclass
class GradientCheck:
    """What :func:`gradient_check` returns.

    Attributes:
        difference: the relative difference over every checked entry of every tensor.
        verdict: the notes' reading of ``difference``: ``"fine"``, ``"look closer"`` or ``"likely a bug"``, with the
            tensor to look at first.
        tensors: one :class:`TensorCheck` per trainable weight tensor, in the model's order.
        loss: the cost ``J`` at the model's weights (loss plus regularization losses), in float64.
        epsilon: the step of the two-sided differences.
    """

    difference: float
    verdict: str
    tensors: list
    loss: float
    epsilon: float

    @property
    def worst(self):
        """The :class:`TensorCheck` with the largest relative difference."""
        return max(self.tensors, key=lambda tensor: tensor.difference)

    def table(self):
        """A text table: one row per weight tensor, then the overall difference and the verdict."""
        width = max(len("tensor"), *(len(tensor.name) for tensor in self.tensors))
        lines = [f"{'tensor':<{width}}  {'shape':<16}  {'checked':>12}  {'|g|':>9}  {'difference':>10}"]
        for tensor in self.tensors:
            checked = f"{tensor.checked}/{tensor.size}"
            lines.append(f"{tensor.name:<{width}}  {str(tensor.shape):<16}  {checked:>12}  "
                         f"{tensor.gradient_norm:9.3e}  {tensor.difference:10.2e}")
        lines.append(f"overall relative difference {self.difference:.2e} (epsilon {self.epsilon:g}): {self.verdict}")
        return "\n".join(lines)

    def summary(self):
        """One line, e.g. ``"gradient check: 3.1e-10 over 812 entries: fine"``."""
        entries = sum(tensor.checked for tensor in self.tensors)
        return f"gradient check: {self.difference:.1e} over {entries} entries: {self.verdict}"


def gradient_check(model, x, y, epsilon=1e-7, loss=None, max_entries=None, seed=0, training=False):
    """Compares backpropagation's gradient with two-sided finite differences, in float64.

    For each checked weight entry ``θ_i``, ``g_approx_i = (J(θ + ε e_i) - J(θ - ε e_i)) / 2ε``, where ``J`` is the
    loss on ``(x, y)`` plus the model's regularization losses (``model.losses``: L2 penalties and the like), and
    ``g`` is ``J``'s gradient from ``tf.GradientTape``. Per tensor and overall it reports
    ``||g - g_approx|| / (||g|| + ||g_approx||)``, read as the notes read it: about 1e-7 is fine (below
    :data:`GRADIENT_CHECK_FINE`), about 1e-5 deserves a closer look, about 1e-3 and above
    (:data:`GRADIENT_CHECK_BUG`) is likely a bug.

    The check runs on a float64 copy of the model (the same layers rebuilt with a float64 dtype policy, the weights
    cast to float64), with the loss computed in float64 too: in float32 the rounding of ``J`` alone, divided by
    ``2ε = 2e-7``, would swamp the differences being measured. The model itself is left untouched. The copy runs in
    inference mode (``training=False``): Dropout off and BatchNorm on its moving statistics, so ``J`` is the same
    function at every evaluation; ``training=True`` checks the training-mode graph instead (BatchNorm on the batch's
    statistics, Dropout with one mask: its seed state is held fixed, so every evaluation drops the same units). A
    kink (ReLU at 0, a max-pooling tie) within ``ε`` of a checked point can give a large difference for a correct
    gradient; such points are rare with continuous inputs. The verdict reads the overall difference: a tensor whose
    gradient is tiny shows a larger difference of its own (the rounding of ``J``, about 1e-16 / ε, is then a larger
    part of its ``||g||``) without anything being wrong.

    Each entry costs two forward passes, so by default every entry of a tensor of up to
    :data:`GRADIENT_CHECK_ENTRIES` (200) entries is checked and larger tensors are checked on 200 entries drawn
    without replacement (seeded); ``max_entries`` changes that cap.

    References: Ng, Deep Learning Specialization, course 2 ("Improving Deep Neural Networks"), week 1, "Gradient
    checking"; Karpathy, CS231n notes, "Neural Networks 3: Gradient checks".

    Args:
        model: a built Functional or Sequential ``keras.Model`` with one output (custom layers need ``get_config``).
        x: a batch of inputs (array, tensor, or the list/dict the model takes); floating inputs are cast to float64.
        y: the targets of that batch.
        epsilon: the step ``ε`` of the differences.
        loss: a loss name, ``keras.losses.Loss`` or function ``f(y_true, y_pred)`` (averaged over the batch); when
            omitted, the model's compiled loss. A given ``loss`` takes precedence over the compiled one.
        max_entries: how many entries of each tensor to check (``None``: up to 200).
        seed: the seed of the entries drawn when a tensor has more than ``max_entries``.
        training: run the model in training mode (default inference mode).

    Returns:
        A :class:`GradientCheck` (``.difference``, ``.verdict``, ``.tensors``, ``.table()``, ``.summary()``).

    Raises:
        ConfigError: no loss (the model is not compiled and none given), an unknown loss, a model that is not built,
            has no trainable weights, several outputs or cannot be rebuilt in float64, a non-positive ``epsilon`` or
            ``max_entries``, or a backend other than TensorFlow.
    """
    if keras.backend.backend() != "tensorflow":
        raise ConfigError("gradient_check uses tf.GradientTape and needs the TensorFlow backend (KERAS_BACKEND). "
                          f"Received: backend={keras.backend.backend()}")
    if not float(epsilon) > 0:
        raise ConfigError(f"epsilon must be > 0. Received: epsilon={epsilon}")
    if max_entries is not None and (isinstance(max_entries, bool) or int(max_entries) != max_entries
                                    or max_entries < 1):
        raise ConfigError(f"max_entries must be a whole number >= 1 or None. Received: max_entries={max_entries}")
    if not isinstance(model, keras.Model) or not model.built or not model.trainable_weights:
        raise ConfigError("gradient_check needs a built keras.Model with trainable weights. "
                          f"Received: model={getattr(model, 'name', model)!r}")
    if isinstance(x, tf.data.Dataset):
        raise ConfigError("gradient_check takes one batch as arrays, not a dataset: pass x, y = next(iter(dataset)). "
                          "Received: x=<tf.data.Dataset>")
    if loss is None:
        loss = model.loss if getattr(model, "compiled", False) else None
        if isinstance(loss, (list, tuple)) and len(loss) == 1:
            loss = loss[0]
        if loss is None:
            raise ConfigError("gradient_check needs a loss: compile the model or pass loss=. Received: loss=None")
    cap = GRADIENT_CHECK_ENTRIES if max_entries is None else int(max_entries)
    epsilon = float(epsilon)
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")  # every loss, layer and constant built below defaults to float64
    try:
        loss_function = _float64_loss(loss)
        copy = _float64_copy(model)
        x = tf.nest.map_structure(_float64_tensor, x)
        y = _float64_tensor(y)
        trainable = [tf.constant(variable.numpy()) for variable in copy.trainable_variables]
        non_trainable = [tf.constant(variable.numpy()) for variable in copy.non_trainable_variables]

        def cost(values):
            outputs, _, losses = copy.stateless_call(values, non_trainable, x, training=training, return_losses=True)
            if isinstance(outputs, (list, tuple, dict)):
                raise ConfigError("gradient_check takes a model with one output. "
                                  f"Received: outputs={len(outputs)}")
            total = tf.cast(loss_function(y, outputs), tf.float64)
            for term in losses:
                total += tf.cast(term, tf.float64)
            return total

        with tf.GradientTape() as tape:
            tape.watch(trainable)
            cost_value = cost(trainable)
        # An embedding's gradient comes as IndexedSlices: tf.convert_to_tensor below makes it dense.
        gradients = tape.gradient(cost_value, trainable)
        rng = np.random.default_rng(seed)
        entries = []
        for value in trainable:
            size = int(np.prod(value.shape))
            entries.append(np.arange(size) if size <= cap else np.sort(rng.choice(size, cap, replace=False)))
        differences = _two_sided_differences(cost, trainable, entries, epsilon)
        tensors, all_exact = [], []
        for variable, value, gradient, checked, approximate in zip(
            copy.trainable_variables, trainable, gradients, entries, differences
        ):
            dense = np.zeros(value.shape) if gradient is None else np.asarray(tf.convert_to_tensor(gradient))
            exact = dense.reshape(-1)[checked]
            tensors.append(TensorCheck(variable.path.removeprefix(f"{copy.name}/"), tuple(value.shape), len(checked),
                                       _relative_difference(exact, approximate), float(np.linalg.norm(exact))))
            all_exact.append(exact)
    finally:
        keras.config.set_floatx(floatx)
    difference = _relative_difference(np.concatenate(all_exact), np.concatenate(differences))
    worst = max(tensors, key=lambda tensor: tensor.difference)
    if difference < GRADIENT_CHECK_FINE:
        verdict = "fine"
    elif difference < GRADIENT_CHECK_BUG:
        verdict = f"look closer (largest in {worst.name}: {worst.difference:.1e})"
    else:
        verdict = f"likely a bug (largest in {worst.name}: {worst.difference:.1e})"
    return GradientCheck(difference, verdict, tensors, float(cost_value), epsilon)


def _two_sided_differences(cost, values, entries, epsilon):
    """``(J(θ + ε e_i) - J(θ - ε e_i)) / (θ_i⁺ - θ_i⁻)`` for the listed entries of every tensor, in one graph."""
    sizes = [int(np.prod(value.shape)) for value in values]
    offsets = np.cumsum([0, *sizes[:-1]])
    flat = tf.concat([tf.reshape(value, [-1]) for value in values], axis=0)

    def unflatten(vector):
        return [tf.reshape(part, value.shape) for part, value in zip(tf.split(vector, sizes), values)]

    def difference(entry):
        where = tf.reshape(entry, [1, 1])
        plus = tf.tensor_scatter_nd_add(flat, where, tf.constant([epsilon], tf.float64))
        minus = tf.tensor_scatter_nd_add(flat, where, tf.constant([-epsilon], tf.float64))
        # The step actually taken: θ ± ε is rounded to float64, so divide by the distance between the two points.
        return (cost(unflatten(plus)) - cost(unflatten(minus))) / (tf.gather(plus, entry) - tf.gather(minus, entry))

    # One map over the entries of all tensors: the model is traced twice (θ + ε, θ - ε), whatever its size. A
    # concrete function, traced and called once: no retracing warning from tf.function's call statistics when a
    # notebook checks several models.
    everything = tf.constant(np.concatenate([offset + chosen for offset, chosen in zip(offsets, entries)]), tf.int64)
    graph = tf.function(lambda: tf.map_fn(difference, everything, fn_output_signature=tf.float64))
    result = np.asarray(graph.get_concrete_function()())
    return np.split(result, np.cumsum([len(chosen) for chosen in entries])[:-1])


def _relative_difference(exact, approximate):
    """``||g - g_approx|| / (||g|| + ||g_approx||)``; 0 when both are zero."""
    scale = np.linalg.norm(exact) + np.linalg.norm(approximate)
    return float(np.linalg.norm(exact - approximate) / scale) if scale > 0 else 0.0


def _float64_tensor(value):
    """A floating array or tensor as float64; integer ones (labels, token ids) unchanged."""
    tensor = tf.convert_to_tensor(value)
    return tf.cast(tensor, tf.float64) if tensor.dtype.is_floating else tensor


def _float64_loss(loss):
    """The loss rebuilt so that it computes in float64 (called with floatx set to float64)."""
    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except ValueError as error:
            raise ConfigError(f"Unknown loss for gradient_check: {error}. Received: loss={loss!r}") from None
    if isinstance(loss, keras.losses.Loss):
        try:
            rebuilt = type(loss).from_config(loss.get_config())
        except (TypeError, ValueError) as error:
            raise ConfigError(f"gradient_check cannot rebuild the loss in float64 ({error}). "
                              f"Received: loss={loss!r}") from None
        if rebuilt.dtype != "float64":
            raise ConfigError(f"gradient_check needs a loss that computes in float64. Received: loss={loss!r}")
        return rebuilt
    if isinstance(loss, (list, tuple, dict)):
        raise ConfigError(f"gradient_check takes a model with one output and one loss. Received: loss={loss!r}")
    if not callable(loss):
        raise ConfigError(f"loss must be a name, a keras.losses.Loss or a function. Received: loss={loss!r}")

    def mean_loss(y_true, y_pred):
        # As Keras does for a loss function: a trailing axis of size 1 on one side only is dropped.
        if len(y_pred.shape) == len(y_true.shape) + 1 and y_pred.shape[-1] == 1:
            y_pred = tf.squeeze(y_pred, -1)
        elif len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
            y_true = tf.squeeze(y_true, -1)
        return tf.reduce_mean(tf.cast(loss(y_true, y_pred), tf.float64))

    return mean_loss


def _float64_copy(model):
    """The model's layers rebuilt with a float64 dtype policy, its weights cast to float64."""

    def float64_layer(layer):
        config = layer.get_config()
        config["dtype"] = "float64"
        return type(layer).from_config(config)

    def float64_input(tensor):
        dtype = "float64" if "float" in str(tensor.dtype) else tensor.dtype
        return keras.Input(batch_shape=(None, *tensor.shape[1:]), dtype=dtype, name=tensor.name)

    try:
        # A Sequential model's input is its one input tensor (its ``.input`` may be unset when built by a call).
        reference = model.inputs[0] if isinstance(model, keras.Sequential) else model.input
        copy = keras.models.clone_model(model, input_tensors=tf.nest.map_structure(float64_input, reference),
                                        clone_function=float64_layer, recursive=True)
    except (TypeError, ValueError, NotImplementedError, AttributeError) as error:
        raise ConfigError("gradient_check rebuilds the model in float64 and needs a Functional or Sequential model "
                          f"whose layers have get_config ({type(error).__name__}: {error}). "
                          f"Received: model={model.name!r}") from None
    if [tuple(v.shape) for v in copy.weights] != [tuple(v.shape) for v in model.weights]:
        raise ConfigError("gradient_check could not rebuild the model with the same weights. "
                          f"Received: model={model.name!r}")
    for source, target in zip(model.weights, copy.weights):
        value = keras.ops.convert_to_numpy(source)
        target.assign(value.astype(np.float64) if np.issubdtype(value.dtype, np.floating) else value)
    return copy
