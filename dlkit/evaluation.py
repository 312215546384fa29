"""Evaluation: classification reports, bias/variance diagnosis, error analysis, and pictures.

``diagnose`` follows the bias/variance recipe of Ng, "Machine Learning
Yearning" (2018), chapters 20-28, and the train-dev set of chapters 36-43 and of
the Deep Learning Specialization, course 3 ("Structuring Machine Learning
Projects"), week 2: avoidable bias = training error - human (Bayes-proxy)
error; variance = dev error - training error, or training-dev error - training
error when a training-dev set (held out from the training distribution) is
measured; data mismatch = dev error - training-dev error; overfitting to the dev
set = test error - dev error. Fix the largest gap first. ``error_analysis``
tallies misclassified dev examples by category (same sources, chapters 14-19;
course 3, week 2, "Carrying out error analysis").
"""

import collections
import dataclasses

import numpy as np

from dlkit.errors import ConfigError

BIAS_ADVICE = ("train a bigger network", "train longer or with a better optimizer", "try another architecture")
VARIANCE_ADVICE = (
    "get more training data (or augment it)",
    "add regularization (L2, dropout)",
    "try another architecture",
)
DATA_MISMATCH_ADVICE = (
    "carry out manual error analysis to see how the training and dev/test data differ",
    "make the training data more similar to dev/test, or collect more training data like dev/test",
    "synthesize such data artificially (beware: a small synthesized subset, e.g. one noise clip, can be overfit)",
)
DEV_OVERFITTING_ADVICE = ("get a bigger dev set (the dev set has been overfit by tuning on it)",)
#: The gaps :func:`diagnose` weighs, the attribute each is kept in, and the advice for each: ties go to the first.
GAPS = (
    ("bias", "avoidable_bias", BIAS_ADVICE),
    ("variance", "variance", VARIANCE_ADVICE),
    ("data mismatch", "data_mismatch", DATA_MISMATCH_ADVICE),
    ("dev overfitting", "dev_overfitting", DEV_OVERFITTING_ADVICE),
)
#: Panels a row in :func:`plot_curves`: more would be too small to read on a page.
CURVE_COLUMNS = 3


@dataclasses.dataclass
class Diagnosis:
    """The result of :func:`diagnose`.

    Attributes:
        avoidable_bias: training error minus human error.
        variance: dev error minus training error; training-dev error minus
            training error when a training-dev error was given.
        problem: ``"high bias"``, ``"high variance"``, ``"high bias and high
            variance"`` or ``"low bias and low variance"``; with a training-dev
            or test error, the large gaps among ``"high bias"``, ``"high
            variance"``, ``"data mismatch"`` and ``"dev overfitting"`` joined
            by ``" and "`` (``"no large gap"`` when none is).
        focus: the largest gap above the tolerance, to fix first: ``"bias"``,
            ``"variance"``, ``"data mismatch"``, ``"dev overfitting"``, or ``None``.
        advice: the things to try, the largest gap's first.
        data_mismatch: dev error minus training-dev error (``None`` without a training-dev error).
        dev_overfitting: test error minus dev error (``None`` without a test error).
        errors: the error rates it was given, by level: ``human`` (``None`` when not given), ``train``,
            ``train-dev``, ``dev``, ``test`` (the last two only when given).
    """

    avoidable_bias: float
    variance: float
    problem: str
    focus: str
    advice: tuple
    data_mismatch: float = None
    dev_overfitting: float = None
    errors: dict = dataclasses.field(default_factory=dict)

    def summary(self):
        """A short string for metrics.json, e.g. ``"high variance: get more training data ..."``."""
        return f"{self.problem}: {'; '.join(self.advice)}" if self.advice else self.problem

    def table(self):
        """The notes' layout: each error level on its own line, the gap between two levels between them.

        Example::

            human level          0.0%
                                        avoidable bias   1.0%
            training error       1.0%
                                        variance         0.5%
            training-dev error   1.5%
                                        data mismatch    8.5%
            dev error           10.0%
            data mismatch: carry out manual error analysis ...
        """
        labels = {"human": "human level", "train": "training error", "train-dev": "training-dev error",
                  "dev": "dev error", "test": "test error"}
        gaps = {"train": ("avoidable bias", self.avoidable_bias), "dev": ("data mismatch", self.data_mismatch),
                "test": ("dev overfitting", self.dev_overfitting)}
        gaps["train-dev" if "train-dev" in self.errors else "dev"] = ("variance", self.variance)
        lines = []
        for level, value in self.errors.items():
            gap = gaps.get(level)
            if lines and gap is not None and gap[1] is not None:
                lines.append(f"{'':26}{gap[0]:<16}{gap[1]:6.1%}")
            shown = "not given (taken as 0)" if value is None else f"{value:6.1%}"
            lines.append(f"{labels[level]:<20}{shown}")
        lines.append(self.summary())
        return "\n".join(lines)


