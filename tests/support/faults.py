"""Fault injection for recipe tests: run a recipe as a user would, kill it (SIGKILL) at chosen points, rerun it.

Kill points are dlkit failpoints (:mod:`dlkit.files`), so a kill lands exactly
where it is meant to (during an epoch, between two training phases, while the
final model is being saved) instead of wherever a timer happens to fall.
"""

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys

RECIPES = pathlib.Path(__file__).resolve().parents[2] / "recipes"


def run_recipe(recipe, argv, out, failpoints=None, timeout=600):
    """Runs ``recipes/<recipe>.py ARGV --out OUT`` in a fresh process; returns the ``CompletedProcess``."""
    environment = dict(os.environ)
    environment.pop("DLKIT_FAILPOINTS", None)
    if failpoints:
        environment["DLKIT_FAILPOINTS"] = failpoints
    return subprocess.run(
        [sys.executable, str(RECIPES / f"{recipe}.py"), *argv, "--out", str(out)],
        capture_output=True, text=True, timeout=timeout, env=environment,
    )


def kill_and_resume(recipe, argv, out, kills):
    """Runs the recipe once per failpoint in ``kills``, each run killed there, then once more to the end.

    Returns:
        ``(metrics of the final run, stdout of each run)``.
    """
    outputs = []
    for point in kills:
        completed = run_recipe(recipe, argv, out, failpoints=point)
        outputs.append(completed.stdout)
        assert completed.returncode == -signal.SIGKILL, (
            f"{recipe} was to be killed at {point} but exited {completed.returncode}: {completed.stderr[-3000:]}"
        )
    completed = run_recipe(recipe, argv, out)
    outputs.append(completed.stdout)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads((pathlib.Path(out) / "metrics.json").read_text()), outputs


def history_epochs(path):
    """The epoch column of a ``history.csv``."""
    with open(path, newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def assert_clean_run_folder(out):
    """What a finished run leaves: no resume state, no temporary files, and every history with each epoch once."""
    out = pathlib.Path(out)
    assert not list(out.rglob("backup")), "the resume state outlived the finished run"
    assert not list(out.rglob(".dlkit-tmp-*")), "a killed save left its temporary file"
    histories = sorted(out.rglob("history.csv"))
    for path in histories:
        epochs = history_epochs(path)
        assert epochs == list(range(epochs[0], epochs[0] + len(epochs))), f"{path}: epochs {epochs}"
    return histories
