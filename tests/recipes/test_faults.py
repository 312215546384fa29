"""Kill a recipe with SIGKILL at seeded points (during an epoch, between phases, during the final save), rerun it
with the same --out, and it finishes with each epoch once and the metrics of an uninterrupted run.

Each test runs the recipe in fresh processes, as a user's shell would, so these are the slowest recipe tests; the
settings are the smallest that still train something.
"""

import json

import faults
import numpy as np
import pytest

pytestmark = pytest.mark.slow


def kill_points(seed, during_epoch, between_phases, final_save):
    """One seeded kill point of each kind: ``during_epoch`` is ``(point, low, high)`` for ``point@k``, k in range."""
    rng = np.random.default_rng(seed)
    point, low, high = during_epoch
    return [f"{point}@{rng.integers(low, high + 1)}", between_phases, final_save]


def resumed_lines(outputs):
    return [line for output in outputs for line in output.splitlines() if "found the backup of an earlier run" in line]


def test_classify_survives_three_kills(recipe_run, tmp_path):
    reference = recipe_run("classify").metrics
    # --quick: 40 batches an epoch, 10 epochs. Then the end of training (before evaluation), then model.keras's save.
    kills = kill_points(0, ("batch", 50, 350), "fit_end@1", "save:model.keras")
    metrics, outputs = faults.kill_and_resume("classify", ["--quick"], tmp_path, kills)
    histories = faults.assert_clean_run_folder(tmp_path)
    assert faults.history_epochs(tmp_path / "history.csv") == list(range(10))
    assert len(histories) == 1
    assert "resuming at epoch" in outputs[1] and "skipping its training" in outputs[2] + outputs[3]
    assert metrics["test_accuracy"] == pytest.approx(reference["test_accuracy"], abs=0.03)
    assert metrics["dev_accuracy"] == pytest.approx(reference["dev_accuracy"], abs=0.03)


MULTITASK = ["--quick", "--train-images", "600", "--epochs", "2"]


def test_multitask_resumes_at_the_phase_where_it_stopped(tmp_path):
    reference = faults.run_recipe("multitask", MULTITASK, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr[-3000:]
    expected = json.loads((tmp_path / "reference" / "metrics.json").read_text())
    # 19 batches an epoch; then after the multi-task network and one single-task network (the second fit to end in
    # the rerun, which skips the finished first one), then while metrics.json is written.
    kills = kill_points(1, ("batch", 5, 35), "fit_end@2", "save:metrics.json")
    out = tmp_path / "killed"
    metrics, outputs = faults.kill_and_resume("multitask", MULTITASK, out, kills)
    histories = faults.assert_clean_run_folder(out)
    assert len(histories) == 4  # the multi-task network and one per label, each with its own history
    for path in histories:
        assert faults.history_epochs(path) == [0, 1]
    # The third run skipped the finished phases (the multi-task network, the first single-task one) instead of
    # training them again.
    assert sum("skipping its training" in line for line in resumed_lines(outputs[2:3])) == 2
    for key in ("mean_auc", "single_task_mean_auc"):
        assert metrics[key] == pytest.approx(expected[key], abs=0.05), key


def test_transfer_learning_on_a_folder_resumes_after_its_head_phase(tmp_path):
    from dlkit.data import photo_folders

    folder = photo_folders.make_folder(tmp_path / "textures", "textures", per_class=12)
    argv = ["--backbone", "vgg16", "--weights", "vgg16-hed", "--dataset", str(folder), "--image-size", "32",
            "--epochs", "4"]
    reference = faults.run_recipe("transfer_learning", argv, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr[-3000:]
    expected = json.loads((tmp_path / "reference" / "metrics.json").read_text())
    # After the head phase; at the first batch of the fine-tuning phase (the head phase is skipped by then);
    # while model.keras is written.
    kills = ["fit_end@1", "batch@1", "save:model.keras"]
    out = tmp_path / "killed"
    metrics, outputs = faults.kill_and_resume("transfer_learning", argv, out, kills)
    faults.assert_clean_run_folder(out)
    assert faults.history_epochs(out / "head" / "history.csv") == [0, 1]
    assert faults.history_epochs(out / "fine_tune" / "history.csv") == [2, 3]
    assert "skipping its training" in outputs[1]  # the finished head phase was not trained again
    head = json.loads((out / "head" / "history.json").read_text())
    head_reference = json.loads((tmp_path / "reference" / "head" / "history.json").read_text())
    np.testing.assert_allclose(head["loss"], head_reference["loss"], rtol=1e-4)
    assert metrics["kept_phase"] == expected["kept_phase"]
    assert metrics["test_accuracy"] == pytest.approx(expected["test_accuracy"], abs=0.17)  # one of 6 test images


WORD2VEC = ["--corpus", "lee_background", "--epochs", "4", "--quick"]


def test_word2vec_resumes_by_epoch_with_the_same_draws(tmp_path):
    reference = faults.run_recipe("word2vec", WORD2VEC, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr[-3000:]
    expected = json.loads((tmp_path / "reference" / "metrics.json").read_text())
    # The corpus is one chunk an epoch: killed after training the 2nd (its backup not yet written), after the
    # backup of the 3rd epoch, and while model.keras is written.
    kills = ["batch@2", "epoch_end@2", "save:model.keras"]
    out = tmp_path / "killed"
    metrics, outputs = faults.kill_and_resume("word2vec", WORD2VEC, out, kills)
    faults.assert_clean_run_folder(out)
    lines = resumed_lines(outputs)
    assert "resuming at epoch 2/4" in lines[0] and "resuming at epoch 4/4" in lines[1]
    assert "skipping its training" in lines[2]
    # Stateless draws keyed by (seed, epoch, chunk): the resumed run trains on exactly the uninterrupted run's pairs.
    assert metrics["wordsim353_spearman"] == pytest.approx(expected["wordsim353_spearman"], abs=0.01)
    assert metrics["final_loss"] == pytest.approx(expected["final_loss"], rel=1e-3)
