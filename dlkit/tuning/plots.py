"""``plot_trials``: score against each hyperparameter, on the scale it was drawn on."""

import math

from dlkit.tuning.space import Param

#: Panels a row: more would be too small to read on a page.
COLUMNS = 3
ROUND_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _axis_scale(axis, param):
    """Puts the axis on the parameter's drawing scale over its whole range, labelled in the parameter's own values."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ends = sorted((_position(param, param.low), _position(param, param.high)))
    logarithmic = param.kind in ("log_uniform", "one_minus_log") or (param.kind == "integer" and param.log)
    if logarithmic:
        pad = (ends[1] / ends[0]) ** 0.04
        axis.set_xlim(ends[0] / pad, ends[1] * pad)
    else:
        pad = 0.04 * (ends[1] - ends[0])
        axis.set_xlim(ends[0] - pad, ends[1] + pad)
    if param.kind == "log_uniform" or (param.kind == "integer" and param.log):
        axis.set_xscale("log")
    elif param.kind == "one_minus_log":
        # Plotted at 1 - value on a log axis, reversed so that values near 1 are on the right; ticks read as values.
        axis.set_xscale("log")
        axis.invert_xaxis()
        axis.xaxis.set_major_locator(LogLocator(base=10))
        axis.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{1 - x:.{max(0, round(-math.log10(x)))}f}"))


def _position(param, value):
    if param.kind == "choice":
        return param.choices.index(value) if value in param.choices else math.nan
    return 1.0 - value if param.kind == "one_minus_log" else value


def plot_trials(result, path, title=None):
    """Saves the trials as a PNG: one panel per hyperparameter, score on y, each round its colour.

    Each panel's x axis is the hyperparameter's drawing scale (log for
    log-uniform draws; for ``1 - 10^r`` draws, ``1 - value`` on a reversed log
    axis labelled in values, so 0.9, 0.99, 0.999 are evenly spaced); the shaded
    bands are the ranges later rounds drew from; the star is the best trial.

    Args:
        result: a :class:`dlkit.tuning.SearchResult`.
        path: the PNG path.
        title: the figure title.
    """
    from dlkit.evaluation import _pyplot, panel_grid

    plt = _pyplot()
    space = result.spaces[0]
    names = list(space)
    figure, axes = panel_grid(plt, len(names), COLUMNS, (4.4, 3.3))
    best = result.best
    for axis, name in zip(axes, names):
        param: Param = space[name]
        for round_index, round_space in enumerate(result.spaces[1:], start=1):
            narrowed = round_space[name]
            if narrowed.numeric:
                ends = sorted((_position(param, narrowed.low), _position(param, narrowed.high)))
                axis.axvspan(*ends, color=ROUND_COLORS[round_index % len(ROUND_COLORS)], alpha=0.08,
                             label=f"round {round_index} range")
        for round_index in range(len(result.spaces)):
            trials = [trial for trial in result.complete if trial.round == round_index]
            if trials:
                axis.scatter([_position(param, trial.params[name]) for trial in trials],
                             [trial.score for trial in trials], s=28, alpha=0.85,
                             color=ROUND_COLORS[round_index % len(ROUND_COLORS)],
                             label="coarse round" if round_index == 0 else f"round {round_index}")
        if best is not None:
            axis.scatter([_position(param, best.params[name])], [best.score], marker="*", s=220, color="gold",
                         edgecolor="black", zorder=5, label="best trial")
        if param.kind == "choice":
            axis.set_xticks(range(len(param.choices)), [str(option) for option in param.choices])
        else:
            _axis_scale(axis, param)
        axis.set_xlabel(f"{name} ({param.describe()})", fontsize=9)
        axis.set_ylabel("score")
        axis.grid(alpha=0.3)
    entries = {label: handle for axis in axes for handle, label in zip(*axis.get_legend_handles_labels())}
    figure.legend(entries.values(), entries.keys(), loc="outside lower center", ncols=min(len(entries), 4),
                  frameon=False)
    count = len(result.complete)
    figure.suptitle(title or f"Random search: {count} trials, {len(result.spaces)} round(s)")
    figure.savefig(path, dpi=110)
    plt.close(figure)
