"""The tour's page: one self-contained ``index.html`` (no scripts, no CDN) for a folder of recipe runs.

Each picture gets a one-line caption saying what to look for (:data:`FIGURES`, by file name) and a size it can be
read at on a 1280 px screen. No picture is drawn larger than its own pixel size (a 224 px stylized photo is not
stretched into a blur); ``wide`` ones (curves, detections, maps, image grids) take a whole row, ``half`` ones share
a row with another, ``natural`` ones share a row when they fit in half of it, and a ``thumbnail`` (an input the run
copied) is kept small. ``python -m dlkit.report TOUR_FOLDER`` renders the page again from the
folder's ``summary.json`` and the pictures now in it (after a picture was redrawn), without rerunning anything.
"""

import html
import json
import os
import pathlib
import platform
import re
import struct
import sys

from dlkit.cli import format_value

LITERAL = re.compile(r"``(.+?)``")  # reStructuredText inline code in the recipes' docstrings

#: ``file name -> (layout, caption)``: how the page shows each known picture and what to look for in it, in the
#: order a section shows them. ``{size}`` in a caption becomes the picture's pixel size. Pictures not named here
#: get :func:`fallback_figure`.
FIGURES = {
    "triptych.png": (
        "wide",
        ("Content, style and result side by side: the result should keep the content's shapes in the style's "
         "colours and textures."),
    ),
    "stylized.png": (
        "natural",
        ("The result at its natural size ({size}; --quick stylizes a 224 px image, the default 512 px): look "
         "for the style's strokes, not photo detail."),
    ),
    "losses.png": (
        "half",
        ("Each weighted loss term per step (log scale): the style term should fall by orders of magnitude "
         "while the content term stays small."),
    ),
    "curves.png": (
        "wide",
        ("Training (solid) vs validation (dashed) per epoch: a growing gap is overfitting; a dotted line marks"
         " where a new training phase starts."),
    ),
    "confusion_matrix.png": (
        "half",
        ("Rows are the true classes, columns the predictions: every count off the diagonal is a mistake; the "
         "largest ones are the usual confusions."),
    ),
    "comparison.png": (
        "half",
        ("The approaches side by side on the same test set: how far each bar rises above the others (and above"
         " chance, dashed) is what that approach buys."),
    ),
    "heldout_accuracy_by_epoch.png": (
        "half",
        ("Held-out accuracy after each epoch: how early each arm gets good, and what fine-tuning (after the "
         "dotted line) adds."),
    ),
    "crops.png": (
        "half",
        ("The training crops, one row per photo: grey and randomly lit, so only texture and content tell the "
         "photos apart."),
    ),
    "samples.png": (
        "natural",
        ("Test images with the model's answers (green right, red wrong; boxes where it localizes): the red ones are"
         " its mistakes."),
    ),
    "detections.png": (
        "wide",
        ("Predicted boxes (coloured, with scores) over the true ones (dashed): a dashed box with no coloured one is"
         " a miss; a loose box costs mAP@0.5:0.95."),
    ),
    "roc.png": (
        "half",
        ("Accept rate of same pairs against different pairs (log scale): the higher above the dotted chance "
         "curve at small false-accept rates, the better."),
    ),
    "embeddings_tsne.png": (
        "half",
        ("Embeddings of identities never seen in training, in 2-D: each identity should be one tight cluster."),
    ),
    "pairs.png": (
        "wide",
        ("The model's worst mistakes at its threshold: same-identity pairs it rejected, different-identity "
         "pairs it accepted, each with its distance."),
    ),
    "tsne.png": (
        "wide",
        ("Probe words (bold) among their nearest neighbours: each colour should form its own neighbourhood of "
         "related words."),
    ),
    "bits_per_char.png": (
        "half",
        ("Bits per character on held-out text against general-purpose compressors: lower is better; the model "
         "should beat bzip2."),
    ),
    "surprise.png": (
        "wide",
        ("How surprised the model is by each held-out character (darker = more bits): surprise should peak at "
         "word starts and rare names, and fade inside common words."),
    ),
    "mistakes.png": ("natural", "The classifier's most confident mistakes: are they plausible confusions?"),
    "tagged_sentences.png": ("natural", "Held-out sentences with each word's predicted tag: errors are marked."),
    "style_0.png": ("thumbnail", "The style image as the run saved it ({size}): restyling another photo reuses it."),
}
#: Pictures at least this wide (in pixels) take a whole row when they are not in :data:`FIGURES`.
WIDE_FROM = 900
#: About the width of half a row of pictures on the page, in CSS pixels.
HALF_ROW = 560
#: How the page labels the timing metrics (a recipe's own, from its metrics.json).
SECONDS = {"total_seconds": "total seconds", "train_seconds": "train seconds"}


