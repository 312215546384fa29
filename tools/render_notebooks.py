"""Render the notebooks with their outputs for readers: ``docs/notebooks/NN_name.md``.

The notebooks are committed without outputs (so their diffs stay readable); this script executes each one the way
``tests/test_notebooks.py`` does (``DLKIT_QUICK=1``, a scratch working directory) and writes a Markdown page with the
prose, the code and what the code printed and drew: text outputs trimmed (ANSI codes stripped, progress bars reduced
to their final state, very long outputs cut), pictures downscaled to small PNGs in ``docs/notebooks/NN_name_files/``.
``docs/notebooks/README.md`` indexes the renders.

Each render starts with a comment holding a hash of its notebook's code cells, so ``--check`` (and a fast test) can
tell when a notebook's code changed after it was rendered. A prose-only edit does not make a render stale.

Usage::

    python tools/render_notebooks.py                    # execute and render every notebook (~15 min on 2 CPU cores)
    python tools/render_notebooks.py --only 01_classify  # one notebook (the index is rewritten too)
    python tools/render_notebooks.py --check             # exit 1 if a render is missing or older than its code
"""

import argparse
import base64
import datetime
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from PIL import Image

# TensorFlow's C++ (absl) log lines reach a kernel's stderr (the kernels set TF_CPP_MIN_LOG_LEVEL, so dlkit leaves
# them there); the renders leave them out.
from dlkit.native_logs import NATIVE_LINE

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
DOCS = ROOT / "docs" / "notebooks"
TIMEOUT_S = 600
MAX_IMAGE_WIDTH = 800
QUANTIZE_ABOVE_BYTES = 100_000
MAX_OUTPUT_LINES = 60
KEEP_HEAD_LINES, KEEP_TAIL_LINES = 30, 20
HEADER_FIELDS = ("Author", "Date created", "Last modified", "Description", "Run time")

_INFO = re.compile(r"^<!-- render-info: (\{.*\}) -->$", re.MULTILINE)
_FIELD = re.compile(r"^\*\*([A-Za-z ]+):\*\*\s*(.*?)\s*(?:<br>)?\s*$", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_BACKSPACE = re.compile(r"[^\n\x08]\x08")
# A Keras Progbar line, "12/300 ━━━━━━━━━━ 3s 10ms/step - loss: 0.52" (a table line "1/10 ..." is not one).
_PROGRESS = re.compile(r"^\s*(\d+)/(\d+)\s.*(?:━|/step|ETA)")


def notebook_paths():
    """Returns every notebook under ``notebooks/``, sorted by name."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def kernel_environment():
    """Returns the environment a notebook kernel runs in: small runs, dlkit importable, quiet TensorFlow.

    Matplotlib gets the backend Jupyter gives a notebook (inline), so ``plt.show()`` puts the figure in the output
    just as it does for a reader, with or without ``%matplotlib inline``.
    """
    return {
        **os.environ,
        "DLKIT_QUICK": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }


def execute(path, workdir, timeout=TIMEOUT_S):
    """Executes a notebook in a fresh kernel with ``DLKIT_QUICK=1``.

    Args:
        path: the ``.ipynb`` file.
        workdir: the kernel's working directory (the notebook writes its ``runs/`` there).
        timeout: seconds one cell may run.

    Returns:
        ``(notebook, seconds)``: the executed notebook and the wall seconds from kernel start to the last cell.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell failed; the message names it.
    """
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    start = time.perf_counter()
    client.execute(env=kernel_environment())
    return notebook, time.perf_counter() - start


def code_hash(notebook):
    """Returns a short sha256 of a notebook's code cells (their sources, in order)."""
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(sources).encode()).hexdigest()[:16]


def header_fields(notebook):
    """Returns the keras.io-style header of a notebook's first cell.

    Returns:
        A dict with ``"Title"`` (the ``# `` heading) and each ``**Field:** value`` line found (``Author``,
        ``Date created``, ...); empty when the first cell is not Markdown.
    """
    if not notebook.cells or notebook.cells[0].cell_type != "markdown":
        return {}
    source = notebook.cells[0].source
    fields = {name: value for name, value in _FIELD.findall(source)}
    title = re.match(r"#\s+(.+)", source)
    if title:
        fields["Title"] = title.group(1).strip()
    return fields


