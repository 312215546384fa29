"""Hyperparameters drawn on the right scale, and narrowed around the best trials.

Sampling uniformly at random is what the course notes recommend over a grid (a
grid spends most trials on the hyperparameters that matter least), *on the scale
where the hyperparameter acts*:

- a learning rate in [1e-4, 1] is drawn as ``10**r`` with ``r`` uniform in
  [-4, 0] (:func:`log_uniform`): each decade gets the same share of trials,
  where a uniform draw would put 90% of them in [0.1, 1];
- a momentum or an Adam β near 1 is drawn as ``1 - 10**r`` (:func:`one_minus_log`):
  β in [0.9, 0.999] is ``r`` uniform in [-3, -1], so [0.9, 0.99] and
  [0.99, 0.999] get half the trials each. The average over ``1 / (1 - β)``
  steps is what β sets, and that moves most near 1.

Every :class:`Param` maps its values to the ``unit`` scale where its draws are
uniform (``log10 x``, ``log10 (1 - x)``, ``x``), which is also where
:meth:`Param.narrow` zooms in (coarse to fine) and the axis its picture uses.

Reference: Bergstra & Bengio, "Random Search for Hyper-Parameter Optimization",
JMLR 13 (2012); Ng, Deep Learning Specialization, course 2 week 3.
"""

import dataclasses
import math

import numpy as np

from dlkit.errors import ConfigError

KINDS = ("log_uniform", "one_minus_log", "uniform", "integer", "choice")


@dataclasses.dataclass(frozen=True)
class Param:
    """One hyperparameter's range and the scale it is drawn on.

    Build one with :func:`log_uniform`, :func:`one_minus_log`, :func:`uniform`,
    :func:`integer` or :func:`choice`.

    Attributes:
        kind: one of :data:`KINDS`.
        low: smallest value (numeric kinds).
        high: largest value (numeric kinds).
        choices: the options (``"choice"``).
        log: ``"integer"`` only: draw on a log scale (unit counts, batch sizes).
    """

    kind: str
    low: float = None
    high: float = None
    choices: tuple = ()
    log: bool = False

    @property
    def numeric(self):
        return self.kind != "choice"

    def to_unit(self, value):
        """The value on the scale where draws are uniform."""
        value = float(value)
        if self.kind == "log_uniform" or (self.kind == "integer" and self.log):
            return math.log10(value)
        if self.kind == "one_minus_log":
            return math.log10(1.0 - value)
        return value

    def from_unit(self, unit):
        """The value at a point of the uniform scale (integers rounded, kept in range)."""
        if self.kind == "log_uniform":  # 12 significant digits: 10**log10(0.002) reads 0.002, not 0.0020000000000000005
            return float(f"{10.0**unit:.12g}")
        if self.kind == "one_minus_log":
            return float(f"{1.0 - 10.0**unit:.12g}")
        if self.kind == "integer":
            value = 10.0**unit if self.log else unit
            return int(min(max(round(value), self.low), self.high))
        return float(unit)

    def unit_range(self):
        """``(low, high)`` on the uniform scale (``one_minus_log``: ``log10(1 - high) < log10(1 - low)``)."""
        ends = sorted((self.to_unit(self.low), self.to_unit(self.high)))
        if self.kind == "integer":  # each integer gets its share: widen by half a step on the drawing scale
            ends = ([math.log10(self.low - 0.499), math.log10(self.high + 0.499)] if self.log
                    else [self.low - 0.499, self.high + 0.499])
        return ends[0], ends[1]

    def sample(self, rng):
        """One value drawn with a NumPy ``Generator``."""
        if self.kind == "choice":
            return self.choices[int(rng.integers(len(self.choices)))]
        low, high = self.unit_range()
        return self.from_unit(rng.uniform(low, high))

    def suggest(self, trial, name):
        """One value drawn through an Optuna trial (the uniform draw is recorded as ``name``)."""
        if self.kind == "choice":
            index = trial.suggest_int(name, 0, len(self.choices) - 1)
            return self.choices[index]
        low, high = self.unit_range()
        return self.from_unit(trial.suggest_float(name, low, high))

    def narrow(self, values, margin=0.25):
        """This range zoomed around ``values`` (the best trials'), on the uniform scale.

        The new range spans the values, widened on each side by ``margin`` times
        their spread (at least ``margin`` x 10% of the old range, so one best trial
        still leaves room around it), and stays inside the old range. A
        ``choice`` keeps the options the values used.
        """
        if not values:
            return self
        if self.kind == "choice":
            kept = tuple(option for option in self.choices if option in values)
            return dataclasses.replace(self, choices=kept or self.choices)
        units = [self.to_unit(value) for value in values]
        old_low, old_high = sorted((self.to_unit(self.low), self.to_unit(self.high)))
        spread = max(max(units) - min(units), 0.1 * (old_high - old_low))
        low = max(old_low, min(units) - margin * spread)
        high = min(old_high, max(units) + margin * spread)
        ends = sorted((self.from_unit(low), self.from_unit(high)))
        return dataclasses.replace(self, low=ends[0], high=ends[1])

    def describe(self):
        """E.g. ``"log-uniform [0.0001, 0.1]"`` or ``"1 - 10^r in [0.9, 0.999]"``."""
        if self.kind == "choice":
            return f"one of {list(self.choices)}"
        label = {"log_uniform": "log-uniform", "one_minus_log": "1 - 10^r", "uniform": "uniform",
                 "integer": "integer, log scale" if self.log else "integer"}[self.kind]
        return f"{label} in [{self.low:.4g}, {self.high:.4g}]"


