"""--strategy multiworker trains on two worker processes; --strategy mirrored (over two logical CPUs) and
--mixed-precision run in every recipe that trains, and the others refuse them with one line."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import faults
import harness
import pytest

HERE = pathlib.Path(__file__).resolve().parent
pytestmark = pytest.mark.slow


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for handle in sockets:
        handle.bind(("127.0.0.1", 0))
    ports = [handle.getsockname()[1] for handle in sockets]
    for handle in sockets:
        handle.close()
    return ports


def test_multiworker_trains_on_two_workers_like_one_process(recipe_run, tmp_path):
    reference = recipe_run("classify").metrics
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        environment = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        # Each worker writes its own run folder (the chief's, worker 0, is the run).
        command = [sys.executable, str(faults.RECIPES / "classify.py"), "--quick", "--strategy", "multiworker",
                   "--out", str(tmp_path / f"worker{index}")]
        processes.append(subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
    for process in processes:
        _, errors = process.communicate(timeout=600)
        assert process.returncode == 0, errors[-3000:]
    chief, other = (json.loads((tmp_path / f"worker{index}" / "metrics.json").read_text()) for index in range(2))
    # The workers hold the same weights: they report the same scores.
    assert chief["test_accuracy"] == other["test_accuracy"] and chief["dev_accuracy"] == other["dev_accuracy"]
    # Each worker took half of every global batch: the run is a single-process run within noise.
    assert chief["test_accuracy"] == pytest.approx(reference["test_accuracy"], abs=0.03)
    assert chief["epochs"] == reference["epochs"]


@pytest.fixture(scope="module")
def strategy_runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("strategies")
    completed = subprocess.run([sys.executable, str(harness.SUPPORT / "strategies_check.py"), str(work / "result.json"),
                                str(work)], capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads((work / "result.json").read_text())


TRAINING = ["classify", "transfer_folder", "localization", "yolo_detection", "face_verification"]


@pytest.mark.parametrize("name", TRAINING)
def test_mirrored_mixed_precision_run_trains_every_phase_on_two_replicas(strategy_runs, name):
    run = strategy_runs[name]
    assert run["status"] == 0, run["stderr"]
    assert run["fits"], "no training happened"
    for fit in run["fits"]:
        assert fit["replicas"] == 2 and fit["float16"], fit
        assert fit["loss"] is not None and fit["loss"] == fit["loss"]  # finite, not NaN
    assert run["metrics"] is not None


@pytest.mark.parametrize("name", ["word2vec", "style_transfer"])
def test_one_device_recipes_refuse_a_strategy_with_one_line(strategy_runs, name):
    run = strategy_runs[name]
    assert run["status"] == 2 and run["metrics"] is None
    assert len(run["stderr"]) == 1 and "--strategy" in run["stderr"][0] and "Received:" in run["stderr"][0]
