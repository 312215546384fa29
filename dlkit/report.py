"""The tour's page: one self-contained ``index.html`` (no scripts, no CDN) for a folder of recipe runs."""

import html
import os
import pathlib
import platform
import re

from dlkit.cli import format_value

LITERAL = re.compile(r"``(.+?)``")  # reStructuredText inline code in the recipes' docstrings


def render_tour_page(summary, total_seconds):
    """Returns the tour's ``index.html``: one section per recipe, headline table, pictures by relative path.

    Args:
        summary: ``{recipe: entry}`` in tour order; an entry has ``status``,
            ``total_seconds``, ``command``, ``description`` (reStructuredText
            paragraphs), ``headline`` (``{metric: value}``), ``folder``,
            ``pictures`` (paths relative to the page), ``metrics_file`` and,
            when the recipe failed, ``error``.
        total_seconds: the whole tour's wall time.
    """
    ok = sum(entry["status"] == "ok" for entry in summary.values())
    contents = "".join(
        f'<li><a href="#{_e(name)}">{_e(name)}</a> <span class="{_e(entry["status"])}">{_e(entry["status"])}</span></li>'
        for name, entry in summary.items()
    )
    sections = "".join(_section(name, entry) for name, entry in summary.items())
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dlkit tour</title>
<style>
  body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1100px;
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
  .pictures {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 1rem; }}
  figure {{ margin: 0; }}
  figure img {{ width: 100%; height: auto; border: 1px solid #d0d7de; border-radius: .3rem; }}
  figcaption {{ font-size: .8rem; color: #57606a; text-align: center; }}
</style>
</head>
<body>
<h1>dlkit tour</h1>
<p class="lead">Every recipe in <code>--quick</code> mode: {ok} of {len(summary)} ok in {total_seconds:.0f} s
on {_e(machine)}.</p>
<nav><ul>{contents}</ul></nav>
{sections}
</body>
</html>
"""


def _section(name, entry):
    description = "".join(
        f"<p>{_rst_to_html(paragraph)}</p>"
        for paragraph in entry["description"].split("\n\n")
        if paragraph
    )
    rows = "".join(
        f'<tr><th>{_e(key)}</th><td class="number">{_e(format_value(value))}</td></tr>'
        for key, value in entry["headline"].items()
    )
    table = f"<table>{rows}</table>" if rows else ""
    error = f"<pre>{_e(entry['error'])}</pre>" if "error" in entry else ""
    figures = "".join(
        f'<figure><a href="{_e(path)}"><img src="{_e(path)}" alt="{_e(path)}" loading="lazy"></a>'
        f"<figcaption>{_e(pathlib.PurePosixPath(path).name)}</figcaption></figure>"
        for path in entry["pictures"]
    )
    links = [f'<a href="{_e(entry["folder"])}/stdout.log">output</a>', f'<a href="{_e(entry["folder"])}/stderr.log">log</a>']
    if entry["metrics_file"]:
        links.insert(0, f'<a href="{_e(entry["metrics_file"])}">all metrics</a>')
    return f"""
<section id="{_e(name)}">
<h2>{_e(name)} <span class="{_e(entry['status'])}">{_e(entry['status'])}</span></h2>
{description}
<p><code>{_e(entry['command'])}</code> &middot; {entry['total_seconds']:.0f} s &middot; {' &middot; '.join(links)}</p>
{table}{error}
<div class="pictures">{figures}</div>
</section>"""


def _rst_to_html(text):
    return LITERAL.sub(r"<code>\1</code>", _e(text))




def _e(text):
    return html.escape(str(text), quote=True)
