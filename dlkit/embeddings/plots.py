"""t-SNE picture of word vectors (scikit-learn + matplotlib)."""

import pathlib

import numpy as np

from dlkit.errors import ConfigError


def plot_tsne(vectors, path, words=None, limit=200, seed=0, title="t-SNE of word vectors", groups=None):
    """Projects word vectors to 2-D with t-SNE and writes a labelled scatter plot.

    Reference: L. van der Maaten, G. Hinton, "Visualizing Data using t-SNE", JMLR 2008.

    Args:
        vectors: a ``WordVectors``.
        path: PNG file to write.
        words: words to show (default: the ``limit`` most frequent ones).
        limit: how many frequent words when ``words`` is None.
        seed: t-SNE seed.
        title: figure title.
        groups: optional group name per word of ``words`` (e.g. the probe word it
            is a neighbour of); each group gets its own colour and a legend entry.

    Returns:
        ``(path, coordinates)``: the PNG path and the [n, 2] NumPy coordinates.
    """
    import matplotlib.pyplot as plt  # the caller's backend: a notebook's inline figures keep working
    from sklearn.manifold import TSNE

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
    data = np.stack([vectors.unit_vectors[vectors.index[word]] for word in words])
    perplexity = min(30.0, (len(words) - 1) / 3.0)
    # Exact gradients are faster than Barnes-Hut below a few hundred points.
    method = "exact" if len(words) <= 300 else "barnes_hut"
    coordinates = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, metric="cosine",
                       method=method).fit_transform(data)
    figure, axis = plt.subplots(figsize=(11, 11), dpi=90)
    if groups is None:
        axis.scatter(coordinates[:, 0], coordinates[:, 1], s=8, color="#3b6ea8", alpha=0.6)
    else:
        palette = plt.get_cmap("tab10")
        for number, group in enumerate(dict.fromkeys(groups)):
            rows = [i for i, item in enumerate(groups) if item == group]
            axis.scatter(coordinates[rows, 0], coordinates[rows, 1], s=30, color=palette(number % 10),
                         alpha=0.8, label=str(group))
        axis.legend(loc="best", fontsize=9, title="neighbours of")
    for (x, y), word in zip(coordinates, words):
        axis.annotate(word, (x, y), fontsize=8, alpha=0.85, xytext=(2, 2), textcoords="offset points")
    axis.set_title(title)
    axis.set_xticks([])
    axis.set_yticks([])
    figure.tight_layout()
    path = pathlib.Path(path)
    figure.savefig(path)
    plt.close(figure)
    return path, coordinates
