"""The figures of van Rijn and Hutter (KDD 2018): importance across tasks (a violin per
hyperparameter, sorted by median), and per task the importance bars and the marginal curves of
the most important hyperparameters (the surrogate's mean score against the value, with the band
of one standard deviation over the trees). matplotlib is imported only here.

The ``*_figure`` functions return a matplotlib ``Figure`` built without pyplot, so they neither
need nor change a backend (a notebook displays them inline); ``plot_*`` write PNG files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metabase.errors import InputError


def _figure(rows: int, columns: int, size: tuple[float, float]):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError("plots need matplotlib: pip install 'metabase[plot]'") from None
    fig = Figure(figsize=size)
    return fig, fig.subplots(rows, columns, squeeze=False)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def plot_across_tasks(result, path: str | Path) -> Path:
    """:func:`across_tasks_figure` as a PNG file."""
    return _save(across_tasks_figure(result), path)


def plot_tasks(result, task_ids, path: str | Path) -> Path:
    """:func:`tasks_figure` as a PNG file."""
    return _save(tasks_figure(result, task_ids), path)


def across_tasks_figure(result):
    """A violin per hyperparameter of its importance over the tasks (most important first), with
    the median marked; hyperparameters constant in every run are named in the title.
    """
    names = result.ranking()
    if not names:
        raise InputError(
            "nothing to plot: no task has an importance (do all its runs score alike?)"
        )
    values = [[t.importance[n] for t in result.tasks if n in t.importance] for n in names]
    fig, axes = _figure(1, 1, (max(5.0, 1.1 * len(names) + 1.5), 4.5))
    ax = axes[0][0]
    positions = np.arange(1, len(names) + 1)
    spread = [i for i, v in enumerate(values) if len(v) > 1 and np.ptp(v) > 0]
    if spread:
        ax.violinplot(
            [values[i] for i in spread], positions=positions[spread], showextrema=False, widths=0.8
        )
    ax.boxplot(values, positions=positions, widths=0.15, showfliers=False)
    ax.scatter(
        positions, [np.median(v) for v in values], color="black", s=12, zorder=3, label="median"
    )
    ax.set_xticks(positions, names, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("variance explained (fANOVA)")
    analysed = sum(1 for t in result.tasks if t.importance)
    title = f"{result.pipeline}: importance over {analysed} tasks ({result.measure})"
    if result.constant:
        title += "\nconstant: " + ", ".join(sorted(result.constant))
    ax.set_title(title, fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    fig.set_layout_engine("tight")
    return fig


def tasks_figure(result, task_ids):
    """One row per task: the importance of each hyperparameter (bars), then the marginal curve of
    each of its most important hyperparameters.
    """
    tasks = [result.task(t) for t in task_ids]
    columns = 1 + max((len(t.curves) for t in tasks), default=0)
    fig, axes = _figure(len(tasks), columns, (3.6 * columns, 3.0 * len(tasks)))
    for row, task in zip(axes, tasks):
        _bars(row[0], task, result)
        for ax, curve in zip(row[1:], task.curves):
            curve_axes(ax, curve, task, result.measure)
        for ax in row[1 + len(task.curves) :]:
            ax.axis("off")
    fig.set_layout_engine("tight")
    return fig


def _bars(ax, task, result) -> None:
    if not task.importance:
        ax.text(
            0.5,
            0.5,
            task.note or "no importance",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_title(f"task {task.task_id}", fontsize=9)
        return
    order = sorted(task.importance, key=lambda n: -task.importance[n])
    ax.barh(range(len(order)), [task.importance[n] for n in order], color="tab:blue")
    ax.set_yticks(range(len(order)), order, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("variance explained")
    ax.set_title(f"task {task.task_id} ({task.runs} runs)", fontsize=9)


def curve_axes(ax, curve, task, measure: str) -> None:
    """Draw one marginal (a :class:`~metabase.importance.records.Curve` of ``task``) on ``ax``."""
    mean, std = np.array(curve.mean), np.array(curve.std)
    if curve.categorical:
        ax.errorbar(range(len(curve.x)), mean, yerr=std, fmt="o", color="tab:orange", capsize=4)
        ax.set_xticks(range(len(curve.x)), curve.x, fontsize=7)
        ax.set_xlim(-0.5, len(curve.x) - 0.5)
    else:
        x = np.array(curve.x, dtype=float)
        ax.plot(x, mean, color="tab:orange")
        ax.fill_between(x, mean - std, mean + std, color="tab:orange", alpha=0.25)
    ax.set_xlabel(curve.hyperparameter, fontsize=8)
    ax.set_ylabel(f"marginal {measure}", fontsize=7)
    ax.set_title(
        f"{curve.hyperparameter}: {task.importance.get(curve.hyperparameter, 0):.2f}", fontsize=9
    )
