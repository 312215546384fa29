"""The practice chapter's recipes: recipes/tune.py (a search that resumes) and classify --train-dev-from."""

import csv
import json

import classify
import harness
import keras
import numpy as np
import pytest
import tune

from dlkit import training
from dlkit.data import shift


def test_tune_beats_or_matches_the_defaults_and_resumes_after_a_kill(tmp_path, monkeypatch):
    argv = ["--trials", "3", "--rounds", "2", "--epochs", "3", "--out", str(tmp_path), "--quiet", "--tensorboard"]
    original, calls = training.fit, []

    def killed_at_the_fourth_trial(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "fit", killed_at_the_fourth_trial)
    with pytest.raises(KeyboardInterrupt):
        tune.main(argv)
    monkeypatch.setattr(training, "fit", original)
    metrics = tune.main(argv)

    rows = list(csv.DictReader((tmp_path / "trials.csv").open()))
    complete = [row for row in rows if row["state"] == "complete"]
    assert metrics["trials"] == len(complete) == 6 and metrics["failed_trials"] == 1  # the killed trial
    assert [row["round"] for row in complete] == ["0"] * 3 + ["1"] * 3
    first = complete[0]  # round 0 starts with the default settings
    assert float(first["learning_rate"]) == tune.DEFAULTS["learning_rate"] and first["batch_size"] == "32"
    assert metrics["default_dev_accuracy"] == float(first["dev_accuracy"])
    assert metrics["best_dev_accuracy"] == max(float(row["dev_accuracy"]) for row in complete)
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["dev_accuracy"] == metrics["best_dev_accuracy"]
    assert json.loads(metrics["best_params"]) == best["params"]
    for name in ("trials.png", "trials.json", "metrics.json", "model.keras"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert not (tmp_path / "backup").exists()  # finished: the resume marker is gone
    assert len(list((tmp_path / "logs").iterdir())) == 6  # --tensorboard: a run per trial (the kill came before fit)
    model = keras.models.load_model(tmp_path / "model.keras")
    assert model.get_layer("dense1").units == best["params"]["units"]


def test_shifts_change_images_as_documented():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (2, 32, 32, 1)).astype("float32")
    blurred = shift.shift_images(images, "blur").numpy()
    assert blurred.std() < 0.3 * images.std() and abs(blurred.mean() - images.mean()) < 15
    noisy = shift.shift_images(images, "noise", seed=1).numpy()
    assert np.array_equal(noisy, shift.shift_images(images, "noise", seed=1).numpy())
    assert 40 < np.abs(noisy - images).mean() < 80 and noisy.min() >= 0 and noisy.max() <= 255
    low = shift.shift_images(images, "contrast").numpy()
    assert np.allclose(low.std(axis=(1, 2, 3)), images.std(axis=(1, 2, 3)) / 3, rtol=1e-4)
    background = shift.shift_images(np.zeros((32, 32, 1), "float32"), "background").numpy()
    assert background[:, 0].max() == 0 and np.allclose(background[:, -1], 150) and background.shape == (32, 32, 1)
    assert classify.SHIFTS == tuple(shift.SHIFTS)  # the recipe's flags name them without importing TensorFlow
    assert classify.SCHEDULES == training.SCHEDULES


def test_train_dev_case_reports_data_mismatch_as_the_main_gap(tmp_path, capsys):
    metrics = classify.main(["--quick", "--train-dev-from", "background", "--out", str(tmp_path), "--quiet"])
    assert metrics["data_mismatch"] > max(metrics["variance"], metrics["avoidable_bias"], 0.03)
    problem, advice = metrics["diagnosis"].split(": ", 1)
    assert "data mismatch" in problem and advice.startswith("carry out manual error analysis")  # the largest gap first
    assert metrics["train_dev_accuracy"] - metrics["dev_accuracy"] == pytest.approx(metrics["data_mismatch"], abs=1e-6)
    printed = capsys.readouterr().out
    assert "training-dev error" in printed and "data mismatch" in printed


def test_optimize_compares_regularizers_from_the_same_weights(tmp_path):
    import optimize

    metrics = optimize.main(["--compare", "regularization", "--epochs", "2", "--out", str(tmp_path), "--quiet",
                             "--tensorboard"])
    runs = json.loads((tmp_path / "comparison.json").read_text())["regularization"]
    assert list(runs) == list(optimize.REGULARIZERS)
    for figures in runs.values():
        assert 0 < figures["final_dev_accuracy"] <= 1 and figures["epochs_run"] <= 6 and figures["diagnosis"]
    assert runs["early_stopping"]["epochs_run"] <= runs["none"]["epochs_run"] == 6  # 3 x --epochs on a quarter
    assert runs["more_data"]["epochs_run"] == 2
    assert metrics["best_regularization"] in runs and (tmp_path / "regularization.png").stat().st_size > 20_000
    assert optimize.epochs_to([0.5, 0.94, 0.96, 0.97], 0.95) == 3 and optimize.epochs_to([0.5], 0.95) is None
    for name in optimize.REGULARIZERS:  # --tensorboard: one run of logs per compared run
        scalars = harness.event_scalars(tmp_path / "logs" / "regularization" / name / "train")
        losses = scalars["epoch_loss"]
        assert len(losses) == runs[name]["epochs_run"] and np.all(np.isfinite(losses)), name
