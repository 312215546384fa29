"""recipes/classify.py: the --quick run and its user-error exits."""

import json

import classify
import harness
import pytest


@pytest.fixture(scope="module")
def quick_run(recipe_run):
    run = recipe_run("classify")
    return run.out, run.metrics


def test_quick_run_learns_digits(quick_run):
    out, metrics = quick_run
    assert metrics["test_accuracy"] >= 0.90
    assert metrics["train_accuracy"] >= metrics["test_accuracy"] - 0.05
    assert metrics["params"] == 61_706
    assert metrics["epochs"] == 10
    assert json.loads((out / "metrics.json").read_text()) == metrics
    # cli.METRIC_KEYS: training time inside the whole run's time, which finish_run adds.
    assert 0 < metrics["train_seconds"] < metrics["total_seconds"]
    assert isinstance(metrics["diagnosis"], str) and metrics["diagnosis"]


def test_quick_run_writes_its_files(quick_run):
    out, _ = quick_run
    for name in ("config.json", "metrics.json", "model.keras", "run.json", "history.csv", "curves.png",
                 "confusion_matrix.png"):
        assert (out / name).stat().st_size > 0, name
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "lenet5" and config["quick"] is True and config["out"] == str(out)


def test_model_args_reach_the_builder_and_quiet_hides_progress(tmp_path, capsys):
    metrics = classify.main(
        ["--model", "mlp", "--model-arg", "hidden_units=(16,)", "--epochs", "1", "--out", str(tmp_path),
         "--image-size", "8", "--quiet"]
    )
    assert metrics["params"] == 64 * 16 + 16 + 16 * 10 + 10
    out = capsys.readouterr().out
    assert "Epoch 1/1" not in out and "ms/step" not in out and "batch" not in out, out
    assert out.splitlines()[-1].startswith("classify: test_accuracy=")


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--model", "lenet7"], "Unknown model"),
        (["--dataset", "no_such_set_zz"], "Unknown dataset"),
        (["--model-arg", "oops"], "KEY=VALUE"),
        (["--model", "googlenet_tiny", "--model-arg", "aux_heads=True"], "single-output"),
    ],
)
def test_user_errors_exit_2_with_one_line(argv, expected, tmp_path, capsys):
    harness.assert_user_error(capsys, classify, [*argv, "--out", tmp_path], expected)


def test_bad_model_from_the_shell_has_no_traceback(tmp_path):
    line = harness.assert_shell_error("classify", ["--model", "nope", "--out", tmp_path])
    assert line.startswith("error: Unknown model")
