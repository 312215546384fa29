"""Pictures of a verification run: ROC curves, a t-SNE map of embeddings, the hardest mistakes."""

# No matplotlib.use() here: the backend is the caller's (a notebook's inline figures must keep working).
import matplotlib.pyplot as plt
import numpy as np
from sklearn import metrics as sk_metrics

#: The smallest false-accept rate the ROC's log axis shows (a rate of 0 is drawn there).
MIN_FAR = 1e-4


def plot_roc(curves, path, title="Verification ROC on unseen identities"):
    """Plots one ROC curve per entry, false-accept rate on a log axis, with the chance curve TAR = FAR.

    On a log x axis chance is not a straight line: it is drawn as the curve y = x over a log-spaced grid of
    false-accept rates, so it reads 0.01 at FAR 0.01. The legend sits under the axes, where it covers no curve.

    Args:
        curves: dict ``label -> (distances, same)``.
        path: PNG path.
        title: the figure title.
    """
    figure, axis = plt.subplots(figsize=(6, 5), dpi=110, layout="constrained")
    for label, (distances, same) in curves.items():
        false_positive, true_positive, _ = sk_metrics.roc_curve(same, -np.asarray(distances))
        auc = sk_metrics.auc(false_positive, true_positive)
        axis.plot(np.maximum(false_positive, MIN_FAR), true_positive, linewidth=2, label=f"{label} (AUC {auc:.3f})")
    chance = np.logspace(np.log10(MIN_FAR), 0, 200)
    axis.plot(chance, chance, color="0.45", linestyle=":", linewidth=1.5, label="chance (TAR = FAR)")
    axis.set_xscale("log")
    axis.set_xlim(MIN_FAR, 1)
    axis.set_ylim(0, 1.01)
    axis.set_xlabel("false accept rate (different pairs accepted), log scale")
    axis.set_ylabel("true accept rate (same pairs accepted)")
    axis.set_title(title, fontsize=11)
    axis.grid(True, which="both", alpha=0.3)
    figure.legend(loc="outside lower center", ncols=min(len(curves) + 1, 2), fontsize=8, frameon=False)
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


def plot_pairs(images, first, second, distances, same, threshold, path, count=6, labels=None, names=None):
    """The model's hardest mistakes: false rejects with the largest and false accepts with the smallest distance.

    Each pair has a caption saying who is in it and why the model got it wrong (``d=0.83 > t=0.70``, rejected),
    so a same-identity pair that was rejected reads as the model's miss, not as a labelling error.

    Args:
        images: the images the pair indices point into, ``(n, h, w, c)`` in ``[0, 1]``.
        first, second: index arrays of the pairs.
        distances: distance of each pair.
        same: True where the pair is one identity.
        threshold: the accept threshold.
        path: PNG path.
        count: pairs shown per kind of mistake.
        labels: optional identity id of each image (with ``names``, the captions name the identities).
        names: optional ``names[id]``, the name of each identity id.
    """
    distances, same = np.asarray(distances), np.asarray(same, bool)
    accepted = distances <= threshold
    false_reject = np.flatnonzero(same & ~accepted)
    false_accept = np.flatnonzero(~same & accepted)
    rows = [
        ("same identity, rejected", "Same identity, but the distance is above the threshold: the model rejected them",
         _distinct(false_reject[np.argsort(-distances[false_reject])], first, second, count)),
        ("different identities, accepted",
         "Different identities, but the distance is at or below the threshold: the model accepted them",
         _distinct(false_accept[np.argsort(distances[false_accept])], first, second, count)),
    ]
    figure = plt.figure(figsize=(1.9 * count, 4.4), dpi=110, layout="constrained")
    figure.suptitle(f"The model's hardest mistakes at threshold t={threshold:.2f} (a pair is accepted when its "
                    "distance d ≤ t)", fontsize=11)
    for subfigure, (kind, heading, picks) in zip(figure.subfigures(2, 1, hspace=0.04), rows):
        subfigure.suptitle(heading, fontsize=9, color="0.25")
        axes = subfigure.subplots(1, count, squeeze=False)[0]
        for column, axis in enumerate(axes):
            axis.set_xticks([])
            axis.set_yticks([])
            axis.spines[:].set_color("0.8")
            if column >= len(picks):
                if column == 0:
                    axis.text(0.5, 0.5, f"no {kind} pair", ha="center", va="center", fontsize=8)
                axis.spines[:].set_visible(False)
                continue
            pair = picks[column]
            _draw_pair(axis, images[first[pair]], images[second[pair]])
            who = _pair_names(same[pair], labels, names, first[pair], second[pair])
            verdict = "rejected" if distances[pair] > threshold else "accepted"
            sign = ">" if distances[pair] > threshold else "≤"
            axis.set_xlabel(f"{who}\nd={distances[pair]:.2f} {sign} t={threshold:.2f}\n{verdict}", fontsize=8.5)
    figure.savefig(path)
    plt.close(figure)
    return path


def _distinct(pairs, first, second, count):
    """The first ``count`` of ``pairs`` that show two images not shown together before (random pairs repeat)."""
    kept, seen = [], set()
    for pair in pairs:
        images = frozenset((int(first[pair]), int(second[pair])))
        if images not in seen:
            seen.add(images)
            kept.append(pair)
        if len(kept) == count:
            break
    return kept


def _draw_pair(axis, left, right):
    """The two images side by side, a white line between them."""
    side_by_side = np.concatenate([left, right], axis=1)
    cmap = "gray_r" if side_by_side.shape[-1] == 1 else None
    axis.imshow(np.clip(side_by_side.squeeze(-1) if cmap else side_by_side, 0, 1), cmap=cmap)
    axis.axvline(left.shape[1] - 0.5, color="white", linewidth=2)


def _pair_names(same, labels, names, first, second):
    """``"same: Ann"`` or ``"Ann vs Bob"``; ``"same identity"`` / ``"different identities"`` without names."""
    if labels is None or names is None:
        return "same identity" if same else "different identities"
    one, other = (_short(names[labels[index]]) for index in (first, second))
    return f"same: {one}" if same else f"{one} vs {other}"


def _short(name, width=14):
    name = str(name).replace("_", " ")
    return name if len(name) <= width else name[: width - 1] + "…"