def diagnose(train_error, dev_error, human_error=None, tolerance=0.01, train_dev_error=None, test_error=None):
    """Diagnoses bias, variance, data mismatch and dev-set overfitting from error rates (fractions in [0, 1]).

    Without ``train_dev_error`` and ``test_error`` this is the two-gap diagnosis (avoidable bias, variance). A
    training-dev error (measured on a held-out part of the *training* distribution) separates variance
    (train-dev - train) from data mismatch (dev - train-dev): when the training data comes from another distribution
    than dev/test, dev - train mixes the two. A test error adds the dev-test gap: a test error much above the dev
    error means the dev set has been overfit (by choosing among many models on it). The largest gap above
    ``tolerance`` is the one to fix first.

    Args:
        train_error: error rate on the training set.
        dev_error: error rate on the dev set.
        human_error: human-level (proxy for Bayes) error; ``None`` means 0.
        tolerance: a gap larger than this counts as high (default one point).
        train_dev_error: error rate on the training-dev set (optional).
        test_error: error rate on the test set (optional).

    Returns:
        A :class:`Diagnosis`. For the textbook cases: train 1% / dev 11% is high
        variance; 15% / 16% high bias; 15% / 30% both; 0.5% / 1% neither. With a
        training-dev set (human 0%): train 1% / train-dev 9% / dev 10% is
        variance; 1% / 1.5% / 10% data mismatch; 10% / 11% / 12% avoidable
        bias; 10% / 11% / 20% bias and data mismatch.

    Raises:
        ConfigError: an error rate outside [0, 1].
    """
    given = {"human_error": human_error, "train_error": train_error, "train_dev_error": train_dev_error,
             "dev_error": dev_error, "test_error": test_error}
    for label, value in given.items():
        if value is not None and not 0.0 <= float(value) <= 1.0:
            raise ConfigError(f"{label} must be a fraction in [0, 1]. Received: {label}={value}")
    errors = {"human": None if human_error is None else float(human_error), "train": float(train_error)}
    if train_dev_error is not None:
        errors["train-dev"] = float(train_dev_error)
    errors["dev"] = float(dev_error)
    if test_error is not None:
        errors["test"] = float(test_error)
    human_error = 0.0 if human_error is None else human_error
    bias = float(train_error) - float(human_error)
    variance = errors.get("train-dev", float(dev_error)) - float(train_error)
    gaps = {"bias": bias, "variance": variance}
    if train_dev_error is not None:
        gaps["data mismatch"] = float(dev_error) - float(train_dev_error)
    if test_error is not None:
        gaps["dev overfitting"] = float(test_error) - float(dev_error)
    # Rounded so that 0.16 - 0.15 counts as exactly one point, not 1.0000000000000009.
    high = {kind: round(gap, 9) > tolerance for kind, gap in gaps.items()}
    if len(gaps) == 2:
        if high["bias"] and high["variance"]:
            problem = "high bias and high variance"
        elif high["bias"]:
            problem = "high bias"
        elif high["variance"]:
            problem = "high variance"
        else:
            problem = "low bias and low variance"
    else:
        names = {"bias": "high bias", "variance": "high variance"}
        problem = " and ".join(names.get(kind, kind) for kind in gaps if high[kind]) or "no large gap"
    order = sorted((kind for kind in gaps if high[kind]), key=lambda kind: -gaps[kind])  # stable: ties keep GAPS order
    focus = order[0] if order else None
    advice = []
    tips = {kind: tips for kind, _, tips in GAPS}
    for kind in order:
        for tip in tips[kind]:
            if tip not in advice:  # "try another architecture" fixes both bias and variance; say it once
                advice.append(tip)
    rounded = {kind: round(gap, 6) for kind, gap in gaps.items()}
    return Diagnosis(rounded["bias"], rounded["variance"], problem, focus, tuple(advice),
                     rounded.get("data mismatch"), rounded.get("dev overfitting"), errors)


