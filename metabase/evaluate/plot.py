"""Regret against the number of picks, one line per strategy (PNG, or any format matplotlib
writes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metabase.errors import InputError


def check_plot_path(path: str | Path) -> Path:
    """Refuse a plot path that cannot be written, before the (long) backtest runs: matplotlib
    missing, a directory, or an extension that names no image format matplotlib writes.
    """
    path = Path(path)
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'metabase[plot]'") from None
    if path.is_dir():
        raise InputError(f"--plot {path}: is a directory; give a file name such as regret.png")
    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if path.suffix.lower().lstrip(".") not in formats:
        raise InputError(
            f"--plot {path}: {path.suffix or 'no extension'} is not an image format; "
            f"end the name with one of .{', .'.join(formats)} (e.g. regret.png)"
        )
    return path


def plot_regret(result, path: str | Path, max_k: int = 100) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only: never a display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in result.curves:
        curve = result.mean_curve(name)[:max_k]
        ax.plot(
            np.arange(1, len(curve) + 1),
            curve,
            label=name,
            linestyle="--" if name == "random" else "-",
        )
    ax.set_xscale("log")
    ax.set_xlabel("k (configurations tried)")
    ax.set_ylabel("mean normalised regret@k")
    ax.set_title(f"leave-one-task-out, {len(result.tasks)} tasks")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_sequential(result, path: str | Path) -> Path:
    """Mean regret against trials (log scale), with a band of one standard error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    t = np.arange(1, result.budget + 1)
    for name in result.curves:
        mean, sem = result.mean_curve(name), result.sem_curve(name)
        (line,) = ax.plot(t, mean, label=name, linestyle="--" if name == "random" else "-")
        ax.fill_between(
            t, np.maximum(mean - sem, 0), mean + sem, color=line.get_color(), alpha=0.15
        )
    ax.set_xscale("log")
    ax.set_xlabel("trials")
    ax.set_ylabel("mean normalised regret")
    ax.set_title(
        f"sequential, {result.start} start, {len(result.tasks)} tasks x {result.seeds} seeds"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
