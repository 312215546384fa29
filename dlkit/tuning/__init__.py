"""Hyperparameter search: random draws on the right scale, coarse to fine, resumable; pictures of the trials.

    from dlkit import tuning

    space = {"learning_rate": tuning.log_uniform(1e-4, 1e-1), "beta_1": tuning.one_minus_log(0.8, 0.999)}
    result = tuning.random_search(objective, space, trials=10, rounds=2, out="runs/tune")
    tuning.plot_trials(result, "runs/tune/trials.png")

See :mod:`dlkit.tuning.space` (the samplers) and :mod:`dlkit.tuning.search`.
"""

from dlkit.tuning.plots import plot_trials
from dlkit.tuning.search import SearchResult, Trial, random_search
from dlkit.tuning.space import KINDS, Param, check_space, choice, draw, integer, log_uniform, one_minus_log, uniform

__all__ = ["KINDS", "Param", "SearchResult", "Trial", "check_space", "choice", "draw", "integer", "log_uniform",
           "one_minus_log", "plot_trials", "random_search", "uniform"]
