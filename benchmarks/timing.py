"""What every benchmark here shares: interleaved rounds, median ratios, and the machine's load around them.

A figure taken while other programs use the cores is not a figure: a ratio of
two timings moves with whatever else runs, and not evenly (a C++ kernel with
its own threads loses more to a busy machine than one graph does). So every
benchmark

- runs dlkit and its anchor in the same process on the same data,
- interleaves them in rounds (one call of each side per round, the order
  rotated every round, so neither side always runs first or always runs
  after a warm cache),
- reports the **median over rounds** of the per-round ratio, for wall-clock time
  and for this process's CPU time,
- records the 1-minute load average before and after, and warns (on stderr and
  as ``"busy": true`` in the JSON) when it exceeds the number of cores.

Usage in a script::

    from timing import Session, interleave   # benchmarks/ is on sys.path when a script runs

    session = Session("nms")                  # reads the load average
    rounds = interleave({"dlkit": ours, "tf": theirs}, rounds=7)
    figures = {"ratio": rounds.ratio("dlkit", "tf"), **rounds.summary()}
    session.finish({"boxes_1000": figures})   # prints one JSON object with the load before/after

Each callable must finish its work before it returns (call ``.numpy()`` or
``float()`` on a result), or the time measures only the dispatch.
"""

import dataclasses
import json
import os
import platform
import statistics
import sys
import time


def load_average():
    """The 1-minute load average (``os.getloadavg()[0]``), rounded to 2 decimals; ``None`` where unavailable."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def cores():
    """CPU cores this process may use (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine():
    """A short description of where the figures were taken: CPU, cores, Python, Keras and its backend."""
    described = {"machine": platform.machine(), "cores": cores(), "python": platform.python_version()}
    keras = sys.modules.get("keras")
    if keras is not None:
        described["keras"] = keras.__version__
        described["keras_backend"] = keras.backend.backend()
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None:
        described["tensorflow"] = tensorflow.__version__
    return described


def _too_busy(load):
    return load is not None and load > cores()


@dataclasses.dataclass
class Rounds:
    """Per-round seconds of each side of an interleaved benchmark.

    Attributes:
        wall: ``{side: [wall seconds per round]}``.
        cpu: ``{side: [process CPU seconds per round]}``.
        work: ``{side: units of work per call}`` (images, words, steps), for rates.
    """

    wall: dict
    cpu: dict
    work: dict

    def ratio(self, side, anchor, clock="wall"):
        """Median over rounds of ``time(side) / time(anchor)`` per unit of work (< 1: ``side`` is faster).

        Args:
            side: the side measured (usually ``"dlkit"``).
            anchor: the side it is compared with.
            clock: ``"wall"`` or ``"cpu"`` (this process's CPU seconds, user + system, all threads).
        """
        times = getattr(self, clock)
        per_round = [(mine / self.work[side]) / (theirs / self.work[anchor])
                     for mine, theirs in zip(times[side], times[anchor])]
        return round(statistics.median(per_round), 3)

    def speed_ratio(self, side, anchor, clock="wall"):
        """Median over rounds of ``rate(side) / rate(anchor)`` (> 1: ``side`` is faster); the inverse of ``ratio``."""
        times = getattr(self, clock)
        per_round = [(theirs / self.work[anchor]) / (mine / self.work[side])
                     for mine, theirs in zip(times[side], times[anchor])]
        return round(statistics.median(per_round), 3)

    def median_seconds(self, side, clock="wall"):
        """Median seconds of one call of ``side``."""
        return statistics.median(getattr(self, clock)[side])

    def rate(self, side, clock="wall"):
        """Median units of work per second of ``side`` (per CPU second with ``clock="cpu"``)."""
        return round(statistics.median(self.work[side] / seconds for seconds in getattr(self, clock)[side]), 2)

    def summary(self, unit="ms"):
        """Median milliseconds (or seconds, ``unit="s"``) per call of every side, wall and CPU, and the round count."""
        scale = 1000.0 if unit == "ms" else 1.0
        summary = {"rounds": len(next(iter(self.wall.values())))}
        for side in self.wall:
            summary[f"{side}_{unit}"] = round(scale * self.median_seconds(side), 3)
            summary[f"{side}_cpu_{unit}"] = round(scale * self.median_seconds(side, "cpu"), 3)
        return summary


def interleave(sides, rounds=7, warmup=1, work=None):
    """Times every side once per round, rotating the order each round.

    Args:
        sides: ``{name: callable}``; each call does one unit of the benchmark and
            returns when its work is done.
        rounds: timed rounds (at least 3 for a median that one outlier does not move).
        warmup: untimed calls of each side first (tracing, compiling, caches).
        work: ``{name: units of work per call}`` for ``Rounds.rate``; 1 each by default.

    Returns:
        ``Rounds``.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1. Received: rounds={rounds}")
    names = list(sides)
    for _ in range(warmup):
        for name in names:
            sides[name]()
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            started, started_cpu = time.perf_counter(), time.process_time()
            sides[name]()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return Rounds(wall, cpu, {name: (work or {}).get(name, 1) for name in names})


class Session:
    """One benchmark run: the machine and load before, the figures, the load after, a warning when busy.

    Args:
        name: the benchmark's name (the script's).
        settings: the run's settings, copied into the report.
        sensitive: what in the report a busy machine spoils, for the warning.
    """

    def __init__(self, name, settings=None, sensitive="the ratios"):
        self.name = name
        self.sensitive = sensitive
        self.settings = dict(settings or {})
        self.load_before = load_average()
        self.started = time.perf_counter()
        if _too_busy(self.load_before):
            self._warn(self.load_before, "before")

    def _warn(self, load, when):
        print(f"warning: {self.name}: the 1-minute load average {when} the run is {load} on {cores()} cores; "
              f"other programs share the cores and {self.sensitive} below are not figures to quote. "
              "Stop them and rerun.",
              file=sys.stderr)

    def finish(self, figures, stream=None):
        """Prints and returns the report: benchmark, machine, settings, load_average, busy, then ``figures``."""
        load_after = load_average()
        if _too_busy(load_after):
            self._warn(load_after, "after")
        report = {
            "benchmark": self.name,
            "machine": machine(),
            "settings": self.settings,
            "load_average": {"before": self.load_before, "after": load_after},
            "busy": _too_busy(self.load_before) or _too_busy(load_after),
            "seconds": round(time.perf_counter() - self.started, 1),
            **figures,
        }
        print(json.dumps(report, indent=1), file=stream or sys.stdout)
        return report
