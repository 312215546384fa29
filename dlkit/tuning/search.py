"""``random_search``: rounds of random trials, each round zoomed around the best so far; resumable.

Built on Optuna (Akiba et al., "Optuna: A Next-generation Hyperparameter
Optimization Framework", KDD 2019): its ``RandomSampler`` draws, its study in a
SQLite file under ``out`` keeps every finished trial, so a search killed in
the middle and rerun with the same ``out`` runs only the trials it still owes.
Optuna over KerasTuner: it tunes any Python function (a whole ``training.fit``
run with its data, callbacks and resume, not only a ``build(hp)`` model),
keeps its studies in one file, and is the most used tuning library in Python.

A round is one Optuna study (``round-0``, ``round-1``, ...). Round 0 draws from
the given space; each later round draws from the space narrowed
(:meth:`dlkit.tuning.space.Param.narrow`) around the best ``keep`` fraction of
the trials of all earlier rounds: coarse to fine, as the course notes draw it.
"""

import csv
import dataclasses
import io
import json
import logging
import math
import pathlib
import time

from dlkit import files
from dlkit.errors import ConfigError
from dlkit.tuning.space import check_space


@dataclasses.dataclass
class Trial:
    """One finished (or failed) trial.

    Attributes:
        round: the round it belongs to (0: coarse).
        number: its number within the round.
        params: ``{name: value}`` it ran with.
        score: the objective's score (``nan`` for a failed trial).
        metrics: other figures the objective returned (dev/test accuracy, epochs, ...).
        seconds: how long the objective ran.
        state: ``"complete"`` or ``"failed"`` (an error, a non-finite score, or a run killed mid-trial).
    """

    round: int
    number: int
    params: dict
    score: float
    metrics: dict
    seconds: float
    state: str


@dataclasses.dataclass
class SearchResult:
    """What :func:`random_search` returns.

    Attributes:
        trials: every trial of every round, in order.
        spaces: the space each round drew from (``spaces[0]`` is the one given).
        direction: ``"maximize"`` or ``"minimize"``.
    """

    trials: list
    spaces: list
    direction: str

    @property
    def complete(self):
        return [trial for trial in self.trials if trial.state == "complete"]

    def ranked(self):
        """Complete trials, best first."""
        return sorted(self.complete, key=lambda trial: trial.score, reverse=self.direction == "maximize")

    @property
    def best(self):
        ranked = self.ranked()
        return ranked[0] if ranked else None

    def rows(self):
        """One flat dict per trial (params and metrics as columns), for CSV and tables."""
        names = list(self.spaces[0])
        extra = sorted({key for trial in self.trials for key in trial.metrics})
        return [{"round": t.round, "trial": t.number, "state": t.state, "score": t.score,
                 **{name: t.params.get(name) for name in names}, **{key: t.metrics.get(key) for key in extra},
                 "seconds": round(t.seconds, 2)} for t in self.trials]

    def save(self, out):
        """Writes ``trials.csv`` and ``trials.json`` (trials, each round's ranges, the best trial) into ``out``."""
        out = pathlib.Path(out)
        rows = self.rows()
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=list(rows[0]) if rows else ["round", "trial"])
        writer.writeheader()
        writer.writerows(rows)
        files.write_text(out / "trials.csv", table.getvalue())
        summary = {
            "direction": self.direction,
            "best": dataclasses.asdict(self.best) if self.best else None,
            "ranges": [{name: param.describe() for name, param in space.items()} for space in self.spaces],
            "trials": [dataclasses.asdict(trial) for trial in self.trials],
        }
        files.write_text(out / "trials.json", json.dumps(summary, indent=1, default=str))


def _optuna():
    try:
        import optuna
    except ImportError as error:  # a dependency of dlkit; only a broken install lacks it
        raise ConfigError("dlkit.tuning needs Optuna: pip install optuna") from error
    optuna.logging.set_verbosity(logging.WARNING)
    return optuna


def _trials_of(study, round_index, names):
    optuna = _optuna()
    found = []
    for frozen in study.get_trials(deepcopy=False):
        if frozen.state == optuna.trial.TrialState.RUNNING:
            continue
        complete = frozen.state == optuna.trial.TrialState.COMPLETE
        found.append(Trial(round_index, frozen.number, {name: frozen.user_attrs.get(f"param:{name}") for name in names},
                           frozen.value if complete else math.nan,
                           {key[7:]: value for key, value in frozen.user_attrs.items() if key.startswith("metric:")},
                           float(frozen.user_attrs.get("seconds", 0.0)), "complete" if complete else "failed"))
    return found


def _narrowed(space, earlier, keep, margin, direction):
    ranked = sorted((trial for trial in earlier if trial.state == "complete"), key=lambda trial: trial.score,
                    reverse=direction == "maximize")
    best = ranked[:max(1, math.ceil(keep * len(ranked)))]
    if not best:
        return space
    return {name: param.narrow([trial.params[name] for trial in best], margin) for name, param in space.items()}


