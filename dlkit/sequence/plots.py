"""Pictures of sequence models: bits per character, per-character surprise, mistakes, tagged sentences."""

import numpy as np
from keras import ops

from dlkit.evaluation import _pyplot


def plot_bits_per_character(path, model_bpc, compressors, corpus, characters):
    """A bar chart: held-out bits per character of the model and of each compressor."""
    plt = _pyplot()
    labels = ["this model", "bzip2 -9", "xz -9e", "gzip -9"]
    values = [model_bpc, compressors["bzip2"], compressors["xz"], compressors["gzip"]]
    figure, axis = plt.subplots(figsize=(6, 3.4))
    bars = axis.barh(labels[::-1], values[::-1], color=["0.7", "0.7", "0.7", "tab:blue"])
    for bar, value in zip(bars, values[::-1]):
        axis.text(value + 0.03, bar.get_y() + bar.get_height() / 2, f"{value:.2f}", va="center")
    axis.set_xlabel("bits per character (lower is better)")
    axis.set_xlim(0, max(values) * 1.18)
    axis.set_title(f"Held-out {corpus} text, {characters:,} characters")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_surprise(path, model, vocabulary, text, per_line=80):
    """``text`` with each character shaded by the model's surprise, ``-log2 p(character | text before it)``."""
    ids = vocabulary.encode(text)
    probabilities = np.asarray(ops.convert_to_numpy(model(ids[None, :-1], training=False)))[0]
    bits = -np.log2(np.maximum(probabilities[np.arange(len(ids) - 1), ids[1:]], 1e-12))
    plt = _pyplot()
    rows = (len(text) - 1 + per_line - 1) // per_line
    figure, axis = plt.subplots(figsize=(per_line * 0.13, 0.32 * rows + 0.9))
    colors = plt.get_cmap("Reds")
    for index, (char, surprise) in enumerate(zip(text[1:], bits)):
        row, column = divmod(index, per_line)
        axis.add_patch(plt.Rectangle((column, -row - 1), 1, 1, color=colors(min(surprise / 8.0, 1.0))))
        axis.text(column + 0.5, -row - 0.5, "\u21b5" if char == "\n" else char, ha="center", va="center",
                  family="monospace", fontsize=8)
    axis.set_xlim(0, per_line)
    axis.set_ylim(-rows, 0)
    axis.axis("off")
    axis.set_title(f"Surprise per character, -log2 p (white 0 bits, dark red 8+ bits); mean {bits.mean():.2f} "
                   f"bits on this passage", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_mistakes(items, labels, probabilities, class_names, path, rows=24, what="names"):
    """A table of misclassified test items: the truth, the guess and its probability, the truth's probability.

    Args:
        items: the texts, one per row of ``probabilities``.
        labels: their true class ids.
        probabilities: ``(len(items), len(class_names))`` predicted probabilities.
        class_names: the class names, by id.
        path: the PNG to write.
        rows: the most confident mistakes shown.
        what: what the items are, for the title.
    """
    plt = _pyplot()

    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    # The most confident mistakes first: the ones a person would most want to see.
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:rows]
    cells = [[items[i], class_names[labels[i]], class_names[predicted[i]], f"{probabilities[i, predicted[i]]:.2f}",
              f"{probabilities[i, labels[i]]:.2f}"] for i in wrong]
    figure, axis = plt.subplots(figsize=(7.5, 0.28 * (len(cells) + 2) + 0.6))
    axis.axis("off")
    if cells:
        table = axis.table(cellText=cells, colLabels=["text", "true", "predicted", "p(predicted)", "p(true)"],
                           loc="upper center", cellLoc="left", colLoc="left")
        table.auto_set_font_size(False)
        table.set_fontsize(9)
        table.scale(1.0, 1.25)
        for (row, column), cell in table.get_celld().items():
            if row == 0:
                cell.set_text_props(weight="bold")
            elif column == 2:
                cell.set_text_props(color="#c0392b")
    axis.set_title(f"The {len(cells)} most confident mistakes on test {what} "
                   f"({len(np.flatnonzero(predicted != labels))} of {len(labels)} wrong)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_tagged_sentences(sentences, truth, predictions, path, count=8, width=105):
    """Test sentences as each tagger tagged them: names found in green, missed in red, wrong tags in red boxes.

    Args:
        sentences: token lists.
        truth: per sentence, the true tag ids (0 = no name).
        predictions: ``{"unidirectional"|"bidirectional": {"test": [tag ids per sentence]}}``.
        path: the PNG to write.
        count: sentences shown (those where the two taggers disagree).
        width: characters per wrapped line.
    """
    plt = _pyplot()

    # Sentences where the two taggers disagree show the difference; short ones fit the picture.
    order = [index for index in range(len(sentences)) if truth[index].any() and len(sentences[index]) <= 40
             and not np.array_equal(predictions["unidirectional"]["test"][index],
                                    predictions["bidirectional"]["test"][index])][:count]
    lines = []  # (label, [(token, style)]) per wrapped line
    for index in order:
        for direction in ("unidirectional", "bidirectional"):
            guess = predictions[direction]["test"][index]
            tokens = []
            for token, true_tag, tag in zip(sentences[index], truth[index], guess):
                style = ("found" if true_tag and tag else "missed" if true_tag else "wrong" if tag else "plain")
                tokens.append((token, style))
            line, length, label = [], 0, direction[:3] + "."
            for token, style in tokens:
                if length + len(token) + 1 > width and line:
                    lines.append((label, line))
                    line, length, label = [], 0, ""
                line.append((token, style))
                length += len(token) + 1
            lines.append((label, line))
        lines.append(("", []))
    height = 0.26 * max(len(lines), 1) + 0.9
    figure = plt.figure(figsize=(11, height))
    renderer = figure.canvas.get_renderer()
    colors = {"found": ("#1e8449", "#d5f5e3"), "missed": ("#c0392b", None), "wrong": ("#c0392b", "#fadbd8"),
              "plain": ("black", None)}
    y = 1.0 - 0.45 / height
    for label, line in lines:
        figure.text(0.01, y, label, fontsize=8, family="monospace", color="grey", va="top")
        x = 0.06
        for token, style in line:
            color, background = colors[style]
            text = figure.text(x, y, token, fontsize=9, va="top", color=color,
                               weight="bold" if style in ("found", "missed") else "normal",
                               bbox={"facecolor": background, "edgecolor": "none", "pad": 1} if background else None)
            x += (text.get_window_extent(renderer).width + 4) / figure.bbox.width
        y -= 0.26 / height
    figure.suptitle("Test sentences (unseen names): green = name found, red bold = name missed, "
                    "red box = wrongly tagged PER", fontsize=9, y=1.0 - 0.1 / height)
    figure.savefig(path, dpi=110)
    plt.close(figure)
