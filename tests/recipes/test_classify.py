"""recipes/classify.py: the --quick run and its user-error exits."""

import json
import subprocess
import sys

import classify  # noqa: E402
import harness
import pytest
from harness import RECIPES


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
    assert isinstance(metrics["diagnosis"], str) and metrics["diagnosis"]


def test_quick_run_writes_its_files(quick_run):
    out, _ = quick_run
    for name in ("config.json", "metrics.json", "model.keras", "run.json", "history.csv", "curves.png",
                 "confusion_matrix.png"):
        assert (out / name).stat().st_size > 0, name
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "lenet5" and config["quick"] is True and config["out"] == str(out)


def test_model_args_reach_the_builder(tmp_path):
    metrics = classify.main(
        ["--model", "mlp", "--model-arg", "hidden_units=(16,)", "--epochs", "1", "--out", str(tmp_path), "--image-size", "8"]
    )
    assert metrics["params"] == 64 * 16 + 16 + 16 * 10 + 10


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
    status = harness.run(classify, [*argv, "--out", str(tmp_path)])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(error) == 1 and error[0].startswith("error: ") and expected in error[0]


def test_bad_model_from_the_shell_has_no_traceback(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(RECIPES / "classify.py"), "--model", "nope", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith("error: Unknown model")
