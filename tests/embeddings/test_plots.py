"""The word-vector t-SNE: labels that never overlap, probe words first, stems explained."""

import numpy as np
import pytest
from figures import box, overlapping, saved_figures

from dlkit.embeddings import WordVectors, plots

STEMMED = ["the", "peopl", "citi", "countri", "comput", "languag", "famili", "war", "music", "film"]


def crowded_vectors(words):
    """Vectors in three tight clusters, so that many labels compete for the same spots."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    matrix = centres[np.arange(len(words)) % 3] + 0.01 * rng.normal(size=(len(words), 16))
    return WordVectors(words, matrix.astype(np.float32), counts=np.arange(len(words), 0, -1))


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    words = STEMMED + [f"word{index}" for index in range(110)]
    vectors = crowded_vectors(words)
    path = tmp_path_factory.mktemp("tsne") / "tsne.png"
    groups = ["comput"] * 60 + ["war"] * 60
    with saved_figures() as figures:
        vectors.plot_tsne(path, words=["comput", *words[:59], "war", *words[60:119]], groups=groups, title="t")
    return figures[0]


def test_no_two_labels_overlap_and_the_probes_are_labelled(picture):
    axis = picture.axes[0]
    labels = [text for text in axis.texts if text.get_text()]
    assert len(labels) >= 20, "crowded clusters still get labels"
    assert overlapping(labels) == []
    frame = box(axis)
    assert all(frame.contains(box(text).x0, box(text).y0) and frame.contains(box(text).x1, box(text).y1)
               for text in labels)
    bold = {text.get_text() for text in labels if text.get_fontweight() == "bold"}
    assert bold == {"comput", "war"}  # each group's probe word, placed first
    legend = axis.get_legend()
    assert not box(legend).overlaps(frame), "the legend sits beside the map"


def test_subtitle_counts_labels_and_explains_stems(picture):
    subtitle = picture.axes[0].get_title()
    labelled = sum(bool(text.get_text()) for text in picture.axes[0].texts)
    assert subtitle.startswith(f"{labelled} of 120 words labelled")
    assert '"comput" = computer, computing' in subtitle and '"peopl" = people' in subtitle


def test_stems_are_told_from_the_vocabulary():
    assert plots.looks_stemmed(STEMMED)
    assert not plots.looks_stemmed(["the", "people", "city", "country", "language", "comput", "citi", "peopl"])
    assert not plots.looks_stemmed([f"word{index}" for index in range(100)])
