"""Looking inside the pictures the plot functions write: the figures they saved, and where their texts landed.

A plot function builds a Matplotlib figure, saves it and closes it. :func:`saved_figures` keeps every figure saved
inside its ``with`` block, so a test can read titles, labels, lines and legends, and measure boxes in pixels
with the figure's own renderer (:func:`box`, :func:`overlapping`).
"""

import contextlib
import itertools
from unittest import mock

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


@contextlib.contextmanager
def saved_figures():
    """Yields a list that fills with every Matplotlib figure saved inside the block (in saving order)."""
    figures = []
    save = Figure.savefig

    def keep(figure, *args, **kwargs):
        figures.append(figure)
        return save(figure, *args, **kwargs)

    with mock.patch.object(Figure, "savefig", keep):
        yield figures


def box(artist):
    """The artist's box in display pixels, as drawn in its figure (a closed figure is drawn again, on Agg)."""
    figure = artist.get_figure(root=True)
    if not hasattr(figure.canvas, "get_renderer"):  # plt.close() left a bare canvas
        FigureCanvasAgg(figure).draw()
    return artist.get_window_extent(figure.canvas.get_renderer())


def overlapping(artists):
    """The pairs of artists (texts, legends, axes) whose drawn boxes overlap."""
    boxes = [(artist, box(artist)) for artist in artists]
    return [(one, other) for (one, a), (other, b) in itertools.combinations(boxes, 2) if a.overlaps(b)]


def texts(figure):
    """Every non-empty text of the figure: titles, axis labels, annotations, legend entries, tick labels."""
    return [text.get_text() for text in figure.findobj(match=lambda artist: hasattr(artist, "get_text"))
            if text.get_text()]
