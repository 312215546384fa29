"""Pictures of a style transfer: the loss terms by step, and content | style(s) | result side by side."""

import numpy as np

from dlkit.evaluation import _pyplot
from dlkit.style.image import resize, save_png


def plot_losses(log, path, title="style transfer"):
    """The weighted loss terms (``total``, ``content``, ``style``, ``tv``) of a :class:`StyleResult` log by step.

    Args:
        log: ``{term: [value per step]}``, as ``StyleResult.log``.
        path: the PNG to write.
        title: the figure title.
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for name in ("total", "content", "style", "tv"):
        values = np.asarray(log[name], dtype="float64")
        # A log axis cannot show zeros (the content loss starts at 0 from init="content").
        axis.plot(np.where(values > 0, values, np.nan), label=name)
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel("weighted loss")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_triptych(content, styles, result, path, gap=4):
    """Writes content, each style and the result side by side at the result's height (white gaps between).

    Args:
        content: the content image, ``(height, width, 3)`` in 0-255.
        styles: the style images.
        result: the stylized image.
        path: the PNG to write.
        gap: pixels between panels.
    """
    height = result.shape[0]
    panels = [resize(image, (height, round(image.shape[1] * height / image.shape[0]))) for image in (content, *styles)]
    panels.append(result)
    spacer = np.full((height, gap, 3), 255.0, "float32")
    row = [panels[0]]
    for panel in panels[1:]:
        row += [spacer, panel]
    save_png(np.concatenate(row, axis=1), path)
