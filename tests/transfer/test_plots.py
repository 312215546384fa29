"""The transfer-learning pictures: learning curves whose legend covers no curve."""

from figures import box, saved_figures

from dlkit.transfer import plots


def test_learning_curves_legend_sits_outside_and_fine_tuning_is_marked(tmp_path):
    curves = {"from scratch": [0.2, 0.4, 0.6, 0.7], "frozen pretrained": [0.9, 0.92, 0.93, 0.94],
              "fine-tuned": [0.9, 0.92, 0.95, 0.96]}
    with saved_figures() as figures:
        plots.plot_learning_curves(curves, tmp_path / "heldout_accuracy_by_epoch.png", 2, "held-out accuracy")
    figure = figures[0]
    axis, legend = figure.axes[0], figure.legends[0]
    assert not box(legend).overlaps(box(axis))
    entries = [text.get_text() for text in legend.get_texts()]
    assert entries == [*curves, "fine-tuning starts (epoch 3)"]
    assert all(float(tick).is_integer() for tick in axis.get_xticks())
    assert axis.get_title() == "held-out accuracy" and axis.get_ylabel() == "held-out accuracy (%)"