def _overwrite_carriage_returns(line):
    """Returns what a terminal shows for one line in which ``\\r`` moves back to its start."""
    shown = ""
    for segment in line.split("\r"):
        shown = segment + shown[len(segment):]
    return shown


def _collapse_progress(lines):
    """Keeps only the last line of each run of Keras progress lines (``12/300 ━━━ ...``) counting to one total.

    Blank lines inside such a run (a non-interactive Keras ``Progbar`` starts each update with a newline) go too.
    """
    kept = []
    for line in lines:
        match = _PROGRESS.match(line)
        last = len(kept) - 1
        while match and last >= 0 and not kept[last].strip():
            last -= 1
        previous = _PROGRESS.match(kept[last]) if match and last >= 0 else None
        if previous and match.group(2) == previous.group(2) and int(match.group(1)) >= int(previous.group(1)):
            del kept[last:]
        kept.append(line)
    return kept


def clean_text(text, replacements=()):
    """Turns a cell's raw text output into what a reader should see.

    ANSI escape codes go, backspaces and carriage returns are applied as a terminal would (so a Keras progress bar
    keeps its final state), runs of progress lines keep their last line, and an output longer than
    ``MAX_OUTPUT_LINES`` keeps its head and tail around a ``… (N lines cut)`` note.

    Args:
        text: the raw output.
        replacements: ``(old, new)`` pairs applied first (scratch paths made relative).

    Returns:
        The cleaned text, without trailing blank lines.
    """
    for old, new in replacements:
        text = text.replace(old, new)
    text = _ANSI.sub("", text.replace("\r\n", "\n"))
    while True:
        shorter = _BACKSPACE.sub("", text)
        if shorter == text:
            break
        text = shorter
    text = text.replace("\x08", "")
    lines = [_overwrite_carriage_returns(line).rstrip() for line in text.split("\n")]
    lines = _collapse_progress(lines)
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    if len(lines) > MAX_OUTPUT_LINES:
        cut = len(lines) - KEEP_HEAD_LINES - KEEP_TAIL_LINES
        lines = lines[:KEEP_HEAD_LINES] + [f"… ({cut} lines cut)"] + lines[-KEEP_TAIL_LINES:]
    return "\n".join(lines)


def save_image(data, path):
    """Writes a base64 image output as a PNG at most ``MAX_IMAGE_WIDTH`` pixels wide.

    A PNG still over ``QUANTIZE_ABOVE_BYTES`` is written with a 256-colour palette when that is smaller, which
    plots survive unchanged to the eye.

    Args:
        data: the output's base64 text (PNG or JPEG).
        path: the ``.png`` file to write.

    Returns:
        The number of bytes written.
    """
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    image.load()
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.width > MAX_IMAGE_WIDTH:
        height = round(image.height * MAX_IMAGE_WIDTH / image.width)
        image = image.resize((MAX_IMAGE_WIDTH, height), Image.LANCZOS)
    encoded = _png_bytes(image)
    if len(encoded) > QUANTIZE_ABOVE_BYTES and image.mode in ("RGB", "RGBA"):
        method = Image.Quantize.FASTOCTREE if image.mode == "RGBA" else Image.Quantize.MEDIANCUT
        encoded = min(encoded, _png_bytes(image.quantize(256, method=method)), key=len)
    path.write_bytes(encoded)
    return len(encoded)


