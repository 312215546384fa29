"""recipes/multitask.py (named *_recipe so it does not clash with tests/test_multitask.py): the multi-label and localization quick runs, their files, metrics and saved models."""

import json
import pathlib
import sys

import keras
import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "recipes"))

import multitask as recipe  # noqa: E402

from dlkit.data import shapes  # noqa: E402

CLASSES = ("circle", "square", "triangle")


@pytest.fixture(scope="module")
def multilabel_run(recipe_run):
    run = recipe_run("multilabel")
    return run.out, run.metrics


@pytest.fixture(scope="module")
def localization_run(recipe_run):
    run = recipe_run("localization")
    return run.out, run.metrics


def _test_split(task, **options):
    """The recipe's quick test split, as NumPy arrays."""
    dataset, _ = shapes.load(
        "test", task=task, image_size=32, num_images=600, batch_size=None, classes=CLASSES,
        size_range=recipe.SIZE_RANGE, **options,
    )
    images, targets = zip(*dataset.as_numpy_iterator())
    return np.stack(images), targets


@pytest.mark.slow
def test_multilabel_quick_learns_with_missing_labels_and_beats_the_parameter_count(multilabel_run):
    out, metrics = multilabel_run
    for name in ("config.json", "metrics.json", "model.keras", "history.csv", "curves.png", "samples.png",
                 "comparison.png"):
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert metrics["mean_auc"] >= 0.95
    assert metrics["multitask_params"] < metrics["single_task_params"]
    assert abs(metrics["train_observed_fraction"] - 0.7) < 0.02
    for label in CLASSES:
        assert 0.5 < metrics[f"auc_{label}"] <= 1 and 0.5 < metrics[f"single_task_auc_{label}"] <= 1
    assert metrics["single_task_mean_auc"] == pytest.approx(
        np.mean([metrics[f"single_task_auc_{label}"] for label in CLASSES])
    )


@pytest.mark.slow
def test_multilabel_saved_model_reproduces_the_reported_scores(multilabel_run):
    from sklearn.metrics import roc_auc_score

    out, metrics = multilabel_run
    model = keras.models.load_model(out / "model.keras")
    images, labels = _test_split("multilabel")
    probabilities = model.predict(images * 255.0, verbose=0)["labels"]  # the saved model takes raw pixels
    scores = recipe.multilabel_scores(np.stack(labels), probabilities, CLASSES, roc_auc_score)
    assert scores["mean_auc"] == pytest.approx(metrics["mean_auc"], abs=1e-6)
    assert scores["mean_accuracy"] == pytest.approx(metrics["mean_accuracy"], abs=1e-6)
    # The best checkpoint is the compiled training model: its custom loss comes back with it.
    checkpoint = keras.models.load_model(out / "checkpoints" / "best.keras")
    assert type(checkpoint.loss["labels"]).__name__ == "MaskedBinaryCrossentropy"


@pytest.mark.slow
def test_localization_quick_classifies_and_boxes(localization_run):
    out, metrics = localization_run
    for name in ("config.json", "metrics.json", "model.keras", "history.csv", "curves.png", "samples.png"):
        assert (out / name).stat().st_size > 0, name
    assert metrics["class_accuracy"] >= 0.9
    assert metrics["mean_iou"] >= 0.6
    assert metrics["objectness_accuracy"] >= 0.9
    assert metrics["landmark_error_pixels"] < 4


@pytest.mark.slow
def test_localization_saved_model_reproduces_the_reported_scores(localization_run):
    out, metrics = localization_run
    model = keras.models.load_model(out / "model.keras")
    images, targets = _test_split("localization", landmarks=True)
    predictions = model.predict(images * 255.0, verbose=0)
    truth = np.stack([target["localization"] for target in targets])
    landmarks = np.stack([target["landmarks"] for target in targets])
    scores = recipe.localization_scores(truth, predictions["localization"], landmarks, predictions["landmarks"], 32)
    for key in ("class_accuracy", "mean_iou", "objectness_accuracy", "landmark_error_pixels"):
        assert scores[key] == pytest.approx(metrics[key], abs=1e-6)


def test_numpy_iou_matches_the_keras_metric_function():
    from dlkit.multitask import box_iou

    rng = np.random.default_rng(0)
    # Sorting (x, y) pairs along the point axis gives (x_min, y_min), (x_max, y_max).
    first = np.sort(rng.random((50, 2, 2)), axis=1).reshape(50, 4).astype(np.float32)
    second = np.sort(rng.random((50, 2, 2)), axis=1).reshape(50, 4).astype(np.float32)
    second[:5] = second[:5, [0, 1, 0, 1]]  # zero-area boxes give 0
    np.testing.assert_allclose(recipe.iou(first, second), np.asarray(box_iou(first, second)), atol=1e-6)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--classes", "circle,hexagon"], "Received: classes=('circle', 'hexagon')"),
        (["--missing-rate", "1.5"], "Received: 1.5"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    from dlkit import cli

    assert cli.run(recipe.main, argv + ["--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and message in error and "\n" not in error
