"""The tour: every recipe in --quick mode, one after another, and one page that shows them all.

Runs each recipe script of this folder as its own process with ``--quick`` (so
one recipe's TensorFlow state, or its crash, cannot touch the next), prints a
progress line per recipe, carries on past a recipe that fails, and gathers
their headline metrics and pictures into one static page.

Commands::

    python recipes/tour.py                                   # every recipe, ~10 min on 2 CPU cores
    python recipes/tour.py --recipes classify,word2vec       # a subset, in the order given
    python recipes/tour.py --recipes classify,path/to/mine.py --timeout 300

Writes into ``--out`` (default ``runs/tour-<timestamp>``): one folder per recipe
(its own ``config.json``, ``metrics.json``, pictures, and ``stdout.log`` /
``stderr.log``), ``summary.json`` (recipe -> status, total_seconds, headline metrics,
pictures, error) and ``index.html``, a self-contained page (no scripts, no CDN;
pictures by relative path) with one section per recipe. Open it in a browser.
The exit status is 0 when every recipe succeeded, 1 otherwise.
"""

import ast
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import time

# Run as a script, the tour only starts recipe processes and reads their files: no Keras, no TensorFlow in it (see
# dlkit/__init__.py). Imported (by the tests), it leaves the importing process's environment alone.
if __name__ == "__main__":
    os.environ.setdefault("DLKIT_REGISTER_ON_IMPORT", "0")

from dlkit import cli, report  # noqa: E402
from dlkit.errors import ConfigError  # noqa: E402

RECIPES = pathlib.Path(__file__).resolve().parent
ROOT = RECIPES.parent
# The order a newcomer meets them in; recipes added later are appended alphabetically.
ORDER = (
    "classify", "transfer_learning", "multitask", "yolo_detection", "face_verification", "style_transfer", "word2vec",
    "char_language_model", "sequence_classification",
)
#: The longest the tour stays silent while a recipe runs (seconds); recipes print their own progress more often.
HEARTBEAT_SECONDS = 30.0
SUMMARY_PREFIX = re.compile(r"^[\w.-]+: ")  # "classify: test_accuracy=0.97 ... -> runs/..."


def available_recipes():
    """Returns ``{name: script}`` for every recipe script in this folder, in tour order."""
    found = {
        path.stem: path
        for path in RECIPES.glob("*.py")
        if not path.stem.startswith("_") and path.stem not in ("tour", "predict", "common", "__init__")
    }
    names = [name for name in ORDER if name in found] + sorted(set(found) - set(ORDER))
    return {name: found[name] for name in names}


def resolve_recipes(selection):
    """Turns ``--recipes`` (comma-separated names or script paths) into ``{name: script}``.

    Raises:
        ConfigError: a name that is no recipe, or a path that is no file.
    """
    available = available_recipes()
    if not selection:
        return available
    chosen = {}
    for item in (part.strip() for text in selection for part in text.split(",")):
        if not item:
            continue
        if item in available:
            chosen[item] = available[item]
        elif item.endswith(".py"):
            path = pathlib.Path(item)
            if not path.is_file():
                raise ConfigError(f"--recipes: no such recipe script. Received: {item!r}")
            chosen[path.stem] = path.resolve()
        else:
            raise ConfigError(f"--recipes: unknown recipe; choose from {', '.join(available)}. Received: {item!r}")
    if not chosen:
        raise ConfigError(f"--recipes names no recipe. Received: {selection!r}")
    return chosen


def describe(script):
    """The recipe's own description: its docstring up to the first command example."""
    try:
        docstring = ast.get_docstring(ast.parse(pathlib.Path(script).read_text())) or ""
    except (OSError, SyntaxError):
        return ""
    paragraphs = []
    for paragraph in docstring.split("\n\n"):
        # Stop before command examples and before a list the page would not show ("Three modes:").
        if "python " in paragraph or paragraph.rstrip().endswith(":") or len(paragraphs) == 2:
            break
        paragraphs.append(" ".join(paragraph.split()))
    return "\n\n".join(paragraphs)


def headline_metrics(stdout, folder):
    """The metrics a recipe chose for its last printed line (``name: k=v ... -> out``).

    Values come from its ``metrics.json`` (full precision); the printed text is the fallback.
    """
    path = folder / "metrics.json"
    metrics = json.loads(path.read_text()) if path.is_file() else {}
    for line in reversed(stdout.strip().splitlines()):
        head, arrow, _ = line.strip().rpartition(" -> ")
        pairs = re.findall(r"(?:^|\s)([\w.]+)=(\S*)", SUMMARY_PREFIX.sub("", head)) if arrow else []
        if pairs:
            return {key: metrics.get(key, _number(text)) for key, text in pairs}
    return {}


def forwarded_flags(args):
    """The common flags the user set on the tour, passed on to every recipe."""
    flags = ["--seed", str(args.seed)] if args.seed != 0 else []  # 0 is every recipe's default
    for flag in ("epochs", "batch_size", "data_dir"):
        value = getattr(args, flag)
        if value is not None:
            flags += [f"--{flag.replace('_', '-')}", str(value)]
    if args.strategy != "auto":
        flags += ["--strategy", args.strategy]
    if args.mixed_precision:
        flags.append("--mixed-precision")
    if args.tensorboard:
        flags.append("--tensorboard")
    return flags


