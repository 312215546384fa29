"""dlkit.tuning: the samplers cover their ranges on the right scale; coarse to fine narrows; a killed search resumes."""

import json
import math

import numpy as np
import pytest

from dlkit import tuning
from dlkit.errors import ConfigError


def test_log_uniform_gives_every_decade_the_same_share():
    values = np.array([row["lr"] for row in tuning.draw({"lr": tuning.log_uniform(1e-4, 1.0)}, 4000, seed=1)])
    assert values.min() >= 1e-4 and values.max() <= 1.0
    shares = np.histogram(np.log10(values), bins=[-4, -3, -2, -1, 0])[0] / len(values)
    assert np.allclose(shares, 0.25, atol=0.03), shares  # a uniform draw would put 90% in [0.1, 1]


def test_one_minus_log_gives_each_factor_of_ten_closer_to_one_the_same_share():
    values = np.array([row["beta"] for row in tuning.draw({"beta": tuning.one_minus_log(0.9, 0.999)}, 4000)])
    assert values.min() >= 0.9 and values.max() <= 0.999
    assert abs(np.mean(values < 0.99) - 0.5) < 0.03  # [0.9, 0.99] and [0.99, 0.999] half each
    assert np.mean(values > 0.995) > 0.15  # a uniform draw would give 4%


def test_integers_and_choices_reach_both_ends():
    rows = tuning.draw({"units": tuning.integer(8, 512, log=True), "depth": tuning.integer(1, 3),
                        "optimizer": tuning.choice("sgd", "adam")}, 600, seed=2)
    units = [row["units"] for row in rows]
    assert min(units) == 8 and max(units) == 512 and all(isinstance(value, int) for value in units)
    assert abs(np.mean(np.array(units) < 64) - 0.5) < 0.06  # log scale: 8-64 and 64-512 half each
    assert {row["depth"] for row in rows} == {1, 2, 3}
    assert {row["optimizer"] for row in rows} == {"sgd", "adam"}


@pytest.mark.parametrize("make", [lambda: tuning.log_uniform(0, 1), lambda: tuning.one_minus_log(0.9, 1.0),
                                  lambda: tuning.uniform(2, 1), lambda: tuning.integer(0, 5, log=True),
                                  lambda: tuning.choice("adam")])
def test_bad_ranges_are_refused(make):
    with pytest.raises(ConfigError, match="Received"):
        make()


def peaked(params):
    """Best at learning_rate 10^-2.5 and beta 0.99, whatever the dropout."""
    distance = (math.log10(params["learning_rate"]) + 2.5) ** 2 + (math.log10(1 - params["beta"]) + 2) ** 2
    return {"score": -distance, "dev_accuracy": 1 / (1 + distance)}


SPACE = {"learning_rate": tuning.log_uniform(1e-5, 1.0), "beta": tuning.one_minus_log(0.8, 0.9999),
         "dropout": tuning.uniform(0.0, 0.5)}


def test_coarse_to_fine_narrows_around_the_best_trials(tmp_path):
    result = tuning.random_search(peaked, SPACE, trials=12, rounds=3, out=tmp_path, verbose=0)
    assert len(result.complete) == 36
    for name in ("learning_rate", "beta"):
        widths = []
        for coarse, fine in zip(result.spaces, result.spaces[1:]):
            wide, narrow = coarse[name].unit_range(), fine[name].unit_range()
            assert wide[0] <= narrow[0] and narrow[1] <= wide[1]  # each round inside the one before
            widths.append(narrow[1] - narrow[0])
        first = result.spaces[0][name].unit_range()
        assert widths[0] < 0.6 * (first[1] - first[0]) and widths[1] <= widths[0]
    last = result.spaces[-1]["learning_rate"]
    assert last.low < 10 ** -2.5 < last.high  # the peak is kept inside
    coarse_best = max(trial.score for trial in result.complete if trial.round == 0)
    assert result.best.score >= coarse_best
    rows = (tmp_path / "trials.csv").read_text().splitlines()
    assert rows[0].startswith("round,trial,state,score,learning_rate,beta,dropout,dev_accuracy") and len(rows) == 37
    saved = json.loads((tmp_path / "trials.json").read_text())
    assert saved["best"]["score"] == result.best.score and len(saved["ranges"]) == 3
    tuning.plot_trials(result, tmp_path / "trials.png")
    assert (tmp_path / "trials.png").stat().st_size > 20_000


def test_a_killed_search_resumes_with_the_trials_it_finished(tmp_path):
    calls = []

    def interrupted(params):
        calls.append(params)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return peaked(params)

    with pytest.raises(KeyboardInterrupt):
        tuning.random_search(interrupted, SPACE, trials=6, out=tmp_path, verbose=0)
    finished = [call["learning_rate"] for call in calls[:3]]
    result = tuning.random_search(peaked, SPACE, trials=6, out=tmp_path, verbose=0)
    complete = result.complete
    assert len(complete) == 6 and [trial.params["learning_rate"] for trial in complete[:3]] == finished
    assert len({trial.params["learning_rate"] for trial in complete}) == 6  # the resumed draws are new ones
    assert [trial.state for trial in result.trials].count("failed") == 1  # the interrupted trial


def test_a_failing_trial_is_recorded_and_the_search_goes_on():
    def fragile(params):
        if params["learning_rate"] > 1e-2:
            raise FloatingPointError("diverged")
        return peaked(params)

    result = tuning.random_search(fragile, SPACE, trials=10, verbose=0, seed=3)
    failed = [trial for trial in result.trials if trial.state == "failed"]
    assert failed and len(result.complete) == 10 - len(failed)
    assert "diverged" in failed[0].metrics["error"] and math.isnan(failed[0].score)
