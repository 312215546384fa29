"""Evaluation: classification reports, bias/variance diagnosis, and pictures.

``diagnose`` follows the bias/variance recipe of Ng, "Machine Learning
Yearning" (2018), chapters 20-28: avoidable bias = training error - human
(Bayes-proxy) error; variance = dev error - training error; fix the larger gap
first.
"""

import dataclasses

import numpy as np

from dlkit.errors import ConfigError

BIAS_ADVICE = ("train a bigger network", "train longer or with a better optimizer", "try another architecture")
VARIANCE_ADVICE = (
    "get more training data (or augment it)",
    "add regularization (L2, dropout)",
    "try another architecture",
)
#: Panels a row in :func:`plot_curves`: more would be too small to read on a page.
CURVE_COLUMNS = 3


@dataclasses.dataclass
class Diagnosis:
    """The result of :func:`diagnose`.

    Attributes:
        avoidable_bias: training error minus human error.
        variance: dev error minus training error.
        problem: ``"high bias"``, ``"high variance"``, ``"high bias and high
            variance"`` or ``"low bias and low variance"``.
        focus: ``"bias"``, ``"variance"`` or ``None``: the larger gap, to fix first.
        advice: the things to try, most useful first.
    """

    avoidable_bias: float
    variance: float
    problem: str
    focus: str
    advice: tuple

    def summary(self):
        """A short string for metrics.json, e.g. ``"high variance: get more training data ..."``."""
        return f"{self.problem}: {'; '.join(self.advice)}" if self.advice else self.problem


def diagnose(train_error, dev_error, human_error=None, tolerance=0.01):
    """Diagnoses bias and variance from error rates (fractions in [0, 1]).

    Args:
        train_error: error rate on the training set.
        dev_error: error rate on the dev set.
        human_error: human-level (proxy for Bayes) error; ``None`` means 0.
        tolerance: a gap larger than this counts as high (default one point).

    Returns:
        A :class:`Diagnosis`. For the textbook cases: train 1% / dev 11% is high
        variance; 15% / 16% high bias; 15% / 30% both; 0.5% / 1% neither.

    Raises:
        ConfigError: an error rate outside [0, 1].
    """
    human_error = 0.0 if human_error is None else human_error
    for label, value in (("train_error", train_error), ("dev_error", dev_error), ("human_error", human_error)):
        if not 0.0 <= float(value) <= 1.0:
            raise ConfigError(f"{label} must be a fraction in [0, 1]. Received: {label}={value}")
    bias = float(train_error) - float(human_error)
    variance = float(dev_error) - float(train_error)
    # Rounded so that 0.16 - 0.15 counts as exactly one point, not 1.0000000000000009.
    high_bias, high_variance = round(bias, 9) > tolerance, round(variance, 9) > tolerance
    if high_bias and high_variance:
        problem = "high bias and high variance"
    elif high_bias:
        problem = "high bias"
    elif high_variance:
        problem = "high variance"
    else:
        problem = "low bias and low variance"
    focus = None
    if high_bias or high_variance:
        focus = "bias" if bias >= variance else "variance"
    tips = {"bias": BIAS_ADVICE if high_bias else (), "variance": VARIANCE_ADVICE if high_variance else ()}
    advice = []
    for kind in ("variance", "bias") if focus == "variance" else ("bias", "variance"):
        for tip in tips[kind]:
            if tip not in advice:  # "try another architecture" fixes both; say it once
                advice.append(tip)
    return Diagnosis(round(bias, 6), round(variance, 6), problem, focus, tuple(advice))


def predict_classes(model, dataset):
    """Returns ``(y_true, y_probabilities)`` over a dataset of ``(images, labels)``."""
    labels, probabilities = [], []
    for images, batch_labels in dataset:
        probabilities.append(np.asarray(model(images, training=False)))
        labels.append(np.asarray(batch_labels))
    return np.concatenate(labels), np.concatenate(probabilities)