def render_tour_page(summary, total_seconds, folder=None):
    """Returns the tour's ``index.html``: one section per recipe, headline table, captioned pictures.

    Args:
        summary: ``{recipe: entry}`` in tour order; an entry has ``status``,
            ``total_seconds`` (the recipe process's wall time, start-up included), ``command``,
            ``description`` (reStructuredText paragraphs), ``headline`` (``{metric: value}``), ``folder``,
            ``pictures`` (paths relative to the page), ``metrics_file`` and,
            when the recipe failed, ``error``.
        total_seconds: the whole tour's wall time.
        folder: the folder the page is written to; with it the page reads each recipe's ``metrics.json`` (its
            total and train seconds) and each picture's pixel size (its layout).
    """
    folder = pathlib.Path(folder) if folder is not None else None
    ok = sum(entry["status"] == "ok" for entry in summary.values())
    contents = "".join(
        f'<li><a href="#{_e(name)}">{_e(name)}</a> <span class="{_e(entry["status"])}">{_e(entry["status"])}</span></li>'
        for name, entry in summary.items()
    )
    sections = "".join(_section(name, entry, folder) for name, entry in summary.items())
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dlkit tour</title>
<style>
  body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px;
         padding: 1.5rem; color: #1f2328; line-height: 1.45; }}
  h1 {{ margin-bottom: .2rem; }}
  h2 {{ border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; margin-top: 2.2rem; }}
  .lead {{ color: #57606a; margin-top: 0; }}
  nav ul {{ display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; list-style: none; padding: 0; }}
  .ok, .failed, .timeout {{ font-size: .8rem; font-weight: 600; padding: .05rem .45rem; border-radius: .6rem; }}
  .ok {{ background: #dafbe1; color: #116329; }}
  .failed, .timeout {{ background: #ffebe9; color: #a40e26; }}
  code, pre {{ font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }}
  code {{ background: #f6f8fa; padding: .1rem .3rem; border-radius: .3rem; overflow-wrap: anywhere; }}
  pre {{ background: #f6f8fa; padding: .8rem; border-radius: .4rem; white-space: pre-wrap; overflow-wrap: anywhere; }}
  table {{ border-collapse: collapse; margin: .6rem 0; }}
  td, th {{ border: 1px solid #d0d7de; padding: .25rem .7rem; text-align: left; }}
  td.number {{ text-align: right; font-variant-numeric: tabular-nums; }}
  .pictures {{ display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1.4rem 1.2rem;
              align-items: start; }}
  figure {{ margin: 0; }}
  figure.wide {{ grid-column: 1 / -1; }}
  figure.thumbnail img {{ max-width: min(100%, 280px); }}
  figure img {{ display: block; margin: 0 auto; max-width: 100%; height: auto; border: 1px solid #d0d7de;
               border-radius: .3rem; }}
  figcaption {{ font-size: .9rem; color: #3d444d; margin-top: .35rem; }}
  figcaption code {{ font-size: .75rem; color: #57606a; background: none; }}
  @media (max-width: 700px) {{ .pictures {{ grid-template-columns: 1fr; }} }}
</style>
</head>
<body>
<h1>dlkit tour</h1>
<p class="lead">Every recipe in <code>--quick</code> mode: {ok} of {len(summary)} ok in {total_seconds:.0f} s
(all of the tour, Python and TensorFlow start-up included) on {_e(machine)}.</p>
<nav><ul>{contents}</ul></nav>
{sections}
</body>
</html>
"""


def write_tour_page(folder):
    """Renders ``folder/index.html`` again from ``folder/summary.json`` and the pictures now in each recipe folder.

    Args:
        folder: a tour's output folder (``summary.json``, ``metrics.json``, one folder per recipe).

    Returns:
        The page's path.
    """
    folder = pathlib.Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    for entry in summary.values():
        entry["pictures"] = sorted(path.relative_to(folder).as_posix()
                                   for path in (folder / entry["folder"]).rglob("*.png"))
    metrics = _metrics(folder / "metrics.json")
    total = metrics.get("total_seconds", sum(entry["total_seconds"] for entry in summary.values()))
    page = folder / "index.html"
    page.write_text(render_tour_page(summary, total, folder))
    return page


def figure_layout(path, size=None):
    """``(layout, caption)`` of a picture: from :data:`FIGURES` by file name, else :func:`fallback_figure`.

    Args:
        path: the picture's path (its file name is what counts).
        size: its ``(width, height)`` in pixels, when known.
    """
    name = pathlib.PurePosixPath(path).name
    layout, caption = FIGURES.get(name) or fallback_figure(name, size)
    size_text = f"{size[0]}×{size[1]} px" if size else "its own pixel size"
    return layout, caption.replace("{size}", size_text)


def fallback_figure(name, size=None):
    """A picture the page does not know: its name in words; wide from :data:`WIDE_FROM` pixels (or unknown)."""
    layout = "wide" if size is None or size[0] >= WIDE_FROM else "natural"
    return layout, pathlib.PurePosixPath(name).stem.replace("_", " ").capitalize() + "."


def png_size(path):
    """``(width, height)`` of a PNG file from its header, or None when it is missing or not a PNG."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(24)
    except OSError:
        return None
    if len(header) < 24 or header[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", header[16:24])


def _section(name, entry, folder):
    description = "".join(
        f"<p>{_rst_to_html(paragraph)}</p>"
        for paragraph in entry["description"].split("\n\n")
        if paragraph
    )
    metrics = _metrics(folder / entry["metrics_file"]) if folder and entry.get("metrics_file") else {}
    rows = "".join(
        f'<tr><th title="{_e(key)}">{_e(SECONDS.get(key, key))}</th>'
        f'<td class="number">{_e(format_value(value))}</td></tr>'
        for key, value in entry["headline"].items()
    )
    table = f"<table>{rows}</table>" if rows else ""
    error = f"<pre>{_e(entry['error'])}</pre>" if "error" in entry else ""
    links = [f'<a href="{_e(entry["folder"])}/stdout.log">output</a>',
             f'<a href="{_e(entry["folder"])}/stderr.log">log</a>']
    if entry["metrics_file"]:
        links.insert(0, f'<a href="{_e(entry["metrics_file"])}">all metrics</a>')
    return f"""
<section id="{_e(name)}">
<h2>{_e(name)} <span class="{_e(entry['status'])}">{_e(entry['status'])}</span></h2>
{description}
<p><code>{_e(entry['command'])}</code> &middot; {_timing(entry, metrics)} &middot; {' &middot; '.join(links)}</p>
{table}{error}
<div class="pictures">{"".join(_figure(path, folder) for path in _in_page_order(entry["pictures"]))}</div>
</section>"""


def _timing(entry, metrics):
    """The section's time line, in the words and numbers of its table: total and train seconds, then the process."""
    values = {**{key: metrics[key] for key in SECONDS if key in metrics},
              **{key: value for key, value in entry["headline"].items() if key in SECONDS}}
    parts = [f"{label} {format_value(values[key])}" for key, label in SECONDS.items() if key in values]
    process = f"{entry['total_seconds']:.0f} s with process start-up"
    return f"{', '.join(parts)} ({process})" if parts else process


def _figure(path, folder):
    """One captioned picture, shown at most at its own pixel size (never stretched); a wide one gets its own row."""
    size = png_size(folder / path) if folder else None
    layout, caption = figure_layout(path, size)
    if layout == "natural" and size and size[0] > HALF_ROW:
        layout = "natural wide"
    dimensions = f' width="{size[0]}" height="{size[1]}"' if size else ""
    return (f'<figure class="{layout}"><a href="{_e(path)}"><img src="{_e(path)}"{dimensions} '
            f'alt="{_e(caption)}" loading="lazy"></a>'
            f"<figcaption>{_e(caption)} <code>{_e(pathlib.PurePosixPath(path).name)}</code></figcaption></figure>")


def _in_page_order(pictures):
    """Known pictures in :data:`FIGURES` order, then the others as given."""
    order = {name: index for index, name in enumerate(FIGURES)}
    return sorted(pictures, key=lambda path: order.get(pathlib.PurePosixPath(path).name, len(order)))


def _metrics(path):
    try:
        return json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError):
        return {}


def _rst_to_html(text):
    return LITERAL.sub(r"<code>\1</code>", _e(text))


def _e(text):
    return html.escape(str(text), quote=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m dlkit.report TOUR_FOLDER")
    print(write_tour_page(sys.argv[1]))
