"""Tests of dlkit.evaluation: diagnosis, reports against scikit-learn, pictures."""

import numpy as np
import pytest
from figures import box, saved_figures
from PIL import Image
from sklearn import metrics

from dlkit import evaluation
from dlkit.errors import ConfigError


@pytest.mark.parametrize(
    "train_error, dev_error, problem, focus, first_advice",
    [
        (0.01, 0.11, "high variance", "variance", "get more training data (or augment it)"),
        (0.15, 0.16, "high bias", "bias", "train a bigger network"),
        (0.15, 0.30, "high bias and high variance", "bias", "train a bigger network"),  # a tie: bias first
        (0.005, 0.01, "low bias and low variance", None, None),
    ],
)
def test_diagnose_textbook_cases(train_error, dev_error, problem, focus, first_advice):
    diagnosis = evaluation.diagnose(train_error, dev_error)
    assert diagnosis.problem == problem
    assert diagnosis.focus == focus
    assert (diagnosis.advice[0] if diagnosis.advice else None) == first_advice
    assert diagnosis.avoidable_bias == pytest.approx(train_error)
    assert diagnosis.variance == pytest.approx(dev_error - train_error)


def test_diagnose_both_high_lists_both_kinds_of_advice_once():
    advice = evaluation.diagnose(0.15, 0.30).advice
    assert "train a bigger network" in advice and "add regularization (L2, dropout)" in advice
    assert advice.count("try another architecture") == 1


def test_diagnose_uses_human_error_as_the_bias_floor():
    # Human 7.5%, train 8%, dev 10%: avoidable bias is small, so work on variance.
    diagnosis = evaluation.diagnose(0.08, 0.10, human_error=0.075)
    assert diagnosis.avoidable_bias == pytest.approx(0.005)
    assert diagnosis.problem == "high variance"
    # Human 1%, same errors: the bias gap (7 points) is bigger than the variance gap.
    assert evaluation.diagnose(0.08, 0.10, human_error=0.01).focus == "bias"


def test_diagnose_rejects_percentages():
    with pytest.raises(ConfigError, match="Received: train_error=15"):
        evaluation.diagnose(15, 16)


def test_classification_report_matches_scikit_learn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 200)
    probabilities = rng.random((200, 4))
    y_pred = probabilities.argmax(1)
    report = evaluation.classification_report(y_true, probabilities, ["a", "b", "c", "d"])
    assert report["accuracy"] == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    assert report["macro_f1"] == pytest.approx(metrics.f1_score(y_true, y_pred, average="macro"))
    assert report["per_class"]["c"]["recall"] == pytest.approx(metrics.recall_score(y_true, y_pred, average=None)[2])
    assert np.array_equal(report["confusion_matrix"], metrics.confusion_matrix(y_true, y_pred))


def test_plots_write_readable_pngs(tmp_path):
    history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6],
               "accuracy": [0.5, 0.8, 0.9], "val_accuracy": [0.4, 0.7, 0.8]}
    evaluation.plot_curves(history, tmp_path / "curves.png", title="t")
    evaluation.plot_confusion_matrix([[5, 1], [0, 4]], ["cat", "dog"], tmp_path / "cm.png")
    for name in ("curves.png", "cm.png"):
        with Image.open(tmp_path / name) as image:
            assert image.size[0] > 300 and image.size[1] > 200


def test_curves_mark_where_the_second_phase_starts_with_whole_epoch_ticks(tmp_path):
    history = {"loss": [1.0, 0.6, 0.5, 0.9, 0.4], "val_loss": [1.1, 0.7, 0.6, 1.2, 0.5],
               "accuracy": [0.5, 0.7, 0.8, 0.7, 0.9], "val_accuracy": [0.4, 0.6, 0.7, 0.6, 0.8]}
    with saved_figures() as figures:
        evaluation.plot_curves(history, tmp_path / "curves.png", title="t",
                               phase_starts={4: "fine-tune: backbone unfrozen"})
    figure = figures[0]
    for axis in figure.axes:
        marks = [line for line in axis.get_lines() if line.get_label().startswith("fine-tune")]
        assert len(marks) == 1 and np.allclose(marks[0].get_xdata(), 3.5)  # between epochs 3 and 4
        ticks = [tick for tick in axis.get_xticks() if axis.get_xlim()[0] <= tick <= axis.get_xlim()[1]]
        assert ticks and all(float(tick).is_integer() for tick in ticks)
        assert axis.get_xlabel() == "epoch" and axis.get_ylabel() and axis.get_title()
    legend = figure.legends[0]
    assert "fine-tune: backbone unfrozen (from epoch 4)" in [text.get_text() for text in legend.get_texts()]
    assert not any(box(legend).overlaps(box(axis)) for axis in figure.axes), "the legend covers a panel"


def test_curves_of_one_phase_have_no_mark(tmp_path):
    with saved_figures() as figures:
        evaluation.plot_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, tmp_path / "curves.png",
                               phase_starts={1: "no earlier phase"})
    assert [line.get_label() for line in figures[0].axes[0].get_lines()] == ["train", "validation"]
    assert figures[0].get_suptitle() == "Training curves"
