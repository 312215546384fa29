"""The style-transfer pictures: a labelled, readable content | style | result triptych."""

import numpy as np
from figures import box, saved_figures
from PIL import Image

from dlkit.style.plots import plot_triptych


def test_triptych_panels_are_labelled_with_their_sizes_and_tall_enough(tmp_path):
    rng = np.random.default_rng(0)
    content, style, result = (rng.uniform(0, 255, shape) for shape in ((300, 451, 3), (512, 512, 3), (149, 224, 3)))
    with saved_figures() as figures:
        plot_triptych(content, [style], result, tmp_path / "triptych.png", title="cat in tissue stains")
    titles = [axis.get_title() for axis in figures[0].axes]
    assert titles == ["content (451×300 px)", "style (512×512 px)", "result (224×149 px)"]
    assert figures[0].get_suptitle() == "cat in tissue stains"
    for axis in figures[0].axes:  # each panel keeps its image's aspect and is drawn at least 400 px tall
        frame, image = box(axis), axis.get_images()[0].get_array()
        assert frame.height >= 400
        assert abs(frame.width / frame.height - image.shape[1] / image.shape[0]) < 0.02
    with Image.open(tmp_path / "triptych.png") as picture:
        assert picture.size[1] >= 450


def test_triptych_numbers_several_styles(tmp_path):
    images = [np.full((64, 64, 3), value, "float32") for value in (0, 80, 160, 240)]
    with saved_figures() as figures:
        plot_triptych(images[0], images[1:3], images[3], tmp_path / "triptych.png")
    assert [axis.get_title().split(" (")[0] for axis in figures[0].axes] == ["content", "style 1", "style 2", "result"]
