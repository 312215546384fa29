"""Each recipe's ``--quick`` run, made once per test session and shared by every test that reads it.

``recipe_run(name)`` runs the recipe in-process on first use and returns a
:class:`QuickRun`; its ``references`` hold the outputs each model it saved
gave on :mod:`harness` probe inputs while still in memory, which the fresh-process
reload test compares with what ``keras.models.load_model`` gives back.
"""

import dataclasses
import pathlib

import harness
import numpy as np
import pytest
from harness import QUICK_RUNS


@dataclasses.dataclass
class QuickRun:
    """A finished ``--quick`` run: its folder, its metrics and, per saved model file, reference outputs."""

    name: str
    out: pathlib.Path
    metrics: dict
    references: dict


@pytest.fixture(scope="session")
def recipe_run(tmp_path_factory):
    from dlkit import inference

    runs = {}

    def get(name):
        if name in runs:
            return runs[name]
        recipe, argv = QUICK_RUNS[name]
        module = harness.load_recipe(recipe)
        out = tmp_path_factory.mktemp(name)
        saved = {}
        original = inference.save_model

        def recording(model, path):
            saved[pathlib.Path(path).name] = model
            return original(model, path)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(inference, "save_model", recording)
            metrics = module.main([*argv, "--out", str(out)])
        references = {}
        for file_name, model in saved.items():
            references[file_name] = harness.outputs_of(model, harness.probe_inputs(model))
        np.savez(out / "reference_outputs.npz",
                 **{f"{file_name}/{key}": value for file_name, outputs in references.items()
                    for key, value in outputs.items()})
        runs[name] = QuickRun(name, out, metrics, references)
        return runs[name]

    return get
