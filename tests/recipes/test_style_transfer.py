"""Smoke test of recipes/style_transfer.py --quick and its exit status on a bad image."""

import json

import harness
import pytest
import style_transfer


@pytest.fixture(scope="module")
def quick_run(recipe_run):
    run = recipe_run("style_transfer")
    return run.out, run.metrics


def test_quick_run_writes_files_and_stylizes(quick_run):
    out, metrics = quick_run
    for name in ("stylized.png", "triptych.png", "losses.png", "metrics.json", "config.json"):
        assert (out / name).is_file()
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert metrics["size"] == 96 and metrics["steps"] == 60
    assert metrics["style_loss_reduction"] > 0.8
    assert metrics["final_loss"] < 0.2 * metrics["initial_loss"]


@pytest.mark.parametrize("content", ["missing.jpg", "bad.jpg"])
def test_unreadable_or_missing_image_exits_2(tmp_path, capsys, content):
    (tmp_path / "bad.jpg").write_text("not an image")
    harness.assert_user_error(capsys, style_transfer, ["--content", tmp_path / content, "--out", tmp_path / "o"], content)
