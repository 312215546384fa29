"""What every recipe shares: common flags, the run folder, metrics, exit codes.

A recipe is ``main(argv=None) -> dict`` plus ``cli()``; this module gives both
their common parts so each recipe stays a thin, top-to-bottom script::

    parser = cli.recipe_parser("classify", __doc__)
    parser.add_argument("--model", default="lenet5")
    args = parser.parse_args(argv)
    out = cli.start_run(args, "classify")        # seeds, out dir, config.json
    ...
    return cli.finish_run(out, metrics, ["test_accuracy", "seconds"])

``run(main)`` turns a :class:`~dlkit.errors.DlkitError` into one line on stderr
and exit status 2, with no traceback; any other exception is a bug and shows one.
"""

import argparse
import datetime
import json
import math
import pathlib
import sys

from dlkit.errors import DlkitError

STRATEGIES = ("auto", "default", "mirrored", "multiworker")


def recipe_parser(recipe, description=None):
    """Returns an ``argparse.ArgumentParser`` with the flags all recipes share.

    Args:
        recipe: the recipe name, used for the default ``--out``.
        description: text shown by ``--help`` (usually the recipe's docstring).
    """
    parser = argparse.ArgumentParser(
        prog=f"{recipe}.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = parser.add_argument_group("common recipe flags")
    common.add_argument("--out", default=None, help=f"output folder (default: runs/{recipe}-<timestamp>)")
    common.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    common.add_argument("--quick", action="store_true", help="small run: under 60 s on 2 CPU cores")
    common.add_argument("--epochs", type=int, default=None, help="training epochs (default: the recipe's)")
    common.add_argument("--batch-size", type=int, default=None, help="global batch size (default: the recipe's)")
    common.add_argument("--strategy", choices=STRATEGIES, default="auto", help="tf.distribute strategy")
    common.add_argument("--mixed-precision", action="store_true", help="float16 compute, float32 last layer")
    common.add_argument("--data-dir", default=None, help="TFDS data folder (datasets are read from or downloaded here)")
    return parser


def default_out(recipe):
    """Returns ``runs/<recipe>-<timestamp>`` (not created)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return pathlib.Path("runs") / f"{recipe}-{stamp}"


def start_run(args, recipe, seed=True):
    """Prepares a run: resolves ``--out``, seeds everything, writes ``config.json``.

    Args:
        args: the parsed ``argparse.Namespace``; ``args.out`` is resolved in place.
        recipe: the recipe name.
        seed: seed Python, NumPy and Keras with ``args.seed`` (imports Keras);
            ``False`` for a driver that trains nothing itself (the tour).

    Returns:
        The output folder as a ``pathlib.Path`` (created).
    """
    from dlkit.errors import ConfigError

    for flag in ("epochs", "batch_size"):
        value = getattr(args, flag, None)
        if value is not None and value < 1:
            raise ConfigError(f"--{flag.replace('_', '-')} must be >= 1. Received: {value}")
    out = pathlib.Path(args.out) if args.out else default_out(recipe)
    out.mkdir(parents=True, exist_ok=True)
    args.out = str(out)
    if seed:
        import keras

        keras.utils.set_random_seed(args.seed)
    config = {key: _jsonable(value) for key, value in sorted(vars(args).items())}
    config["recipe"] = recipe
    write_json(out / "config.json", config)
    return out


def write_json(path, data, sort_keys=True):
    """Writes ``data`` as indented JSON (NumPy scalars and NaN made JSON-safe); ``sort_keys=False`` keeps order."""
    pathlib.Path(path).write_text(json.dumps(_jsonable(data), indent=2, sort_keys=sort_keys) + "\n")


def finish_run(out, metrics, headline, recipe=None):
    """Writes ``metrics.json`` and prints the one-line summary as the last line.

    Args:
        out: the run folder.
        metrics: a flat dict of numbers and short strings.
        headline: the metric keys shown in the summary line.
        recipe: the recipe name shown first in the summary line.

    Returns:
        ``metrics`` (JSON-safe), so ``main`` can ``return cli.finish_run(...)``.
    """
    metrics = _jsonable(metrics)
    write_json(pathlib.Path(out) / "metrics.json", metrics)
    parts = [f"{key}={format_value(metrics[key])}" for key in headline if key in metrics]
    prefix = f"{recipe}: " if recipe else ""
    print(f"{prefix}{' '.join(parts)} -> {out}", flush=True)
    return metrics


def run(main, argv=None):
    """Runs a recipe's ``main`` and returns the process exit status.

    A :class:`DlkitError` (a user's mistake) prints ``error: <message>`` on one
    line to stderr and returns 2. Other exceptions propagate with their
    traceback, because they are bugs.
    """
    try:
        main(argv)
    except DlkitError as error:
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr, flush=True)
        return 2
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
