"""The files a run writes: atomic writes, resume state, leftovers of killed runs, and failpoints.

Every artifact is written atomically: into a temporary file in the same folder
(named ``.dlkit-tmp-*``), then renamed over the target, so a run killed while
saving leaves the previous file or the new one, never a truncated one.

A run keeps its resume state (each training phase's ``backup/`` folder) until
its final artifacts exist: :func:`clear_resume_state` removes it at the very
end (``dlkit.cli.finish_run`` calls it after ``metrics.json``). A rerun with the
same ``--out`` before that point resumes each phase where it stopped and skips
the phases that had finished.

Failpoints make dlkit's crash tests exact instead of timed: with
``DLKIT_FAILPOINTS=batch@5,save:model.keras`` in the environment, the process
kills itself (SIGKILL, as a crash or an out-of-memory killer would) the 5th time
it ends a training batch, or when it is about to rename a freshly written
``model.keras`` into place. Unset, a failpoint costs one dictionary lookup.
Points: ``batch`` (after a training batch), ``epoch_end`` (after an epoch's
backup is written), ``fit_end`` (after a training phase finished and its
backup says so), ``save:<file name>`` (an atomic write, before the rename).

This module imports no TensorFlow, so light driver processes may use it.
"""

import collections
import json
import os
import pathlib
import shutil
import signal
import sys
import tempfile

TEMPORARY_PREFIX = ".dlkit-tmp-"
#: The folder of a training phase's resume state, under the phase's ``out``.
BACKUP = "backup"
STATE_FILE = "state.json"

_hits = collections.Counter()


def failpoint(name):
    """Kills this process with SIGKILL when ``DLKIT_FAILPOINTS`` asks for it at ``name`` (see the module docstring)."""
    spec = os.environ.get("DLKIT_FAILPOINTS")
    if not spec:
        return
    for item in spec.split(","):
        point, _, count = item.strip().partition("@")
        if point == name:
            _hits[name] += 1
            if _hits[name] == int(count or 1):
                sys.stdout.flush()
                sys.stderr.flush()
                os.kill(os.getpid(), signal.SIGKILL)


def failpoints_active(prefix=""):
    """Whether ``DLKIT_FAILPOINTS`` names a point starting with ``prefix`` (to skip hooks that cost time)."""
    spec = os.environ.get("DLKIT_FAILPOINTS", "")
    return any(item.strip().startswith(prefix) for item in spec.split(",") if item.strip())


def atomic_path(path):
    """A new temporary file beside ``path``, with the same suffix (Keras checks ``.keras`` / ``.weights.h5``)."""
    path = pathlib.Path(path)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".weights.h5") else path.suffix
    handle, name = tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    return pathlib.Path(name)


def write_atomically(path, write):
    """Calls ``write(temporary_path)``, then renames the result to ``path``; returns ``path``."""
    path = pathlib.Path(path)
    temporary = atomic_path(path)
    try:
        write(temporary)
        failpoint(f"save:{path.name}")
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def write_text(path, text):
    """Writes ``text`` to ``path`` atomically."""
    return write_atomically(path, lambda temporary: temporary.write_text(text))


def read_state(directory):
    """The resume state in ``directory`` (a dict), or ``None`` when there is none or it is unreadable."""
    try:
        state = json.loads((pathlib.Path(directory) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def write_state(directory, state):
    """Writes the resume state of ``directory`` atomically."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_text(directory / STATE_FILE, json.dumps(state, indent=1, default=str) + "\n")


def resume_states(out):
    """``{backup folder: state}`` of every training phase under ``out`` that left resume state."""
    out = pathlib.Path(out)
    if not out.is_dir():
        return {}
    states = {}
    for path in sorted(out.rglob(STATE_FILE)):
        if path.parent.name == BACKUP:
            state = read_state(path.parent)
            if state is not None:
                states[path.parent] = state
    return states


def clear_resume_state(out):
    """Removes every phase's ``backup/`` folder under ``out`` (once the run's final artifacts exist)."""
    for directory in resume_states(out):
        shutil.rmtree(directory, ignore_errors=True)


def remove_leftovers(out):
    """Deletes the temporary files a killed run left in ``out`` (``.dlkit-tmp-*``); returns how many."""
    removed = 0
    out = pathlib.Path(out)
    if out.is_dir():
        for path in out.rglob(f"{TEMPORARY_PREFIX}*"):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
    return removed
