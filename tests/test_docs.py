"""Every ``python`` code block of README.md and docs/*.md runs as written, so a snippet that does not run fails CI.

How the documents are read (docs/architecture.md, "Tests", says the same):

- Only fences opened with ```` ```python ```` run; ``bash``, ``console``, ``text`` and bare fences are left alone
  (docs/notebooks/ is made by its own script and tested with the notebooks).
- The blocks of one file run in order in one namespace, as a reader pastes them one after another into one Python
  session: a later block may use what an earlier one made (docs/multitask.md's second block trains on the first
  one's ``train``). Each test is one block, named ``file:line`` (the line of its opening fence); a block run alone
  (``pytest tests/test_docs.py -k "multitask.md:72"``) first runs the blocks above it in its file.
- Each file runs in its own temporary working directory holding ``docs/examples`` (a link to the repository's), so
  relative paths read as from the repository root, where the README runs everything; files a block writes stay there.
- An HTML comment on the line right before a block's fence changes how it runs:

  - ``<!-- setup: NAME -->``: before the block, ``NAME(workdir)`` of tests/support/doc_setup.py makes what the block
    reads and what the command shown just above the block would have made for a reader (``digits_run``: the
    ``runs/digits`` of ``python recipes/classify.py --quick --out runs/digits``).
  - ``<!-- skip-test: REASON -->``: the block is only compiled (a syntax error still fails), then reported as skipped
    with REASON. Only for a block that cannot run offline or is not a program (a skeleton with ``...``).

- Blocks are written small (a few epochs, small images, the offline data sets) so each runs in seconds on a CPU
  (each under ~20 s on 2 cores, so none is marked ``slow``). A failure's traceback names the markdown file and line.
"""

import dataclasses
import os
import pathlib
import re

import doc_setup
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\S*)")
MARKER = re.compile(r"^\s*<!--\s*(setup|skip-test):\s*(.*?)\s*-->\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
    """One ``python`` block: where it is, its code and what the comment before it asks."""

    path: pathlib.Path
    line: int
    code: str
    setup: str = ""
    skip: str = ""

    @property
    def name(self):
        """``file:line`` of the opening fence, relative to the repository."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def compiled(self):
        """The block's code object, its line numbers those of the markdown file (tracebacks quote the document)."""
        return compile("\n" * self.line + self.code, str(self.path), "exec")


def python_blocks(path):
    """The ``python`` blocks of one markdown file, in order.

    Args:
        path: a markdown file.

    Returns:
        A list of :class:`Block`.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith(opening.group(1)):
            end += 1
        if opening.group(2) == "python":
            marker = MARKER.match(lines[index - 1]) if index else None
            options = {marker.group(1).replace("-test", ""): marker.group(2)} if marker else {}
            blocks.append(Block(path, index + 1, "\n".join(lines[index + 1:end]) + "\n", **options))
        index = end + 1
    return blocks


BLOCKS = [block for path in DOCUMENTS for block in python_blocks(path)]


class Session:
    """The namespace and working directory one document's blocks share, run in order."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.namespace = {"__name__": "__doc_block__"}
        self.done = set()
        examples = workdir / "docs" / "examples"
        examples.parent.mkdir()
        examples.symlink_to(ROOT / "docs" / "examples", target_is_directory=True)

    def run(self, block):
        """Runs ``block`` (its setup first) in the shared namespace, from the working directory."""
        previous = pathlib.Path.cwd()
        os.chdir(self.workdir)
        try:
            if block.setup:
                getattr(doc_setup, block.setup)(self.workdir)
            exec(block.compiled(), self.namespace)  # noqa: S102 - the documents' own code
        finally:
            os.chdir(previous)
            self.done.add(block.line)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """``path -> Session``, made on first use."""
    made = {}

    def get(path):
        if path not in made:
            made[path] = Session(tmp_path_factory.mktemp(path.stem))
        return made[path]

    return get


def test_every_document_has_been_read():
    """The extraction finds the blocks (a broken fence pattern would otherwise pass by running nothing)."""
    assert len(BLOCKS) >= 10, [block.name for block in BLOCKS]
    assert any(block.path.name == "README.md" for block in BLOCKS)
    for block in BLOCKS:
        assert not block.setup or hasattr(doc_setup, block.setup), f"{block.name}: no set-up {block.setup!r}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_marker_sits_on_a_python_block(path):
    """A ``setup``/``skip-test`` comment anywhere else would be silently ignored."""
    lines = path.read_text(encoding="utf-8").splitlines() + [""]
    misplaced = [f"{path.name}:{number}: {line.strip()}" for number, line in enumerate(lines[:-1], start=1)
                 if MARKER.match(line) and lines[number].strip() != "```python"]
    assert not misplaced, f"markers that are not right above a ```python fence: {misplaced}"


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.name)
def test_block_runs(block, sessions):
    """The block runs after the blocks above it in its file."""
    block.compiled()
    if block.skip:
        pytest.skip(block.skip)
    session = sessions(block.path)
    for earlier in python_blocks(block.path):
        if earlier.line < block.line and earlier.line not in session.done and not earlier.skip:
            session.run(earlier)
    session.run(block)
