"""dlkit.report: the tour page's captions, figure sizes and timings, from a made-up tour folder."""

import html.parser

import numpy as np
import pytest
from PIL import Image

from dlkit import cli, report


class _Figures(html.parser.HTMLParser):
    """Each figure of a page: its class, its image's attributes and its caption text."""

    def __init__(self):
        super().__init__()
        self.figures, self._caption = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure":
            self.figures.append({"class": attrs.get("class"), "caption": ""})
        elif tag == "img":
            self.figures[-1]["img"] = attrs
        self._caption = tag == "figcaption" or self._caption

    def handle_endtag(self, tag):
        self._caption = self._caption and tag != "figcaption"

    def handle_data(self, data):
        if self._caption:
            self.figures[-1]["caption"] += data


def picture(path, width, height):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(path)


@pytest.fixture
def tour_folder(tmp_path):
    """Two recipe folders with pictures of real sizes and metrics, a summary as the tour writes it."""
    sizes = {"style_transfer/stylized.png": (224, 149), "style_transfer/triptych.png": (1500, 500),
             "style_transfer/losses.png": (600, 350), "word2vec/tsne.png": (1080, 900),
             "word2vec/made_up_plot.png": (300, 200)}
    for path, (width, height) in sizes.items():
        picture(tmp_path / path, width, height)
    cli.write_json(tmp_path / "style_transfer" / "metrics.json", {"train_seconds": 3.27, "total_seconds": 5.5})
    cli.write_json(tmp_path / "word2vec" / "metrics.json", {"train_seconds": 1.5, "total_seconds": 4.0})
    summary = {
        name: {"status": "ok", "total_seconds": 9.0, "command": f"python recipes/{name}.py --quick",
               "description": "A recipe.", "headline": headline, "folder": name,
               "pictures": sorted(path for path in sizes if path.startswith(name)),
               "metrics_file": f"{name}/metrics.json"}
        for name, headline in (("style_transfer", {"final_loss": 2.0, "train_seconds": 3.27}),
                               ("word2vec", {"wordsim353_spearman": 0.3}))
    }
    cli.write_json(tmp_path / "summary.json", summary)
    cli.write_json(tmp_path / "metrics.json", {"total_seconds": 21.0})
    return tmp_path


def figures_of(page):
    parser = _Figures()
    parser.feed(page)
    return {figure["img"]["src"]: figure for figure in parser.figures}


def test_each_figure_has_a_caption_and_a_readable_layout(tour_folder):
    page = report.write_tour_page(tour_folder).read_text()
    figures = figures_of(page)
    assert figures["style_transfer/triptych.png"]["class"] == "wide"
    assert figures["word2vec/tsne.png"]["class"] == "wide"
    assert figures["style_transfer/losses.png"]["class"] == "half"
    stylized = figures["style_transfer/stylized.png"]
    assert stylized["class"] == "natural" and (stylized["img"]["width"], stylized["img"]["height"]) == ("224", "149")
    assert "224×149 px" in stylized["caption"]
    assert figures["word2vec/made_up_plot.png"]["class"] == "natural"  # unknown and small: its own size
    assert figures["word2vec/made_up_plot.png"]["caption"].startswith("Made up plot.")
    for path, figure in figures.items():  # a sentence about what to look for, the file name only after it
        assert len(figure["caption"].split()) >= 3 and not figure["caption"].startswith(path.split("/")[-1])
    assert "figure.wide { grid-column: 1 / -1; }" in page and "repeat(2, minmax(0, 1fr))" in page
    # The style-transfer section shows the triptych first, then the result, then the losses.
    assert list(figures)[:3] == ["style_transfer/triptych.png", "style_transfer/stylized.png",
                                 "style_transfer/losses.png"]


def test_the_time_line_uses_the_tables_words_and_numbers(tour_folder):
    page = report.write_tour_page(tour_folder).read_text()
    style = page[page.index('<section id="style_transfer">'):page.index('<section id="word2vec">')]
    assert '<th title="train_seconds">train seconds</th><td class="number">3.27</td>' in style
    assert "total seconds 5.5, train seconds 3.27 (9 s with process start-up)" in style
    assert "in 21 s" in page  # the tour's own total, from its metrics.json


def test_unknown_sizes_fall_back_to_full_width():
    assert report.figure_layout("x/new_picture.png") == ("wide", "New picture.")
    assert report.figure_layout("x/roc.png")[0] == "half"
    assert report.png_size(__file__) is None


def test_summary_without_folder_still_renders():
    summary = {"r": {"status": "failed", "total_seconds": 2.0, "command": "c", "description": "", "headline": {},
                     "folder": "r", "pictures": ["r/curves.png"], "metrics_file": None, "error": "boom"}}
    page = report.render_tour_page(summary, 2.0)
    assert figures_of(page)["r/curves.png"]["class"] == "wide" and "2 s with process start-up" in page