@dataclasses.dataclass
class ErrorCategory:
    """One row of an :class:`ErrorAnalysis`.

    Attributes:
        tag: the category.
        count: how many of the examined mistakes carry it.
        share: ``count / total_errors``: the fraction of the mistakes it accounts for.
        ceiling: the most that fixing every such mistake can lower the dev error by, ``share * dev_error``
            (``None`` without a dev error).
        error_after: ``dev_error - ceiling``: the best dev error fixing this category can reach (``None`` likewise).
    """

    tag: str
    count: int
    share: float
    ceiling: float = None
    error_after: float = None


@dataclasses.dataclass
class ErrorAnalysis:
    """What :func:`error_analysis` returns.

    Attributes:
        rows: one :class:`ErrorCategory` per tag, most frequent first (ties by name).
        total_errors: the number of mistakes examined (the denominator of the shares).
        dev_error: the dev error the ceilings are computed from, or ``None``.
        untagged: examined mistakes that carry no tag.
    """

    rows: list
    total_errors: int
    dev_error: float = None
    untagged: int = 0

    def table(self):
        """A text table, the notes' spreadsheet totals: count, % of mistakes and, with a dev error, the ceiling."""
        width = max(len("category"), *(len(row.tag) for row in self.rows)) if self.rows else len("category")
        header = f"{'category':<{width}}  {'mistakes':>8}  {'share':>6}"
        if self.dev_error is not None:
            header += f"  {'ceiling':>8}  {'dev error at best':>17}"
        lines = [header]
        for row in self.rows:
            line = f"{row.tag:<{width}}  {row.count:>8}  {row.share:6.1%}"
            if self.dev_error is not None:
                line += f"  {row.ceiling:8.2%}  {f'{self.dev_error:.2%} -> {row.error_after:.2%}':>17}"
            lines.append(line)
        footer = f"{self.total_errors} mistakes examined"
        if self.untagged:
            footer += f", {self.untagged} without a tag"
        lines.append(footer + "; a mistake can carry several tags, so shares may sum past 100%")
        return "\n".join(lines)


