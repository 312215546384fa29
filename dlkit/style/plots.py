"""Pictures of a style transfer: the loss terms by step, and content | style(s) | result side by side."""

import io

import numpy as np

from dlkit.evaluation import _pyplot


def plot_losses(log, path, title="style transfer"):
    """The weighted loss terms (``total``, ``content``, ``style``, ``tv``) of a :class:`StyleResult` log by step.

    Args:
        log: ``{term: [value per step]}``, as ``StyleResult.log``.
        path: the PNG to write.
        title: the figure title.
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 3.5), layout="constrained")
    for name in ("total", "content", "style", "tv"):
        values = np.asarray(log[name], dtype="float64")
        # A log axis cannot show zeros (the content loss starts at 0 from init="content").
        axis.plot(np.where(values > 0, values, np.nan), label=name)
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel("weighted loss")
    axis.set_title(title)
    axis.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)  # beside the curves, never on them
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_triptych(content, styles, result, path, title="Style transfer: the content drawn with the style's textures",
                  panel_height=4.2):
    """Writes content, each style and the result side by side, each panel labelled with its role and source size.

    Every panel is drawn ``panel_height`` inches tall at 100 dpi (about 420 px; small images are scaled up
    bilinearly, their true size is in the label), keeping its aspect ratio. The PNG holds 256 colours, dithered.

    Args:
        content: the content image, ``(height, width, 3)`` in 0-255.
        styles: the style images.
        result: the stylized image.
        path: the PNG to write.
        title: the figure title.
        panel_height: the height of each panel in inches.
    """
    plt = _pyplot()
    names = ["style"] if len(styles) == 1 else [f"style {number}" for number in range(1, len(styles) + 1)]
    panels = [("content", content), *zip(names, styles), ("result", result)]
    aspects = [image.shape[1] / image.shape[0] for _, image in panels]
    figure, axes = plt.subplots(1, len(panels), figsize=(panel_height * sum(aspects) + 0.3 * len(panels),
                                                         panel_height + 0.8),
                                dpi=100, width_ratios=aspects, squeeze=False, layout="constrained")
    for axis, (name, image) in zip(axes[0], panels):
        axis.imshow(np.clip(np.asarray(image) / 255.0, 0, 1), interpolation="bilinear")
        axis.set_title(f"{name} ({image.shape[1]}×{image.shape[0]} px)", fontsize=15)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(title, fontsize=16)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    _save_small(buffer, path)


def _save_small(png, path):
    """Writes a PNG of photos in 256 colours (dithered): about a third of the bytes, hardly different to the eye."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG)
    small.save(path, optimize=True)
