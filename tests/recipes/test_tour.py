"""recipes/tour.py: two real recipes and one made to fail, in one tour."""

import html.parser
import json

import harness
import pytest
import tour
from harness import RECIPES

from dlkit import cli

FAST = ("transfer_learning", "word2vec")


class _Sources(html.parser.HTMLParser):
    """Collects every ``src``/``href`` of a page, and whether it loads anything remote or scripted."""

    def __init__(self):
        super().__init__()
        self.images, self.links, self.scripts = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "a" and not attrs.get("href", "#").startswith("#"):
            self.links.append(attrs["href"])
        self.scripts += tag == "script" or (tag == "link" and attrs.get("rel") == "stylesheet")


@pytest.fixture(scope="module")
def tour_run(tmp_path_factory):
    broken = tmp_path_factory.mktemp("scripts") / "broken.py"
    broken.write_text('"""A recipe that crashes."""\nraise RuntimeError("this recipe is broken on purpose")\n')
    out = tmp_path_factory.mktemp("tour")
    selection = f"{FAST[0]},{broken},{FAST[1]}"  # the failure sits between the two: the tour must go on
    status = harness.run(tour, ["--recipes", selection, "--out", str(out)])
    return out, status


@pytest.mark.slow
def test_both_recipes_ok_and_the_failure_reported(tour_run):
    out, status = tour_run
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary) == [FAST[0], "broken", FAST[1]]
    for name in FAST:
        entry = summary[name]
        assert entry["status"] == "ok" and entry["returncode"] == 0, entry
        assert entry["headline"] and entry["total_seconds"] > 0 and entry["pictures"], entry
        recipe_metrics = json.loads((out / name / "metrics.json").read_text())
        assert all(recipe_metrics[key] == value for key, value in entry["headline"].items())
    assert summary["transfer_learning"]["headline"]["finetuned_accuracy"] > 0.8
    assert summary["word2vec"]["headline"]["wordsim353_spearman"] > 0.2
    failed = summary["broken"]
    assert failed["status"] == "failed" and failed["returncode"] == 1
    assert failed["error"] == "RuntimeError: this recipe is broken on purpose"
    assert status == 1  # a tour with a failed recipe does not exit 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["recipes_ok"] == 2 and metrics["recipes"] == 3 and metrics["failed"] == "broken"


def test_index_html_is_self_contained_and_its_files_exist(tour_run):
    out, _ = tour_run
    page = (out / "index.html").read_text()
    sources = _Sources()
    sources.feed(page)
    summary = json.loads((out / "summary.json").read_text())
    pictures = [path for entry in summary.values() for path in entry["pictures"]]
    assert sorted(sources.images) == sorted(pictures) and len(pictures) >= 2  # in the page's order, see report.FIGURES
    for reference in sources.images + sources.links:
        assert "://" not in reference and (out / reference).is_file(), reference
    assert sources.scripts == 0
    for name in ("transfer_learning", "broken", "word2vec"):
        assert f'<section id="{name}">' in page
    assert "this recipe is broken on purpose" in page
    assert "Transfer learning" in page  # the recipe's own docstring describes it


def test_every_recipe_script_is_on_the_tour():
    scripts = {path.stem for path in RECIPES.glob("*.py")} - {"tour", "predict"}  # predict.py serves runs
    assert set(tour.available_recipes()) == scripts
    assert list(tour.available_recipes())[0] == "classify"


def test_unknown_recipe_exits_2_with_one_line(tmp_path, capsys):
    line = harness.assert_user_error(capsys, tour, ["--recipes", "classify,nope", "--out", tmp_path / "tour"], "'nope'")
    assert line.startswith("error: --recipes: unknown recipe")


def test_summary_line_parsing_takes_values_from_metrics_json(tmp_path):
    cli.write_json(tmp_path / "metrics.json", {"map50": 0.73456789, "train_seconds": 12.5, "note": "a b"})
    stdout = "epoch 1\nyolo_detection: map50=0.7346 train_seconds=12.5 -> runs/x\n"
    assert tour.headline_metrics(stdout, tmp_path) == {"map50": 0.73456789, "train_seconds": 12.5}
    assert tour.headline_metrics("no summary here\n", tmp_path) == {}


def _script(folder, body):
    script = folder / "slow.py"
    script.write_text('"""A recipe that prints, then works in silence."""\nimport sys, time\n' + body)
    return script


def test_a_running_recipe_shows_its_lines_and_a_heartbeat(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tour, "HEARTBEAT_SECONDS", 0.5)
    script = _script(tmp_path, 'print("epoch 1/1: loss 0.5", flush=True)\ntime.sleep(2)\n'
                               'print("slow: score=1 -> out", flush=True)\n')
    entry = tour.run_recipe("slow", script, tmp_path / "tour", [], timeout=60)
    lines = capsys.readouterr().out.splitlines()
    assert entry["status"] == "ok" and entry["headline"] == {"score": 1}
    assert lines[0] == "    slow | epoch 1/1: loss 0.5" and lines[-1] == "    slow | slow: score=1 -> out"
    assert any(line.startswith("    slow | still running (") for line in lines[1:-1]), lines
    assert (tmp_path / "tour" / "slow" / "stdout.log").read_text().splitlines() == [
        "epoch 1/1: loss 0.5", "slow: score=1 -> out"]


def test_a_quiet_tour_shows_nothing_and_a_timeout_stops_the_recipe(tmp_path, capsys):
    script = _script(tmp_path, 'print("started", flush=True)\ntime.sleep(60)\n')
    entry = tour.run_recipe("slow", script, tmp_path / "tour", [], timeout=2, echo=False)
    assert entry["status"] == "timeout" and entry["error"] == "stopped after the 2 s timeout"
    assert entry["total_seconds"] < 30
    assert capsys.readouterr().out == ""
    assert (tmp_path / "tour" / "slow" / "stdout.log").read_text() == "started\n"
