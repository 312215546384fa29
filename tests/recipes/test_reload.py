"""Every model every recipe saves reloads in a fresh process after only ``import dlkit``: same outputs, same headline.

One child process (TensorFlow imported once) reloads the ``*.keras`` files of
every ``--quick`` run with plain ``keras.models.load_model``, runs them on the
probe inputs and recomputes each recipe's headline metric from the reloaded
model alone; the parent compares with the outputs the models gave in memory,
before saving, and with ``metrics.json``.
"""

import json
import os
import pathlib
import subprocess
import sys

import harness
import numpy as np
import pytest
from harness import QUICK_RUNS

HERE = pathlib.Path(__file__).resolve().parent
# style_transfer optimizes pixels and saves no model; test_predict covers its run folder.
WITH_MODELS = [name for name in QUICK_RUNS if name != "style_transfer"]


@pytest.fixture(scope="module")
def reloaded(recipe_run, tmp_path_factory):
    runs = {name: recipe_run(name) for name in WITH_MODELS}
    result = tmp_path_factory.mktemp("reload") / "result.json"
    environment = dict(os.environ)
    environment.pop("DLKIT_REGISTER_ON_IMPORT", None)  # a plain user's process: registration on import
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parents[1]), os.environ.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, str(harness.SUPPORT / "reload_check.py"), str(result),
         *(f"{name}={run.out}" for name, run in runs.items())],
        capture_output=True, text=True, timeout=600, env=environment,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    with np.load(result.with_suffix(".npz")) as outputs:
        return runs, json.loads(result.read_text()), dict(outputs)


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_MODELS)
def test_reloaded_models_give_the_outputs_they_gave_in_memory(reloaded, name):
    runs, headlines, outputs = reloaded
    run = runs[name]
    # Every model the recipe saved is a file of the folder, and each one reloaded.
    assert sorted(run.references) == headlines[name]["files"]
    for file_name, reference in run.references.items():
        for key, value in reference.items():
            np.testing.assert_allclose(outputs[f"{name}/{file_name}/{key}"], value, rtol=1e-5, atol=1e-5,
                                       err_msg=f"{name}: {file_name} output {key!r}")


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_MODELS)
def test_reloaded_model_reproduces_the_headline_metric(reloaded, name):
    runs, headlines, _ = reloaded
    recomputed = {key: value for key, value in headlines[name].items() if key != "files"}
    assert recomputed
    for key, value in recomputed.items():
        assert value == pytest.approx(runs[name].metrics[key], abs=1e-6), f"{name}: {key}"
