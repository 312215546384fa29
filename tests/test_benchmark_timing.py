"""benchmarks/timing.py: interleaved rounds, median ratios, the load average and the busy warning."""

import importlib.util
import io
import json
import pathlib
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def timing():
    spec = importlib.util.spec_from_file_location("timing", ROOT / "benchmarks" / "timing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rounds_rotate_the_order_and_count_every_call(timing):
    calls = []
    rounds = timing.interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b"),
                                "c": lambda: calls.append("c")}, rounds=3, warmup=1)
    assert calls[:3] == ["a", "b", "c"]  # the warm-up
    assert calls[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # each side first once
    assert all(len(times) == 3 for times in rounds.wall.values())


def test_ratios_are_medians_of_per_round_ratios_per_unit_of_work(timing):
    rounds = timing.Rounds(wall={"ours": [1.0, 2.0, 9.0], "anchor": [2.0, 2.0, 2.0]},
                           cpu={"ours": [1.0, 1.0, 1.0], "anchor": [1.0, 1.0, 1.0]},
                           work={"ours": 10, "anchor": 5})
    # Per unit of work: ours 0.1, 0.2, 0.9 s; anchor 0.4 s -> time ratios 0.25, 0.5, 2.25 (one outlier).
    assert rounds.ratio("ours", "anchor") == 0.5
    assert rounds.speed_ratio("ours", "anchor") == 2.0
    assert rounds.ratio("ours", "anchor", clock="cpu") == 0.5
    assert rounds.rate("ours") == 5.0  # 10 units in a median 2 s
    assert rounds.summary()["ours_ms"] == 2000.0


def test_the_report_records_the_load_and_warns_when_busy(timing, monkeypatch, capsys):
    loads = iter([0.5, 7.5])
    monkeypatch.setattr(timing, "load_average", lambda: next(loads))
    monkeypatch.setattr(timing, "cores", lambda: 2)
    session = timing.Session("demo", {"size": 1})
    time.sleep(0.01)
    stream = io.StringIO()
    report = session.finish({"ratio": 1.0}, stream=stream)
    assert json.loads(stream.getvalue()) == report
    assert report["load_average"] == {"before": 0.5, "after": 7.5} and report["busy"] is True
    assert report["settings"] == {"size": 1} and report["ratio"] == 1.0
    assert "7.5 on 2 cores" in capsys.readouterr().err
