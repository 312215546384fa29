"""Executes every notebook under notebooks/ the way a reader would, small (DLKIT_QUICK=1).

Each notebook's last code cell asserts its own headline number, so a notebook that runs
but silently stopped learning fails here too.
"""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1, "notebooks/ holds no .ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs_and_ends_with_an_assert(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in code), (
        f"{path.name} is stored with outputs; clear them so diffs stay readable"
    )
    assert "assert " in code[-1].source, f"{path.name}: the last code cell must assert the headline number"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_quick_without_errors(path, tmp_path, monkeypatch):
    # The kernel inherits this environment: small runs, dlkit importable without
    # installing, and a scratch working directory so runs/ lands in tmp_path.
    monkeypatch.setenv("DLKIT_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError naming the failing cell