def error_analysis(tags, total_errors=None, dev_error=None):
    """Tallies examined dev-set mistakes by category, with the ceiling on what fixing each category can buy.

    Look at (say) 100 misclassified dev examples, tag each with what went wrong (several tags when several apply),
    then count: if 5 of 100 mistakes are dogs taken for cats and the dev error is 10%, a perfect fix for dogs lowers
    the dev error to 9.5% at best, while a category behind 50 of the mistakes could halve it. Reference: Ng,
    "Machine Learning Yearning" (2018), chapters 14-19; Deep Learning Specialization, course 3, week 2, "Carrying
    out error analysis".

    Args:
        tags: one entry per examined mistake: a tag (string) or a collection of tags (list, tuple, set); an empty
            collection is a mistake with no tag.
        total_errors: how many mistakes were examined, when ``tags`` lists only some of them (the tagged ones);
            default ``len(tags)``.
        dev_error: the dev error rate (a fraction); when given, each row gets its ceiling ``share * dev_error``.

    Returns:
        An :class:`ErrorAnalysis` (``.rows`` most frequent first, ``.table()``).

    Raises:
        ConfigError: ``total_errors`` smaller than the number of entries in ``tags`` (or < 1), a ``dev_error``
            outside [0, 1], or an entry that is neither a string nor a collection of strings.
    """
    tags = list(tags)
    total = len(tags) if total_errors is None else total_errors
    if isinstance(total, bool) or int(total) != total or total < max(len(tags), 1):
        raise ConfigError(f"total_errors must be a whole number >= the {len(tags)} tagged mistakes (and >= 1). "
                          f"Received: total_errors={total_errors}")
    if dev_error is not None and not 0.0 <= float(dev_error) <= 1.0:
        raise ConfigError(f"dev_error must be a fraction in [0, 1]. Received: dev_error={dev_error}")
    counts = collections.Counter()
    untagged = 0
    for entry in tags:
        entry = (entry,) if isinstance(entry, str) else entry
        if not isinstance(entry, (list, tuple, set, frozenset)) or not all(isinstance(tag, str) for tag in entry):
            raise ConfigError("Each mistake's tags must be a string or a list/tuple/set of strings. "
                              f"Received: entry={entry!r}")
        counts.update(set(entry))  # a tag named twice on one mistake counts once
        untagged += not entry
    untagged += int(total) - len(tags)
    rows = []
    for tag, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        share = count / int(total)
        ceiling = None if dev_error is None else share * float(dev_error)
        after = None if dev_error is None else float(dev_error) - ceiling
        rows.append(ErrorCategory(tag, count, share, ceiling, after))
    return ErrorAnalysis(rows, int(total), None if dev_error is None else float(dev_error), untagged)


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
    figure, axes = panel_grid(plt, len(names), CURVE_COLUMNS, (4.5, 3.4), extra_height=0.6, min_width=6)
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


def plot_comparison(histories, path, title=None, metrics=("loss", "val_loss", "accuracy", "val_accuracy")):
    """Saves runs' curves side by side as a PNG: one panel per metric, one line per run.

    Args:
        histories: ``{run name: {metric: [value per epoch]}}`` (``FitResult.history`` of each run).
        path: the PNG path.
        title: the figure title.
        metrics: the history keys to draw, one panel each (missing ones are skipped).
    """
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    shown = [name for name in metrics if any(name in history for history in histories.values())]
    figure, axes = panel_grid(plt, len(shown), 2, (6.0, 3.6))
    for axis, name in zip(axes, shown):
        for index, (label, history) in enumerate(histories.items()):
            if name in history:
                values = history[name]
                axis.plot(range(1, len(values) + 1), values, label=label, color=f"C{index % 10}",
                          linestyle="-" if index < 10 else "--")
        if name.endswith("loss"):
            axis.set_yscale("log")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel("epoch")
        axis.set_title(name.replace("val_", "dev ").replace("_", " "))
        axis.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), frameon=False)
    figure.suptitle(title or "Runs compared")
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


def panel_grid(plt, count, columns, panel_size, extra_height=0.8, min_width=0):
    """A figure of ``count`` panels, at most ``columns`` a row, the spare cells hidden; returns ``(figure, axes)``.

    Args:
        plt: ``matplotlib.pyplot``.
        count: panels wanted.
        columns: the most panels a row.
        panel_size: ``(width, height)`` of a panel in inches.
        extra_height: inches added for the title and the legend below.
        min_width: the figure's smallest width in inches.
    """
    columns = max(1, min(count, columns))
    rows = -(-max(count, 1) // columns)
    figure, axes = plt.subplots(rows, columns, squeeze=False, layout="constrained",
                                figsize=(max(panel_size[0] * columns, min_width), panel_size[1] * rows + extra_height))
    axes = axes.ravel()
    for spare in axes[count:]:
        spare.set_visible(False)
    return figure, axes[:count] if count else axes


def _pyplot():
    # The backend is the user's choice (MPLBACKEND, %matplotlib inline): forcing Agg here would
    # silently stop a notebook's inline figures. Headless machines fall back to Agg by themselves.
    import matplotlib.pyplot as plt

    return plt
