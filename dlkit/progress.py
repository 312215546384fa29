"""Progress of long steps: Keras's ``Progbar`` on a terminal or in a notebook, timed lines elsewhere.

Every loop in dlkit that can run longer than a few seconds reports through a
Keras callback, so the same ``verbose`` values mean the same thing everywhere:

- ``0``: silent (a recipe's ``--quiet``);
- ``1``: Keras's live progress bar (a terminal or a notebook);
- ``2``: plain lines, one per epoch from Keras itself plus a heartbeat line at
  most every :data:`HEARTBEAT_SECONDS` while a long epoch or loop runs. Logs,
  pipes and the tour get these: a progress bar redrawn with carriage returns
  is unreadable there.

``model.fit``/``predict`` take :class:`Heartbeat` as a callback; loops that are not
``fit`` (``dlkit.style.stylize``, ``dlkit.embeddings.train_word2vec``, feature
extraction) call :func:`loop_callbacks` and then the callbacks'
``on_train_begin``/``on_train_batch_end``/``on_train_end``, as Keras's own
training loop does, so a user's own ``keras.callbacks.Callback`` sees them too.
"""

import math
import sys
import time

import keras

#: The longest a verbose=2 run stays silent while it works (seconds).
HEARTBEAT_SECONDS = 15.0
SILENT, BAR, LINES = 0, 1, 2


def mode(quiet=False, stream=None):
    """Returns the ``verbose`` value for this process: 0 when quiet, 1 on a terminal or in a notebook, else 2.

    Args:
        quiet: the recipe's ``--quiet``.
        stream: where progress goes (default ``sys.stdout``).
    """
    if quiet:
        return SILENT
    stream = sys.stdout if stream is None else stream
    interactive = "ipykernel" in sys.modules or (hasattr(stream, "isatty") and stream.isatty())
    return BAR if interactive else LINES


def check_verbose(verbose):
    """Returns ``verbose`` as 0, 1 or 2 (``"auto"``: :func:`mode`)."""
    if verbose == "auto":
        return mode()
    if verbose not in (0, 1, 2, False, True):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")
    return int(verbose)


class ProgressLogger(keras.callbacks.Callback):
    """Shows the progress of a loop of ``target`` steps that is not ``model.fit``.

    ``on_train_batch_end(step, logs)`` is called after each step with the
    step's values (tensors are fine: they are read only when a line is shown,
    so a compiled loop is not synchronized every step).

    Args:
        target: the number of steps (``None``: unknown).
        verbose: 1 (Keras's ``Progbar``) or 2 (a line at most every ``every`` seconds, and one at the end).
        label: what the loop does, shown first on each line (``"stylize"``).
        unit_name: what a step is (``"step"``, ``"word"``, ``"batch"``).
        every: seconds between heartbeat lines at ``verbose=2`` (default :data:`HEARTBEAT_SECONDS`).
        stream: where lines go (default ``sys.stdout``).
    """

    def __init__(self, target, verbose=LINES, label="", unit_name="step", every=None, stream=None):
        super().__init__()
        self.target = target
        self.verbose = check_verbose(verbose)
        self.label = label
        self.unit_name = unit_name
        self.every = HEARTBEAT_SECONDS if every is None else float(every)
        self.stream = stream
        self._bar = None
        self._start = self._last = None
        self._current = 0

    def on_train_begin(self, logs=None):
        self._start = self._last = time.perf_counter()
        self._current = 0
        if self.verbose == BAR:
            self._bar = keras.utils.Progbar(self.target, verbose=1, unit_name=self.unit_name,
                                            stateful_metrics=None, stateless_metrics=())

    def on_train_batch_end(self, batch, logs=None):
        self._current = batch + 1
        now = time.perf_counter()
        if self.verbose == BAR:
            if now - self._last >= self._bar.interval:
                self._bar.update(self._current, _values(logs))
                self._last = now
        elif self.verbose == LINES and now - self._last >= self.every and self._current != self.target:
            self._line(self._current, logs, now)  # (the last step's line is on_train_end's)
            self._last = now

    def on_train_end(self, logs=None):
        if self.verbose == BAR:
            self._bar.update(self._current, _values(logs), finalize=True)
        elif self.verbose == LINES:
            self._line(self._current, logs, time.perf_counter(), done=True)

    def _line(self, current, logs, now, done=False):
        elapsed = now - self._start
        parts = [f"{self.label}: " if self.label else ""]
        units = self.unit_name + ("es" if self.unit_name.endswith(("s", "sh", "ch", "x")) else "s")
        parts.append(f"{current}/{self.target} {units}" if self.target else f"{current} {units}")
        if done:
            parts.append(f" done in {format_duration(elapsed)}")
        elif current and self.target:
            left = elapsed / current * (self.target - current)
            parts.append(f", {format_duration(elapsed)} elapsed, about {format_duration(left)} left")
        parts.extend(f", {name} {value:.4g}" for name, value in _values(logs))
        print("".join(parts), file=self.stream or sys.stdout, flush=True)


