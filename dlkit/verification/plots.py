"""Pictures of a verification run: ROC curves, a t-SNE map of embeddings, the hardest mistakes."""

# No matplotlib.use() here: the backend is the caller's (a notebook's inline figures must keep working).
import matplotlib.pyplot as plt
import numpy as np
from sklearn import metrics as sk_metrics


def plot_roc(curves, path, title="Verification ROC on unseen identities"):
    """Plots one ROC curve per entry, false-accept rate on a log axis.

    Args:
        curves: dict ``label -> (distances, same)``.
        path: PNG path.
    """
    figure, axis = plt.subplots(figsize=(5.5, 4.5), dpi=110)
    for label, (distances, same) in curves.items():
        false_positive, true_positive, _ = sk_metrics.roc_curve(same, -np.asarray(distances))
        auc = sk_metrics.auc(false_positive, true_positive)
        axis.plot(np.maximum(false_positive, 1e-4), true_positive, linewidth=2, label=f"{label} (AUC {auc:.3f})")
    axis.plot([1e-4, 1], [1e-4, 1], color="0.6", linestyle=":", label="chance")
    axis.set_xscale("log")
    axis.set_xlim(1e-4, 1)
    axis.set_ylim(0, 1.01)
    axis.set_xlabel("false accept rate (different pairs accepted)")
    axis.set_ylabel("true accept rate (same pairs accepted)")
    axis.set_title(title, fontsize=10)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def plot_tsne(embeddings, labels, names, path, seed=0, max_points=600, title="t-SNE of embeddings, unseen identities"):
    """2-D t-SNE (scikit-learn) of embeddings, colored by identity.

    Args:
        embeddings: ``(n, dim)`` array.
        labels: identity id of each row.
        names: ``names[id]`` is shown in the legend.
        path: PNG path.
        seed: t-SNE and subsampling seed.
        max_points: rows kept (a seeded sample) so the map stays quick.
    """
    from sklearn.manifold import TSNE

    embeddings, labels = np.asarray(embeddings), np.asarray(labels)
    if len(labels) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(labels), max_points, replace=False))
        embeddings, labels = embeddings[keep], labels[keep]
    points = TSNE(2, perplexity=min(30.0, (len(labels) - 1) / 3.0), init="pca", random_state=seed).fit_transform(
        embeddings
    )
    figure, axis = plt.subplots(figsize=(5.5, 5), dpi=110)
    identities = np.unique(labels)
    colors = plt.get_cmap("tab10" if len(identities) <= 10 else "tab20")
    for index, identity in enumerate(identities):
        rows = labels == identity
        axis.scatter(*points[rows].T, s=10, color=colors(index % colors.N), label=str(names[identity]))
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(title, fontsize=10)
    if len(identities) <= 20:
        axis.legend(fontsize=8, markerscale=2, loc="best")
    else:  # colors repeat: name each identity at the middle of its points instead
        for identity in identities:
            x, y = np.median(points[labels == identity], axis=0)
            axis.annotate(str(names[identity]), (x, y), fontsize=8, ha="center", va="center", weight="bold")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def plot_pairs(images, first, second, distances, same, threshold, path, count=6):
    """The hardest mistakes: false rejects with the largest and false accepts with the smallest distance.

    Args:
        images: the images the pair indices point into, ``(n, h, w, c)`` in ``[0, 1]``.
        first, second: index arrays of the pairs.
        distances: distance of each pair.
        same: True where the pair is one identity.
        threshold: the accept threshold.
        path: PNG path.
        count: pairs shown per kind of mistake.
    """
    distances, same = np.asarray(distances), np.asarray(same, bool)
    accepted = distances <= threshold
    false_reject = np.flatnonzero(same & ~accepted)
    false_accept = np.flatnonzero(~same & accepted)
    rows = [
        ("same, rejected", false_reject[np.argsort(-distances[false_reject])][:count]),
        ("different, accepted", false_accept[np.argsort(distances[false_accept])][:count]),
    ]
    figure, axes = plt.subplots(2, count, figsize=(1.6 * count, 3.3), dpi=110, squeeze=False)
    for row, (kind, picks) in enumerate(rows):
        for column in range(count):
            axis = axes[row, column]
            axis.axis("off")
            if column >= len(picks):
                if column == 0:
                    axis.text(0.5, 0.5, f"no {kind} pair", ha="center", va="center", fontsize=8)
                continue
            pair = picks[column]
            side_by_side = np.concatenate([images[first[pair]], images[second[pair]]], axis=1)
            cmap = "gray_r" if side_by_side.shape[-1] == 1 else None
            axis.imshow(np.clip(side_by_side.squeeze(-1) if cmap else side_by_side, 0, 1), cmap=cmap)
            axis.set_title(f"{kind}\nd={distances[pair]:.2f}", fontsize=7)
    figure.suptitle(f"Hardest mistakes at threshold {threshold:.2f}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
