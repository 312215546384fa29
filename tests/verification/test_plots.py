"""The verification pictures: the ROC's chance curve on its log axis, the named and explained mistakes."""

import numpy as np
from figures import box, saved_figures, texts
from PIL import Image

from dlkit.verification import plots


def scores(seed=0, pairs=400):
    """Distances of ``pairs`` pairs, half of them same, the same ones nearer on average."""
    rng = np.random.default_rng(seed)
    same = np.arange(pairs) % 2 == 0
    return rng.normal(np.where(same, 0.6, 1.0), 0.25), same


def test_roc_chance_is_the_curve_tar_equals_far_on_the_log_axis(tmp_path):
    with saved_figures() as figures:
        plots.plot_roc({"triplet": scores()}, tmp_path / "roc.png")
    axis = figures[0].axes[0]
    chance = next(line for line in axis.get_lines() if line.get_label().startswith("chance"))
    far, tar = chance.get_data()
    assert axis.get_xscale() == "log" and len(far) > 50
    np.testing.assert_allclose(tar, far)
    # At FAR 1e-2 chance accepts 1% of same pairs (the straight line from (1e-4, 0) to (1, 1) said 50%).
    assert np.interp(-2, np.log10(far), tar) < 0.011
    assert axis.get_title() and axis.get_xlabel() and axis.get_ylabel()
    legend = figures[0].legends[0]
    assert not box(legend).overlaps(box(axis)), "the legend sits outside the axes"
    assert {text.get_text().split(" (")[0] for text in legend.get_texts()} == {"triplet", "chance"}


def test_pairs_name_the_identities_and_say_why_each_is_a_mistake(tmp_path):
    images = np.random.default_rng(2).random((20, 8, 8, 1))
    labels = np.arange(20) // 2  # images 2k and 2k + 1 show person k
    first = np.arange(20)
    second = np.concatenate([np.arange(10) ^ 1, (np.arange(10, 20) + 4) % 20])  # 10 same pairs, 10 different
    same = labels[first] == labels[second]
    distances = np.linspace(0.2, 1.4, 20)[::-1]  # the same pairs the farthest, the different ones the nearest
    names = [f"Person_{index}" for index in range(10)]
    with saved_figures() as figures:
        plots.plot_pairs(images, first, second, distances, same, 0.8, tmp_path / "pairs.png", count=4,
                         labels=labels, names=names)
    captions = [axis.get_xlabel() for axis in figures[0].findobj(lambda artist: hasattr(artist, "get_xlabel"))
                if axis.get_xlabel()]
    rejected = [caption for caption in captions if caption.endswith("rejected")]
    accepted = [caption for caption in captions if caption.endswith("accepted")]
    assert rejected and accepted
    assert all(caption.startswith("same: Person ") and "> t=0.80" in caption for caption in rejected)
    assert all(" vs Person " in caption and "≤ t=0.80" in caption for caption in accepted)
    assert any("hardest mistakes" in text for text in texts(figures[0]))
    with Image.open(tmp_path / "pairs.png") as image:
        assert image.size[0] >= 800 and image.size[1] >= 450