def _png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _fenced(text, language=""):
    """Returns text in a fenced code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _picture(output):
    """Returns the base64 PNG or JPEG of a display output, or ``None``."""
    data = output.get("data", {})
    return data.get("image/png") or data.get("image/jpeg")


def _output_text(output):
    """Returns ``(kind, raw text)`` of an output that shows as text, or ``None`` for a picture or Markdown.

    The kind (``stdout``, ``stderr``, ``display``, ``error``) decides which neighbouring outputs merge into one block:
    a progress bar arrives as many stream messages, a Keras ``model.summary()`` as one display per table part.
    TensorFlow's C++ log lines are dropped from ``stderr``.
    """
    if output.output_type == "stream":
        if output.name == "stderr":
            return "stderr", "".join(line for line in output.text.splitlines(True) if not NATIVE_LINE.match(line))
        return output.name, output.text
    if output.output_type == "error":
        return "error", "\n".join(output.traceback) + "\n"
    data = output.get("data", {})
    if _picture(output) or "text/markdown" in data:
        return None
    return "display", data.get("text/plain", "") + "\n"


def _render_outputs(outputs, cell_number, files, replacements):
    """Returns the Markdown blocks of one code cell's outputs and saves its pictures.

    Args:
        outputs: the cell's nbformat outputs.
        cell_number: the code cell's number (1 for the first code cell), which names its pictures
            ``cell-N.png``, ``cell-N-2.png``, ...
        files: the folder pictures go to (created on first use).
        replacements: passed to ``clean_text``.
    """
    groups = []  # [kind, raw text] for a run of text outputs of one kind, [None, output] for anything else
    for output in outputs:
        text = _output_text(output)
        if text and groups and groups[-1][0] == text[0]:
            groups[-1][1] += text[1]
        else:
            groups.append(list(text) if text else [None, output])
    blocks, pictures = [], 0
    for kind, content in groups:
        if kind is not None:
            text = clean_text(content, replacements)
            blocks += [_fenced(text)] if text else []
        elif _picture(content):
            pictures += 1
            name = f"cell-{cell_number}" + (f"-{pictures}" if pictures > 1 else "") + ".png"
            files.mkdir(parents=True, exist_ok=True)
            save_image(_picture(content), files / name)
            blocks.append(f"![output of the cell above]({files.name}/{name})")
        else:
            blocks.append(content["data"]["text/markdown"].strip())
    return blocks


def render_markdown(notebook, name, seconds, replacements=()):
    """Writes ``docs/notebooks/<name>.md`` and its pictures from an executed notebook.

    Args:
        notebook: the executed notebook.
        name: the notebook's file stem, ``NN_name``.
        seconds: the measured execution time.
        replacements: ``(old, new)`` pairs for text outputs (scratch paths made relative).

    Returns:
        The path of the Markdown file.
    """
    files = DOCS / f"{name}_files"
    for stale in files.glob("*.png"):
        stale.unlink()
    today = datetime.date.today().isoformat()
    info = {"notebook": f"notebooks/{name}.ipynb", "code_sha256": code_hash(notebook), "seconds": round(seconds, 1),
            "date": today}
    rendered = (
        f"> Rendered by [`tools/render_notebooks.py`](../../tools/render_notebooks.py) from a `DLKIT_QUICK=1` run "
        f"on {today} (executed in {seconds:.0f} s, 2 CPU cores). Source: [`notebooks/{name}.ipynb`]"
        f"(../../notebooks/{name}.ipynb); the numbers below are a quick run's."
    )
    parts = [
        f"<!-- render-info: {json.dumps(info)} -->",
        f"<!-- Made by tools/render_notebooks.py from notebooks/{name}.ipynb: edit the notebook, not this file. -->",
    ]
    code_cells = 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source.strip())
        elif cell.cell_type == "code":
            code_cells += 1
            parts.append(_fenced(cell.source.strip(), "python"))
            parts += _render_outputs(cell.get("outputs", []), code_cells, files, replacements)
    # The line saying how the page was made goes under the keras.io header (the first cell), or on top.
    parts.insert(3 if notebook.cells and notebook.cells[0].cell_type == "markdown" else 2, rendered)
    path = DOCS / f"{name}.md"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def read_render_info(path):
    """Returns the ``render-info`` dict stored at the top of a render, or ``None`` when it has none."""
    if not path.exists():
        return None
    match = _INFO.search(path.read_text(encoding="utf-8"))
    return json.loads(match.group(1)) if match else None


def write_index():
    """Writes ``docs/notebooks/README.md``: one row per notebook with its description and measured run time."""
    rows = []
    for path in notebook_paths():
        fields = header_fields(nbformat.read(path, as_version=4))
        info = read_render_info(DOCS / f"{path.stem}.md")
        run_time = f"{info['seconds']:.0f} s" if info else "not rendered"
        rendered = f"[{path.stem}]({path.stem}.md)" if info else path.stem
        rows.append(
            f"| {rendered} | {fields.get('Title', '')} | {fields.get('Description', '')} | {run_time} | "
            f"[`.ipynb`](../../notebooks/{path.name}) |"
        )
    lines = [
        "# The notebooks, rendered",
        "",
        (
            "Each page below is a notebook from [`notebooks/`](../../notebooks/) with what its cells printed and drew, "
            "rendered by [`tools/render_notebooks.py`](../../tools/render_notebooks.py) from a small `DLKIT_QUICK=1` "
            "run on 2 CPU cores (so the numbers are a quick run's, not a full one's; TensorFlow's C++ start-up log "
            "lines are left out). The run times are wall seconds of that run, kernel start included, on a machine "
            "other jobs shared, so an idle one is faster. To run one yourself: `DLKIT_QUICK=1 jupyter lab notebooks/`. After changing a "
            "notebook's code, render it again (`python tools/render_notebooks.py --only NN_name`): "
            "`tests/test_notebooks.py` fails while a render is older than its notebook's code."
        ),
        "",
        "| render | title | what it shows | run time (quick) | notebook |",
        "|---|---|---|---|---|",
        *rows,
    ]
    (DOCS / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def render_problem(path, docs=DOCS):
    """Returns why a notebook's render is not current, or ``None`` when it is.

    Args:
        path: the ``.ipynb`` file.
        docs: the folder holding the renders.
    """
    render = docs / f"{path.stem}.md"
    info = read_render_info(render)
    if info is None:
        return f"{_shown(render)} is missing or has no render-info line"
    if info["code_sha256"] != code_hash(nbformat.read(path, as_version=4)):
        return f"{_shown(render)} is older than the code of {_shown(path)}"
    return None


def _shown(path):
    """Returns a path relative to the repository when it is inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def stale_renders():
    """Returns one line per notebook without a current render (missing, or rendered before its code changed)."""
    return [problem for problem in map(render_problem, notebook_paths()) if problem]