class Heartbeat(keras.callbacks.Callback):
    """A line at most every ``every`` seconds inside a long ``fit`` epoch, ``evaluate`` or ``predict``.

    Keras's ``verbose=2`` prints one line per epoch, at its end; an epoch of a
    full-size fine-tune takes minutes, and ``predict`` on many images shows
    nothing until it returns. With this callback the run is never silent for
    longer than ``every`` seconds.

    Args:
        every: seconds between lines (default :data:`HEARTBEAT_SECONDS`).
        label: shown first on each line.
        stream: where lines go (default ``sys.stdout``).
    """

    def __init__(self, every=None, label="", stream=None):
        super().__init__()
        self.every = HEARTBEAT_SECONDS if every is None else float(every)
        self.label = label
        self.stream = stream
        self._last = time.perf_counter()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self._last = time.perf_counter()  # Keras has just printed the epoch's line

    def on_train_batch_end(self, batch, logs=None):
        epochs = self.params.get("epochs")
        self._beat(batch, logs, f"epoch {self._epoch + 1}/{epochs}, " if epochs else "")

    def on_test_batch_end(self, batch, logs=None):
        self._beat(batch, logs, "evaluating, ")

    def on_predict_batch_end(self, batch, logs=None):
        self._beat(batch, None, "predicting, ")

    def _beat(self, batch, logs, where):
        now = time.perf_counter()
        steps = self.params.get("steps")
        if now - self._last < self.every or batch + 1 == steps:  # Keras prints the last batch's line itself
            return
        self._last = now
        count = f"batch {batch + 1}/{steps}" if steps else f"batch {batch + 1}"
        values = "".join(f", {name} {value:.4g}" for name, value in _values(logs))
        prefix = f"{self.label}: " if self.label else ""
        print(f"{prefix}{where}{count}{values}", file=self.stream or sys.stdout, flush=True)


class TensorBoardScalars(keras.callbacks.Callback):
    """Writes the numbers of a loop that is not ``model.fit`` to TensorBoard, as Keras's callback does for ``fit``.

    Each ``on_train_batch_end(step, logs)`` value becomes the scalar
    ``step/<name>`` at step ``step + 1``; each ``on_epoch_end(epoch, logs)``
    value ``epoch/<name>`` at ``epoch + 1``. View them with
    ``tensorboard --logdir <log_dir>``.

    Args:
        log_dir: the folder of the event files (created).
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = str(log_dir)
        self._writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf  # TensorFlow's summary writer: the event-file format TensorBoard reads

        self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_train_batch_end(self, batch, logs=None):
        self._write("step", batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._write("epoch", epoch + 1, logs)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
            self._writer = None

    def _write(self, prefix, step, logs):
        import tensorflow as tf

        if self._writer is None:
            return
        with self._writer.as_default(step=step):
            for name, value in _values(logs):
                tf.summary.scalar(f"{prefix}/{name}", value)


def fit_callbacks(verbose, label=""):
    """Returns the progress callbacks to add to ``fit``/``predict`` for a ``verbose`` value (a heartbeat at 2)."""
    return [Heartbeat(label=label)] if check_verbose(verbose) == LINES else []


def loop_callbacks(callbacks, target, verbose, label="", unit_name="step", tensorboard=None):
    """Returns a ``keras.callbacks.CallbackList`` of ``callbacks`` plus a :class:`ProgressLogger` when ``verbose``.

    Args:
        callbacks: the user's callbacks (a list, or ``None``).
        target: steps the loop will run.
        verbose: 0, 1, 2 or ``"auto"``.
        label: the loop's name on progress lines.
        unit_name: what a step is.
        tensorboard: a folder for :class:`TensorBoardScalars`, or ``None``/``False`` for none.
    """
    callbacks = list(callbacks or [])
    if tensorboard:
        callbacks.append(TensorBoardScalars(tensorboard))
    verbose = check_verbose(verbose)
    if verbose:
        callbacks.append(ProgressLogger(target, verbose, label=label, unit_name=unit_name))
    return keras.callbacks.CallbackList(callbacks)


def format_duration(seconds):
    """``73.2`` -> ``"1 min 13 s"``; under a minute, ``"7.3 s"``."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _values(logs):
    """``logs`` as ``[(name, float)]`` (tensors read now), skipping what is not a number."""
    values = []
    for name, value in (logs or {}).items():
        try:
            values.append((name, float(value)))
        except (TypeError, ValueError):
            continue
    return values