def classification_report(y_true, y_pred, class_names=None):
    """Accuracy, per-class precision/recall/F1 (scikit-learn) and the confusion matrix.

    Args:
        y_true: integer labels.
        y_pred: integer predictions, or class probabilities/logits (argmax taken).
        class_names: names for the classes (default: their ids).

    Returns:
        A dict: ``accuracy``, ``macro_f1``, ``per_class`` (name -> precision,
        recall, f1, support) and ``confusion_matrix`` (list of lists, rows = truth).
    """
    from sklearn import metrics

    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=1)
    n_classes = len(class_names) if class_names is not None else int(max(y_true.max(), y_pred.max())) + 1
    class_names = list(class_names) if class_names is not None else [str(i) for i in range(n_classes)]
    labels = list(range(n_classes))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(class_names, precision, recall, f1, support)
        },
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def plot_curves(history, path, title=None, phase_starts=None):
    """Saves loss and metric curves (training vs validation) per epoch as a PNG.

    One panel per quantity (loss first, at most three panels a row), whole-number epoch ticks, one legend under the
    panels (where it covers no curve). A multi-phase run (a fine-tune that unfreezes its backbone after the head's
    epochs) gets a dotted vertical mark where each later phase starts, named in the legend, so a jump in the curves
    there is explained.

    Args:
        history: ``{name: [value per epoch]}`` as in ``FitResult.history``.
        path: the PNG path.
        title: the figure title (default ``"Training curves"``).
        phase_starts: optional ``{epoch: label}``: the first epoch (counted from 1) of each later phase and what
            changed there, e.g. ``{6: "fine-tune: backbone unfrozen"}``; an epoch of 1 or less marks nothing.
    """
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    names = sorted({key.removeprefix("val_") for key in history if key not in ("learning_rate", "lr")})
    names.sort(key=lambda name: (name != "loss", name))
    columns = min(len(names), CURVE_COLUMNS)
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(max(4.5 * columns, 6), 3.4 * rows + 0.6), squeeze=False,
                                layout="constrained")
    axes = axes.ravel()
    for spare in axes[len(names):]:
        spare.set_visible(False)
    marks = {epoch: label for epoch, label in (phase_starts or {}).items() if epoch > 1}
    for axis, name in zip(axes, names):
        for key, label, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            if key in history:
                values = history[key]
                axis.plot(range(1, len(values) + 1), values, style, label=label)
        for epoch, label in sorted(marks.items()):
            axis.axvline(epoch - 0.5, color="0.35", linestyle=":", linewidth=1.5,
                         label=f"{label} (from epoch {epoch})", zorder=0)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel("epoch")
        axis.set_ylabel(name.replace("_", " "))
        axis.set_title(name.replace("_", " "))
        axis.grid(alpha=0.3)
    entries = {label: handle for axis in axes for handle, label in zip(*axis.get_legend_handles_labels())}
    figure.legend(entries.values(), entries.keys(), loc="outside lower center", ncols=min(len(entries), 3),
                  frameon=False)
    figure.suptitle(title or "Training curves")
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_confusion_matrix(matrix, class_names, path, title="Confusion matrix"):
    """Saves a confusion matrix (rows = truth, columns = prediction) as a PNG, with counts."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    size = max(4.0, 0.45 * len(class_names) + 2.0)
    figure, axis = plt.subplots(figsize=(size, size))
    image = axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    axis.set_yticks(range(len(class_names)), class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    if len(class_names) <= 30:
        for row in range(matrix.shape[0]):
            for column in range(matrix.shape[1]):
                color = "white" if matrix[row, column] > threshold else "black"
                axis.text(column, row, int(matrix[row, column]), ha="center", va="center", color=color, fontsize=8)
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _pyplot():
    # The backend is the user's choice (MPLBACKEND, %matplotlib inline): forcing Agg here would
    # silently stop a notebook's inline figures. Headless machines fall back to Agg by themselves.
    import matplotlib.pyplot as plt

    return plt