def render(path):
    """Executes one notebook in a scratch folder and writes its render; returns the seconds it took."""
    with tempfile.TemporaryDirectory(prefix=f"render-{path.stem}-") as scratch:
        notebook, seconds = execute(path, scratch)
        real = os.path.realpath(scratch)
        replacements = [(real + os.sep, ""), (scratch + os.sep, ""), (str(ROOT) + os.sep, "")]
        render_markdown(notebook, path.stem, seconds, replacements)
    return seconds


def _select(only):
    paths = notebook_paths()
    if not only:
        return paths
    chosen = [path for path in paths if path.stem in only or path.stem.split("_", 1)[0] in only]
    unknown = set(only) - {p.stem for p in chosen} - {p.stem.split("_", 1)[0] for p in chosen}
    if unknown:
        raise SystemExit(f"error: no notebook named {', '.join(sorted(unknown))} (have {[p.stem for p in paths]})")
    return chosen


def main(argv=None):
    """Renders the chosen notebooks (all by default) or, with ``--check``, reports stale renders."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="notebooks to render: 01_classify or just 01")
    parser.add_argument("--check", action="store_true", help="render nothing; exit 1 if a render is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_renders()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("render them again: python tools/render_notebooks.py --only NAME", file=sys.stderr)
        return 1 if problems else 0
    DOCS.mkdir(parents=True, exist_ok=True)
    for path in _select(args.only):
        print(f"{path.stem}: executing ...", flush=True)
        seconds = render(path)
        print(f"{path.stem}: {seconds:.0f} s -> {_shown(DOCS / path.stem)}.md", flush=True)
    write_index()
    pictures = sum(file.stat().st_size for file in DOCS.glob("*_files/*.png"))
    print(f"pictures: {pictures / 1e6:.2f} MB in {_shown(DOCS)}/*_files/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