def random_search(objective, space, trials=20, *, rounds=1, keep=0.25, margin=0.25, direction="maximize", out=None,
                  seed=0, initial=(), verbose=1):
    """Random search on the right scales, coarse to fine over ``rounds``; resumable with ``out``.

    Args:
        objective: ``objective(params) -> score`` or ``-> {"score": score, **other_metrics}``;
            ``params`` is ``{name: value}``. An exception or a non-finite score marks
            the trial failed (the search goes on; a ``KeyboardInterrupt`` stops it).
        space: ``{name: Param}`` (:mod:`dlkit.tuning.space`).
        trials: trials per round.
        rounds: 1 for a plain random search; each further round draws from the
            space narrowed around the best ``keep`` fraction of all earlier trials.
        keep: fraction of the trials that sets the next round's ranges.
        margin: how far around the best trials the next range reaches, in
            multiples of their spread on the drawing scale.
        direction: ``"maximize"`` (accuracy) or ``"minimize"`` (loss, error).
        out: folder for ``tuning.db`` (the Optuna studies), ``trials.csv`` and
            ``trials.json``. A rerun with the same folder keeps the finished
            trials and runs the rest; a trial killed mid-run is recorded failed
            and drawn again. ``None``: in memory only.
        seed: seed of the draws (round ``r``'s sampler is seeded from ``seed``,
            ``r`` and the trials it already has, so a resumed search draws new values).
        initial: ``{name: value}`` settings to try first, in round 0 (e.g. the
            defaults, so the search is compared with them on the same footing);
            they count among its ``trials``.
        verbose: 0 silent; 1 a line per trial.

    Returns:
        A :class:`SearchResult`.

    Raises:
        ConfigError: a bad space, count, fraction or direction.
    """
    optuna = _optuna()
    space = check_space(space)
    for label, value, ok in (("trials", trials, isinstance(trials, int) and trials >= 1),
                             ("rounds", rounds, isinstance(rounds, int) and rounds >= 1),
                             ("keep", keep, 0 < keep <= 1), ("margin", margin, margin >= 0),
                             ("direction", direction, direction in ("maximize", "minimize"))):
        if not ok:
            raise ConfigError(f"random_search: {label} is out of range (trials, rounds >= 1; 0 < keep <= 1; "
                              f"margin >= 0; direction maximize|minimize). Received: {label}={value!r}")
    storage = None
    if out is not None:
        out = pathlib.Path(out)
        out.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(out / 'tuning.db').resolve()}"
    names = list(space)
    spaces, found = [space], []
    for round_index in range(rounds):
        if round_index:
            spaces.append(_narrowed(spaces[-1], found, keep, margin, direction))
        round_space = spaces[-1]
        study = optuna.create_study(study_name=f"round-{round_index}", storage=storage, direction=direction,
                                    load_if_exists=True)
        if round_index == 0 and not study.get_trials(deepcopy=False):
            for settings in initial:
                study.enqueue_trial(_unit_values(round_space, settings))
        for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(frozen.number, state=optuna.trial.TrialState.FAIL)  # killed mid-trial by an earlier run
        owed = trials - sum(trial.state == optuna.trial.TrialState.COMPLETE for trial in study.get_trials())
        study.sampler = optuna.samplers.RandomSampler(seed=seed + 100_003 * round_index + len(study.get_trials()))
        for _ in range(max(owed, 0)):
            _run_trial(study, round_index, round_space, objective, verbose)
        found += _trials_of(study, round_index, names)
        if out is not None:
            SearchResult(found, spaces, direction).save(out)
    return SearchResult(found, spaces, direction)


def _unit_values(space, settings):
    """``settings`` as the draws ``Param.suggest`` records (the uniform scale; a choice's index)."""
    unknown = set(settings) - set(space)
    if unknown or set(space) - set(settings):
        raise ConfigError(f"random_search: initial settings must give every hyperparameter of the space, and only "
                          f"those ({', '.join(space)}). Received: {settings}")
    units = {}
    for name, param in space.items():
        value = settings[name]
        if param.kind == "choice":
            if value not in param.choices:
                raise ConfigError(f"random_search: initial {name} is not one of {list(param.choices)}. "
                                  f"Received: {name}={value!r}")
            units[name] = param.choices.index(value)
        else:
            low, high = param.unit_range()
            units[name] = min(max(param.to_unit(value), low), high)
    return units


def _run_trial(study, round_index, space, objective, verbose):
    optuna = _optuna()
    trial = study.ask()
    params = {name: param.suggest(trial, name) for name, param in space.items()}
    for name, value in params.items():
        trial.set_user_attr(f"param:{name}", value)
    started = time.perf_counter()
    try:
        outcome = objective(dict(params))
    except KeyboardInterrupt:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    except Exception as error:  # noqa: BLE001 - a failed trial is a result; the search goes on
        trial.set_user_attr("seconds", time.perf_counter() - started)
        trial.set_user_attr("metric:error", f"{type(error).__name__}: {error}"[:300])
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        if verbose:
            print(f"tuning: round {round_index} trial {trial.number} failed: {type(error).__name__}: {error}",
                  flush=True)
        return
    metrics = dict(outcome) if isinstance(outcome, dict) else {"score": outcome}
    score = float(metrics.pop("score"))
    trial.set_user_attr("seconds", time.perf_counter() - started)
    for key, value in metrics.items():
        trial.set_user_attr(f"metric:{key}", value)
    if not math.isfinite(score):
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial, score)
    if verbose:
        shown = ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                          for name, value in params.items())
        print(f"tuning: round {round_index} trial {trial.number}: score {score:.4f} ({shown}), "
              f"{time.perf_counter() - started:.1f} s", flush=True)