def run_recipe(name, script, out, flags, timeout, echo=True):
    """Runs one recipe script with ``--quick`` in a child process and returns its summary entry.

    With ``echo``, each line the recipe prints (its epoch and progress lines:
    a child writing to a pipe prints plain lines, see :mod:`dlkit.progress`)
    is shown as it comes, indented under the recipe's name, and a heartbeat
    line says the recipe is still running when it has printed nothing for
    :data:`HEARTBEAT_SECONDS`.
    """
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(script), "--quick", "--out", str(folder), *flags]
    environment = dict(os.environ, MPLBACKEND="Agg")
    environment.pop("DLKIT_REGISTER_ON_IMPORT", None)  # the recipes load models: they register as usual
    # Recipes import dlkit; this makes a source checkout work even when it is not installed.
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               errors="replace", env=environment)
    stdout, stderr = [], []
    last_output = [started]

    def pump(stream, lines, show):
        for line in stream:
            lines.append(line)
            if show:
                last_output[0] = time.perf_counter()
                print(f"    {name} | {line.rstrip()}", flush=True)

    readers = [threading.Thread(target=pump, args=(process.stdout, stdout, echo), daemon=True),
               threading.Thread(target=pump, args=(process.stderr, stderr, False), daemon=True)]
    for reader in readers:
        reader.start()
    status = None
    while status is None:
        try:
            returncode = process.wait(timeout=0.5)
            status = "ok" if returncode == 0 else "failed"
        except subprocess.TimeoutExpired:
            now = time.perf_counter()
            if now - started > timeout:
                process.kill()
                process.wait()
                returncode, status = None, "timeout"
            elif echo and now - last_output[0] >= HEARTBEAT_SECONDS:
                last_output[0] = now
                print(f"    {name} | still running ({now - started:.0f} s)", flush=True)
    for reader in readers:
        reader.join()
    stdout, stderr = "".join(stdout), "".join(stderr)
    seconds = time.perf_counter() - started
    (folder / "stdout.log").write_text(stdout)
    (folder / "stderr.log").write_text(stderr)
    entry = {
        "status": status,
        "total_seconds": round(seconds, 1),
        "returncode": returncode,
        "command": " ".join(["python", _display_path(script), "--quick", *flags]),
        "description": describe(script),
        "headline": headline_metrics(stdout, folder) if status == "ok" else {},
        "folder": name,
        "pictures": sorted(path.relative_to(out).as_posix() for path in folder.rglob("*.png")),
        "metrics_file": f"{name}/metrics.json" if (folder / "metrics.json").is_file() else None,
    }
    if status != "ok":
        entry["error"] = _error_line(stderr, status, timeout)
    return entry


def parse_args(argv=None):
    parser = cli.recipe_parser("tour", __doc__)
    parser.add_argument("--recipes", action="append", default=None, metavar="NAMES",
                        help="comma-separated recipe names or script paths (default: every recipe)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per recipe (default: 900)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.timeout <= 0:
        raise ConfigError(f"--timeout must be > 0. Received: {args.timeout}")
    recipes = resolve_recipes(args.recipes)
    started = time.perf_counter()
    out = cli.start_run(args, "tour", seed=False)  # the recipes seed themselves; no TensorFlow here
    flags = forwarded_flags(args)

    summary = {}
    for number, (name, script) in enumerate(recipes.items(), start=1):
        print(f"[{number}/{len(recipes)}] {name} ...", flush=True)
        entry = run_recipe(name, script, out, flags, args.timeout, echo=not args.quiet)
        summary[name] = entry
        detail = " ".join(f"{key}={cli.format_value(value)}" for key, value in entry["headline"].items())
        print(f"[{number}/{len(recipes)}] {name} {entry['status']} in {entry['total_seconds']:.0f} s"
              f"{': ' + detail if detail else ''}{': ' + entry['error'] if 'error' in entry else ''}", flush=True)
        cli.write_json(out / "summary.json", summary, sort_keys=False)  # in tour order; kept current

    total = time.perf_counter() - started
    (out / "index.html").write_text(report.render_tour_page(summary, total, folder=out))
    metrics = {
        "recipes": len(summary),
        "recipes_ok": sum(entry["status"] == "ok" for entry in summary.values()),
        "failed": ",".join(name for name, entry in summary.items() if entry["status"] != "ok") or "none",
        "total_seconds": round(total, 1),
    }
    return cli.finish_run(out, metrics, ["recipes_ok", "recipes", "failed", "total_seconds"], recipe="tour")


def _error_line(stderr, status, timeout):
    if status == "timeout":
        return f"stopped after the {timeout:.0f} s timeout"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "exited with an error and printed nothing"


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _display_path(script):
    try:
        return pathlib.Path(script).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(script)


if __name__ == "__main__":
    sys.exit(cli.run(main))
