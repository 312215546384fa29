"""t-SNE picture of word vectors (scikit-learn + matplotlib), with labels that never overlap."""

import pathlib

import numpy as np

from dlkit.errors import ConfigError

#: Porter stems of common words, with the words they stand for. A vocabulary holding several of them (and not the
#: words themselves) is stemmed, as gensim's ``head500`` text8 sample is; the picture then says so.
STEMS = {
    "comput": "computer, computing", "languag": "language", "citi": "city", "countri": "country",
    "famili": "family", "peopl": "people", "compani": "company", "univers": "university, universe",
    "polit": "political, politics", "includ": "include, including",
}
#: Where a label may sit around its point, in points (right, left, above, below, then the diagonals).
OFFSETS = ((4, 0), (-4, 0), (0, 4), (0, -4), (4, 4), (-4, 4), (4, -4), (-4, -4))
#: How each offset aligns the text, so that it grows away from its point.
ALIGN = {-1: "right", 0: "center", 1: "left"}
VALIGN = {-1: "top", 0: "center", 1: "bottom"}


def plot_tsne(vectors, path, words=None, limit=200, seed=0, title="t-SNE of word vectors", groups=None,
              stemmed=None):
    """Projects word vectors to 2-D with t-SNE and writes a labelled scatter plot.

    Labels are placed greedily (probe words first, then in the order given) at the first spot around their point
    where they overlap no other label; a label with no free spot is left out and the subtitle counts them.

    Reference: L. van der Maaten, G. Hinton, "Visualizing Data using t-SNE", JMLR 2008.

    Args:
        vectors: a ``WordVectors``.
        path: PNG file to write.
        words: words to show (default: the ``limit`` most frequent ones).
        limit: how many frequent words when ``words`` is None.
        seed: t-SNE seed.
        title: figure title.
        groups: optional group name per word of ``words`` (e.g. the probe word it
            is a neighbour of); each group gets its own colour and a legend entry,
            and a word equal to its group's name is labelled in bold, first.
        stemmed: whether the vocabulary is stemmed ("comput" for computer); the subtitle then explains the
            stems shown. None: decided from the vocabulary (see :func:`looks_stemmed`).

    Returns:
        ``(path, coordinates)``: the PNG path and the [n, 2] NumPy coordinates.
    """
    import matplotlib.pyplot as plt  # the caller's backend: a notebook's inline figures keep working

    words, groups = _known_words(vectors, words, groups, limit)
    coordinates = _tsne(np.stack([vectors.unit_vectors[vectors.index[word]] for word in words]), seed)
    figure, axis = plt.subplots(figsize=(12, 10), dpi=90)
    figure.subplots_adjust(left=0.02, right=0.8 if groups else 0.98, top=0.9, bottom=0.02)
    if groups is None:
        axis.scatter(coordinates[:, 0], coordinates[:, 1], s=8, color="#3b6ea8", alpha=0.6)
        bold = set()
    else:
        palette = plt.get_cmap("tab10")
        for number, group in enumerate(dict.fromkeys(groups)):
            rows = [i for i, item in enumerate(groups) if item == group]
            axis.scatter(coordinates[rows, 0], coordinates[rows, 1], s=30, color=palette(number % 10),
                         alpha=0.8, label=str(group))
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=10, title="neighbours of", frameon=False)
        bold = {word for word, group in zip(words, groups) if word == group}
    _pad_limits(axis, coordinates)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_xlabel("t-SNE dimension 1 (cosine distances; only nearness matters)")
    axis.set_ylabel("t-SNE dimension 2")
    order = sorted(range(len(words)), key=lambda row: words[row] not in bold)  # probes first, then as given
    placed = place_labels(axis, coordinates[order], [words[row] for row in order],
                          weights=["bold" if words[row] in bold else "normal" for row in order])
    figure.suptitle(title, fontsize=13)
    axis.set_title(_subtitle(words, len(placed), vectors, stemmed), fontsize=9, color="0.3")
    path = pathlib.Path(path)
    figure.savefig(path)
    plt.close(figure)
    return path, coordinates


def place_labels(axis, points, labels, fontsize=8, weights=None):
    """Labels points without overlaps: each label takes the first free spot around its point, or is left out.

    The axes' position and limits must be final (a later layout change moves the points, not the text sizes).

    Args:
        axis: the Matplotlib axes the points are drawn in (data coordinates).
        points: ``(n, 2)`` positions, in the order labels are placed (most important first).
        labels: the text of each point.
        fontsize: font size in points.
        weights: optional font weight of each label (``"bold"``, ``"normal"``).

    Returns:
        The placed ``Text`` artists (labels with no free spot are not drawn).
    """
    renderer = axis.figure.canvas.get_renderer()
    frame = axis.get_window_extent(renderer)
    placed, boxes = [], []
    for index, (point, label) in enumerate(zip(points, labels)):
        for dx, dy in OFFSETS:
            text = axis.annotate(label, point, xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                                 ha=ALIGN[np.sign(dx)], va=VALIGN[np.sign(dy)],
                                 weight=weights[index] if weights else "normal", zorder=3,
                                 bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none",
                                       "alpha": 0.7})
            extent = text.get_window_extent(renderer)
            if frame.contains(extent.x0, extent.y0) and frame.contains(extent.x1, extent.y1) and not any(
                    extent.overlaps(other) for other in boxes):
                placed.append(text)
                boxes.append(extent)
                break
            text.remove()
    return placed


def looks_stemmed(words):
    """True when several common words appear only as their Porter stems ("peopl", "citi", "languag")."""
    vocabulary = set(words)
    stems = sum(stem in vocabulary for stem in STEMS)
    return stems >= 3 and stems > sum(word in vocabulary for word in ("people", "city", "country", "language"))


def _known_words(vectors, words, groups, limit):
    """The words to show (those in the vocabulary) and their groups (None when no group is named)."""
    if words is None:
        words, groups = list(vectors.words[:limit]), None
    else:
        groups = [None] * len(words) if groups is None else list(groups)
        if len(groups) != len(words):
            raise ConfigError(f"groups must have one entry per word. Received: {len(groups)} for {len(words)} words")
        known = [(word, group) for word, group in zip(words, groups) if word in vectors]
        words = [word for word, _ in known]
        groups = None if all(group is None for _, group in known) else [group for _, group in known]
    if len(words) < 5:
        raise ConfigError(f"plot_tsne needs at least 5 known words. Received: {len(words)} words")
    return words, groups


def _tsne(data, seed):
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(data) - 1) / 3.0)
    # Exact gradients are faster than Barnes-Hut below a few hundred points.
    method = "exact" if len(data) <= 300 else "barnes_hut"
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, metric="cosine",
                method=method).fit_transform(data)


def _pad_limits(axis, coordinates, margin=0.08):
    """Fixes the limits with room around the points for their labels."""
    low, high = coordinates.min(axis=0), coordinates.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-6)
    axis.set_xlim(low[0] - pad[0], high[0] + pad[0])
    axis.set_ylim(low[1] - pad[1], high[1] + pad[1])


def _subtitle(words, labelled, vectors, stemmed):
    """How many words are labelled and, for a stemmed vocabulary, what the stems shown stand for."""
    parts = [f"{labelled} of {len(words)} words labelled (a label that would overlap another is left out)"]
    if stemmed is None:
        stemmed = looks_stemmed(vectors.words)
    if stemmed:
        shown = [stem for stem in words if stem in STEMS][:3] or ["comput", "languag"]
        parts.append("words are stemmed as the corpus stores them: "
                     + "; ".join(f'"{stem}" = {STEMS[stem]}' for stem in shown))
    return "\n".join(parts)
