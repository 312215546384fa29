"""run.json: written atomically, read back with one-line errors for what is not a run."""

import json

import pytest

from dlkit.errors import DatasetError
from dlkit.inference import run


def test_round_trip_and_atomic_writes(tmp_path):
    card = run.write_run(tmp_path, "classification", "classify", model="model.keras", class_names=["a", "b"])
    assert json.loads((tmp_path / "run.json").read_text()) == card
    read = run.read_run(tmp_path)
    assert read["task"] == "classification" and read["class_names"] == ["a", "b"] and read["folder"] == str(tmp_path)
    # A write that dies halfway leaves the old file and no temporary file behind.
    def dies_halfway(path):
        path.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        run.write_atomically(tmp_path / "run.json", dies_halfway)
    assert json.loads((tmp_path / "run.json").read_text()) == card
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.json"]
    with pytest.raises(ValueError, match="task"):
        run.write_run(tmp_path, "painting", "x")


def test_what_is_not_a_run_says_so(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        run.read_run(tmp_path / "absent")
    with pytest.raises(DatasetError, match="no run.json"):
        run.read_run(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"recipe": "tour"}))
    with pytest.raises(DatasetError, match="made by 'tour'"):
        run.read_run(tmp_path)
    (tmp_path / "run.json").write_text("{broken")
    with pytest.raises(DatasetError, match="Unreadable"):
        run.read_run(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"task": "painting"}))
    with pytest.raises(DatasetError, match="no known task"):
        run.read_run(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"task": "classification", "dlkit_run": 99}))
    with pytest.raises(DatasetError, match="newer dlkit"):
        run.read_run(tmp_path)
