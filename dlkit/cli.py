"""What every recipe shares: common flags, the run folder, metrics, exit codes.

Every recipe has the same skeleton: ``parse_args(argv)``, ``main(argv=None) -> dict``
and, at the bottom, ``sys.exit(cli.run(main))``::

    def parse_args(argv=None):
        parser = cli.recipe_parser("classify", __doc__)
        parser.add_argument("--model", default="lenet5")
        return parser.parse_args(argv)

    def main(argv=None):
        args = parse_args(argv)
        out = cli.start_run(args, "classify")        # seeds, out dir, config.json
        ...
        metrics = {"test_accuracy": ..., "params": ..., "train_seconds": ...}
        return cli.finish_run(out, metrics, ["test_accuracy", "train_seconds"], recipe="classify")

    if __name__ == "__main__":
        sys.exit(cli.run(main))

A metric key means the same in every recipe (:data:`METRIC_KEYS`); :func:`finish_run`
adds ``total_seconds`` itself.

``run(main)`` turns a :class:`~dlkit.errors.DlkitError` into one line on stderr
and exit status 2, with no traceback; any other exception is a bug and shows one.
A flag argparse refuses (an unknown choice, a count of 0 where
:func:`positive_int` is the type) is such an error too: one line, exit 2.

A run folder holds its resume state until :func:`finish_run` (see
:mod:`dlkit.files`): rerun with the same ``--out`` and flags, a killed recipe
resumes at the phase and epoch where it stopped; with other flags it is refused.
"""

import argparse
import datetime
import json
import math
import pathlib
import sys
import time
import uuid

from dlkit import files
from dlkit.errors import ConfigError, DlkitError

STRATEGIES = ("auto", "default", "mirrored", "multiworker")
#: Flags that may change between a run and its resumption: where it runs, not what it computes.
RESUMABLE_CHANGES = ("out", "strategy", "data_dir", "quiet", "tensorboard")
#: What the metric keys that several recipes write mean, in every recipe (docs/architecture.md lists them too).
METRIC_KEYS = {
    "params": "parameters of the model the run saves (for a comparison, of the model the headline is about)",
    "train_seconds": "wall seconds inside model.fit (or the training loop), summed over every phase and model",
    "total_seconds": "wall seconds from start_run to finish_run in this process (added by finish_run; a resumed run's "
                     "last process)",
    "failed": 'names of the parts that failed, or "none" (the tour\'s recipes); cli.run exits 1 when there are any',
    "epochs": "epochs trained (the last phase's final epoch for a multi-phase run)",
}
#: ``out`` -> ``time.perf_counter()`` when :func:`start_run` prepared it (for ``total_seconds``).
_STARTED = {}
#: The largest image side a recipe accepts (a 100000-pixel side would exhaust memory before a clear error).
MAX_IMAGE_SIZE = 4096


class RecipeArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are :class:`~dlkit.errors.ConfigError` (one line, exit status 2)."""

    def error(self, message):
        raise ConfigError(f"{message} (see {self.prog} --help)")


def positive_int(text):
    """An argparse type: an integer >= 1 (0 would silently mean "the default" in ``args.x or default``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1. Received: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1. Received: {value}")
    return value


def image_size(text):
    """An argparse type: an image side in pixels, 1 to :data:`MAX_IMAGE_SIZE`."""
    value = positive_int(text)
    if value > MAX_IMAGE_SIZE:
        raise argparse.ArgumentTypeError(f"must be <= {MAX_IMAGE_SIZE} pixels. Received: {value}")
    return value


def fraction(text):
    """An argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1]. Received: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1]. Received: {value}")
    return value


def nonnegative_float(text):
    """An argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number >= 0. Received: {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0. Received: {value}")
    return value


def positive_float(text):
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0. Received: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0. Received: {value}")
    return value


def recipe_parser(recipe, description=None, trains=True):
    """Returns an ``argparse.ArgumentParser`` with the flags all recipes share.

    Args:
        recipe: the recipe name, used for the default ``--out``.
        description: text shown by ``--help`` (usually the recipe's docstring).
        trains: add ``--tensorboard`` (every recipe that trains or optimizes has it).
    """
    parser = RecipeArgumentParser(
        prog=f"{recipe}.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = parser.add_argument_group("common recipe flags")
    common.add_argument("--out", default=None, help=f"output folder (default: runs/{recipe}-<timestamp>)")
    common.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    common.add_argument("--quick", action="store_true", help="small run: under 60 s on 2 CPU cores")
    common.add_argument("--epochs", type=positive_int, default=None, help="training epochs (default: the recipe's)")
    common.add_argument("--batch-size", type=positive_int, default=None,
                        help="global batch size (default: the recipe's)")
    common.add_argument("--strategy", choices=STRATEGIES, default="auto", help="tf.distribute strategy")
    common.add_argument("--mixed-precision", action="store_true", help="float16 compute, float32 last layer")
    common.add_argument("--data-dir", default=None, help="TFDS data folder (datasets are read from or downloaded here)")
    common.add_argument("--quiet", action="store_true",
                        help="no progress output (epoch lines, progress bars, heartbeats); results and the summary "
                             "line still print")
    if trains:
        common.add_argument("--tensorboard", action="store_true",
                            help="write TensorBoard logs to OUT/logs (view: tensorboard --logdir OUT/logs)")
    return parser


def progress_options(args, logs=None):
    """``verbose`` and ``tensorboard`` for :func:`dlkit.training.fit` from ``--quiet`` and ``--tensorboard``.

    Args:
        args: the parsed flags.
        logs: the TensorBoard folder, for a fit without an ``out`` of its own
            (default: the fit's ``out/logs``).
    """
    tensorboard = (True if logs is None else str(logs)) if getattr(args, "tensorboard", False) else False
    return {"verbose": verbosity(args), "tensorboard": tensorboard}


def verbosity(args):
    """The ``verbose`` value for a recipe's loops (:func:`dlkit.progress.mode`).

    0 with ``--quiet``; 1 (Keras's progress bar) on a terminal or in a
    notebook; 2 (a line per epoch plus a heartbeat during long steps) when the
    output is a file, a pipe or the tour.
    """
    from dlkit import progress

    return progress.mode(quiet=getattr(args, "quiet", False))


def default_out(recipe):
    """Returns ``runs/<recipe>-<timestamp>`` (not created)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return pathlib.Path("runs") / f"{recipe}-{stamp}"


def start_run(args, recipe, seed=True):
    """Prepares a run: resolves ``--out``, seeds everything, writes ``config.json``.

    Also: refuses an ``--out`` that is a file or cannot be written; removes the
    temporary files a killed run left; refuses to resume an interrupted run in
    ``--out`` with other flags; and with ``--strategy multiworker`` creates the
    strategy first, before anything else starts TensorFlow (collective ops are
    configured at program start-up).

    Args:
        args: the parsed ``argparse.Namespace``; ``args.out`` is resolved in place.
        recipe: the recipe name.
        seed: seed Python, NumPy and Keras with ``args.seed`` (imports Keras);
            ``False`` for a driver that trains nothing itself (the tour).

    Returns:
        The output folder as a ``pathlib.Path`` (created).

    Raises:
        ConfigError: a bad flag, an unusable ``--out``, or changed flags on resume.
    """
    for flag in ("epochs", "batch_size"):
        value = getattr(args, flag, None)
        if value is not None and value < 1:
            raise ConfigError(f"--{flag.replace('_', '-')} must be >= 1. Received: {value}")
    started = time.perf_counter()
    out = pathlib.Path(args.out) if args.out else default_out(recipe)
    prepare_out(out)
    _STARTED[str(out)] = started
    args.out = str(out)
    config = {key: _jsonable(value) for key, value in sorted(vars(args).items())}
    config["recipe"] = recipe
    check_resume(out, config)
    if getattr(args, "strategy", None) == "multiworker":
        from dlkit import training

        training.make_strategy("multiworker")
    if seed:
        import keras

        keras.utils.set_random_seed(args.seed)
    write_json(out / "config.json", config)
    return out


def prepare_out(out):
    """Creates the output folder and checks it can be written; removes a killed run's temporary files.

    Raises:
        ConfigError: ``out`` is a file, lies under a file, or cannot be written.
    """
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out must be a folder, but it is an existing file. Received: --out {out}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f"{files.TEMPORARY_PREFIX}probe-{uuid.uuid4().hex}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"Cannot write into --out ({reason}); choose a folder you can write to. "
                          f"Received: --out {out}") from None
    files.remove_leftovers(out)


def check_resume(out, config):
    """Refuses to resume the interrupted run in ``out`` with flags that change what it computes.

    A run folder with resume state (a ``backup/`` left by a killed run) and a
    ``config.json`` is resumed by the next run with the same ``--out``; its flags
    must be the same, but for :data:`RESUMABLE_CHANGES`.

    Raises:
        ConfigError: naming each changed flag with its old and new value.
    """
    if not files.resume_states(out):
        return
    try:
        saved = json.loads((pathlib.Path(out) / "config.json").read_text())
    except (OSError, ValueError):
        return
    keys = (set(saved) | set(config)) - set(RESUMABLE_CHANGES)
    changed = sorted(key for key in keys if saved.get(key) != config.get(key))
    if changed:
        was = ", ".join(f"--{key.replace('_', '-')} {saved.get(key)!r}" for key in changed)
        now = ", ".join(f"--{key.replace('_', '-')} {config.get(key)!r}" for key in changed)
        raise ConfigError(
            f"{out} holds an interrupted run started with {was}. Rerun with its flags to resume it, or choose another "
            f"--out (or delete the folder) to start afresh. Received: {now}"
        )


def write_json(path, data, sort_keys=True):
    """Writes ``data`` as indented JSON, atomically (NumPy values and NaN made JSON-safe).

    ``sort_keys=False`` keeps the dict's order.
    """
    files.write_text(path, json.dumps(_jsonable(data), indent=2, sort_keys=sort_keys) + "\n")


def finish_run(out, metrics, headline, recipe=None):
    """Writes ``metrics.json``, removes the run's resume state and prints the one-line summary as the last line.

    ``total_seconds`` (the time since :func:`start_run` prepared ``out``) is
    added unless ``metrics`` has it.

    Args:
        out: the run folder.
        metrics: a flat dict of numbers and short strings.
        headline: the metric keys shown in the summary line.
        recipe: the recipe name shown first in the summary line.

    Returns:
        ``metrics`` (JSON-safe), so ``main`` can ``return cli.finish_run(...)``.
    """
    started = _STARTED.pop(str(out), None)
    if started is not None and "total_seconds" not in metrics:
        metrics = {**metrics, "total_seconds": round(time.perf_counter() - started, 2)}
    metrics = _jsonable(metrics)
    write_json(pathlib.Path(out) / "metrics.json", metrics)
    files.clear_resume_state(out)  # the run is complete: a rerun starts afresh
    parts = [f"{key}={format_value(metrics[key])}" for key in headline if key in metrics]
    prefix = f"{recipe}: " if recipe else ""
    print(f"{prefix}{' '.join(parts)} -> {out}", flush=True)
    return metrics


def run(main, argv=None):
    """Runs a recipe's ``main`` and returns the process exit status.

    Returns 0 when ``main`` returns; 1 when its metrics name parts that failed
    (a ``failed`` key other than ``"none"``: the tour's recipes). A
    :class:`DlkitError` (a user's mistake) prints ``error: <message>`` on one
    line to stderr and returns 2. Other exceptions propagate with their
    traceback, because they are bugs.
    """
    try:
        metrics = main(argv)
    except DlkitError as error:
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr, flush=True)
        return 2
    if isinstance(metrics, dict) and metrics.get("failed", "none") not in ("none", "", None):
        return 1
    return 0


def format_value(value):
    """Formats a metric for a summary line: floats to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _jsonable(value):
    """Converts NumPy scalars/arrays, paths and non-finite floats to JSON values."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    elif hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
