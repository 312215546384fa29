"""Pictures of a transfer-learning comparison: accuracy per arm, held-out accuracy by epoch, training crops."""

import numpy as np

from dlkit.evaluation import _pyplot

#: One colour per arm, in the order the arms are given.
COLORS = ("#9e9e9e", "#4c72b0", "#dd8452", "#55a868")


def plot_comparison(values, path, title, spread=None, chance=None):
    """Bar chart of accuracies, each bar labelled with its value (and its spread over repeats).

    Args:
        values: ``{arm label: accuracy in [0, 1]}``, in drawing order.
        path: the PNG to write.
        title: the figure title.
        spread: optional ``{arm label: standard deviation}`` drawn as error bars.
        chance: optional chance accuracy, drawn as a dashed line.
    """
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
    errors = [100 * spread[key] for key in values] if spread else None
    bars = axes.bar(list(values), [100 * value for value in values.values()], color=COLORS[: len(values)], width=0.6,
                    yerr=errors, capsize=6, ecolor="#333333")
    for bar, (key, value) in zip(bars, values.items()):
        label = f"{100 * value:.1f}%" + (f" ± {100 * spread[key]:.1f}" if spread else "")
        top = 100 * value + (100 * spread[key] if spread else 0) + 2
        axes.text(bar.get_x() + bar.get_width() / 2, top, label, ha="center", fontsize=10)
    if chance is not None:
        axes.axhline(100 * chance, color="#666666", linestyle="--", linewidth=1)
        axes.text(len(values) - 0.5, 100 * chance + 1.5, "chance", ha="right", color="#666666", fontsize=9)
    axes.set_ylim(0, 110)
    axes.set_ylabel("test accuracy (%)")
    axes.set_title(title, fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_learning_curves(curves, path, head_epochs, title):
    """Held-out accuracy after each epoch, one line per arm; the start of fine-tuning marked.

    The legend (the arms and the fine-tuning mark) sits under the axes, where it covers no curve.

    Args:
        curves: ``{arm label: [accuracy after epoch 1, 2, ...]}``.
        path: the PNG to write.
        head_epochs: epochs of the head phase (fine-tuning starts after them).
        title: the figure title.
    """
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.5, 4.6), dpi=100, layout="constrained")
    for (label, curve), color in zip(curves.items(), COLORS):
        axes.plot(range(1, len(curve) + 1), 100 * np.asarray(curve), marker="o", color=color, label=label, linewidth=2)
    axes.axvline(head_epochs + 0.5, color="#666666", linestyle=":", linewidth=1.5,
                 label=f"fine-tuning starts (epoch {head_epochs + 1})")
    axes.set_xlabel("epoch")
    axes.set_ylabel("held-out accuracy (%)")
    axes.set_ylim(0, 100)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, fontsize=11)
    axes.grid(alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    figure.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=9)
    figure.savefig(path)
    plt.close(figure)


def plot_crops(images, labels, class_names, path, per_class=4,
               title="Training crops (grey, random lighting), one row per photo"):
    """A grid of images: one row per class, ``per_class`` images each.

    Args:
        images: ``(N, height, width, channels)`` pixels in ``[0, 255]``.
        labels: ``(N,)`` class indices.
        class_names: the name of each class (row labels).
        path: the PNG to write.
        per_class: images per row.
        title: the figure title.
    """
    plt = _pyplot()
    figure, axes = plt.subplots(len(class_names), per_class, figsize=(1.3 * per_class + 1.6, 1.3 * len(class_names)),
                                dpi=80, squeeze=False)
    for row, name in enumerate(class_names):
        members = np.flatnonzero(labels == row)[:per_class]
        for column in range(per_class):
            axis = axes[row, column]
            axis.axis("off")
            if column < len(members):
                axis.imshow(images[members[column]].astype(np.uint8))
        axes[row, 0].text(-0.1, 0.5, name.replace("_", " "), transform=axes[row, 0].transAxes, ha="right",
                          va="center", fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
