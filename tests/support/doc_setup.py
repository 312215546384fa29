"""Hidden set-ups of documentation blocks (tests/test_docs.py).

A markdown block preceded by ``<!-- setup: NAME -->`` gets ``NAME(workdir)`` called first, in its document's
working directory. Each set-up makes what the command shown just above the block makes for a reader, once per test
session (later calls copy the first result).
"""

import functools
import shutil
import tempfile

import harness

_CACHE = tempfile.TemporaryDirectory(prefix="dlkit-doc-setup-")  # removed when the test process ends


@functools.cache
def _classify_run():
    """A classify run on digits, as ``--quick`` makes it but one epoch (the docs show how to use it, not its score)."""
    out = f"{_CACHE.name}/digits"
    harness.load_recipe("classify").main(["--quick", "--epochs", "1", "--out", out])
    return out


def digits_run(workdir):
    """``runs/digits``: ``python recipes/classify.py --quick --out runs/digits`` (one epoch here)."""
    shutil.copytree(_classify_run(), workdir / "runs" / "digits", dirs_exist_ok=True)


@functools.cache
def _digits_export():
    """The tf_saved_model export of :func:`_classify_run`'s model."""
    out = f"{_CACHE.name}/digits-served"
    harness.load_recipe("predict").main([_classify_run(), "--export", out, "--format", "tf_saved_model"])
    return out


def digits_export(workdir):
    """``runs/digits-served``: ``predict.py runs/digits --export runs/digits-served --format tf_saved_model``."""
    shutil.copytree(_digits_export(), workdir / "runs" / "digits-served", dirs_exist_ok=True)
