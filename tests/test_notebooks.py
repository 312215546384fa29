"""The notebooks under notebooks/: their keras.io-style headers, their renders in docs/notebooks/, and a quick run.

The slow test executes every notebook the way a reader would, small (DLKIT_QUICK=1), through the same function
tools/render_notebooks.py renders with. Each notebook's last code cell asserts its own headline number, so a notebook
that runs but silently stopped learning fails here too. The fast tests check that each notebook carries its header
and that its committed render was made from its current code (re-render with
`python tools/render_notebooks.py --only NN_name` after changing a notebook's code).
"""

import datetime
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _load_renderer():
    spec = importlib.util.spec_from_file_location("render_notebooks", ROOT / "tools" / "render_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_notebooks = _load_renderer()
NOTEBOOKS = render_notebooks.notebook_paths()
DOCS = render_notebooks.DOCS
IDS = [path.stem for path in NOTEBOOKS]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1, "notebooks/ holds no .ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_stored_without_outputs_and_ends_with_an_assert(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in code), (
        f"{path.name} is stored with outputs; clear them so diffs stay readable"
    )
    assert "assert " in code[-1].source, f"{path.name}: the last code cell must assert the headline number"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_starts_with_a_keras_io_header(path):
    fields = render_notebooks.header_fields(nbformat.read(path, as_version=4))
    missing = [name for name in ("Title", *render_notebooks.HEADER_FIELDS) if not fields.get(name)]
    assert not missing, f"{path.name}: the first cell lacks {missing} (see the keras.io header of 01_classify)"
    created, modified = (datetime.date.fromisoformat(fields[name]) for name in ("Date created", "Last modified"))
    assert created <= modified, f"{path.name}: created {created} after last modified {modified}"
    assert fields["Description"].endswith("."), f"{path.name}: the description is one sentence"
    assert re.match(r"~\d+ s on 2 CPU cores with `?DLKIT_QUICK=1`?", fields["Run time"]), fields["Run time"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_render_is_made_from_the_notebooks_current_code(path):
    problem = render_notebooks.render_problem(path)
    assert problem is None, f"{problem}; run: python tools/render_notebooks.py --only {path.stem}"


def test_a_code_change_makes_the_render_stale(tmp_path):
    path = NOTEBOOKS[0]
    notebook = nbformat.read(path, as_version=4)
    (tmp_path / f"{path.stem}.md").write_text((DOCS / f"{path.stem}.md").read_text(encoding="utf-8"))
    copy = tmp_path / path.name
    nbformat.write(notebook, copy)
    assert render_notebooks.render_problem(copy, docs=tmp_path) is None
    next(cell for cell in notebook.cells if cell.cell_type == "code").source += "\nprint('changed')"
    nbformat.write(notebook, copy)
    assert "older than the code" in render_notebooks.render_problem(copy, docs=tmp_path)
    (tmp_path / f"{path.stem}.md").unlink()
    assert "missing" in render_notebooks.render_problem(copy, docs=tmp_path)


def test_every_render_has_a_notebook_and_the_index_links_them_all():
    renders = {path.stem for path in DOCS.glob("*.md")} - {"README"}
    picture_folders = {path.name.removesuffix("_files") for path in DOCS.glob("*_files")}
    assert renders | picture_folders <= set(IDS), "a render is left from a notebook that is gone"
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for name in IDS:
        assert f"]({name}.md)" in index and f"notebooks/{name}.ipynb)" in index, f"the index lacks {name}"


def test_rendered_pictures_are_small_and_linked():
    pictures = sorted(DOCS.glob("*_files/*.png"))
    assert pictures, "no rendered pictures"
    assert sum(path.stat().st_size for path in pictures) < 3_000_000
    for path in pictures:
        with Image.open(path) as image:
            assert image.width <= render_notebooks.MAX_IMAGE_WIDTH, (path.name, image.size)
        render = (DOCS / f"{path.parent.name.removesuffix('_files')}.md").read_text(encoding="utf-8")
        assert f"]({path.parent.name}/{path.name})" in render, f"{path} is not linked from its render"


def test_clean_text_leaves_a_progress_bar_in_its_final_state():
    bold = "\x1b[1m{}/4\x1b[0m \x1b[32m━━\x1b[0m loss: {}"
    dynamic = "".join("\b" * 30 + "\r" + bold.format(step, step / 10) for step in range(1, 5)) + "\n"
    logged = "".join("\n" + bold.format(step, step / 10) for step in range(1, 5)) + "\n"
    text = render_notebooks.clean_text("Epoch 1/2\n" + dynamic + "Epoch 2/2" + logged + "done\r\n")
    assert text == "Epoch 1/2\n4/4 ━━ loss: 0.4\nEpoch 2/2\n4/4 ━━ loss: 0.4\ndone"
    table = "1/10 fold accuracy 0.91\n2/10 fold accuracy 0.88"
    assert render_notebooks.clean_text(table) == table, "a table that counts folds is not a progress bar"


def test_clean_text_cuts_long_outputs_and_makes_scratch_paths_relative():
    long = "\n".join(f"/tmp/scratch/runs/line {number}" for number in range(500))
    lines = render_notebooks.clean_text(long, [("/tmp/scratch/", "")]).split("\n")
    assert len(lines) <= render_notebooks.MAX_OUTPUT_LINES + 1
    assert lines[0] == "runs/line 0" and lines[-1] == "runs/line 499"
    assert any(re.fullmatch(r"… \(\d+ lines cut\)", line) for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_quick_without_errors(path, tmp_path):
    # A scratch working directory, so runs/ lands in tmp_path; the kernel gets DLKIT_QUICK=1.
    render_notebooks.execute(path, tmp_path)  # raises CellExecutionError naming the failing cell