def _numeric(kind, low, high, **extra):
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and low < high):
        raise ConfigError(f"{kind} needs numbers low < high. Received: low={low}, high={high}")
    return Param(kind, low, high, **extra)


def log_uniform(low, high):
    """``10**r`` with ``r`` uniform in ``[log10 low, log10 high]``: learning rates, L2 penalties, weight decay.

    Raises:
        ConfigError: ``low <= 0`` or ``low >= high``.
    """
    if not (isinstance(low, (int, float)) and low > 0):
        raise ConfigError(f"log_uniform needs 0 < low < high. Received: low={low}, high={high}")
    return _numeric("log_uniform", low, high)


def one_minus_log(low, high):
    """``1 - 10**r``: momentum, Adam's β1 and β2, an exponential average's β, in ``[low, high]`` with ``high < 1``.

    Raises:
        ConfigError: not ``0 <= low < high < 1``.
    """
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and 0 <= low < high < 1):
        raise ConfigError(f"one_minus_log needs 0 <= low < high < 1. Received: low={low}, high={high}")
    return Param("one_minus_log", low, high)


def uniform(low, high):
    """Uniform in ``[low, high]``: dropout rates and other hyperparameters that act linearly."""
    return _numeric("uniform", low, high)


def integer(low, high, log=False):
    """An integer in ``[low, high]``; ``log=True`` for unit counts and batch sizes (each decade the same share)."""
    if not (isinstance(low, int) and isinstance(high, int) and low < high and (low > 0 or not log)):
        raise ConfigError(f"integer needs integers low < high (low > 0 with log=True). Received: low={low}, "
                          f"high={high}, log={log}")
    return Param("integer", low, high, log=bool(log))


def choice(*options):
    """One of ``options``, each equally likely (optimizers, activations, architectures)."""
    if len(options) < 2:
        raise ConfigError(f"choice needs at least two options. Received: options={list(options)}")
    return Param("choice", choices=tuple(options))


def check_space(space):
    """Checks ``{name: Param}``; returns it as a dict.

    Raises:
        ConfigError: an empty space, or a value that is not a :class:`Param`.
    """
    if not space:
        raise ConfigError("the search space is empty: give at least one {name: Param}. Received: space={}")
    for name, param in space.items():
        if not isinstance(param, Param):
            raise ConfigError(f"every hyperparameter needs a range from dlkit.tuning (log_uniform, one_minus_log, "
                              f"uniform, integer, choice). Received: {name}={param!r}")
    return dict(space)


def draw(space, count, seed=0):
    """``count`` draws of every hyperparameter with NumPy (what a trial would get), as a list of dicts."""
    rng = np.random.default_rng(seed)
    return [{name: param.sample(rng) for name, param in check_space(space).items()} for _ in range(count)]
