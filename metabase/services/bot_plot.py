"""``metabase status --plot PATH``: a PNG of the bot's runs over time (per hour, by run status)
and the best score per task over time.
"""

from __future__ import annotations

from pathlib import Path


def read(con) -> dict:
    """The plot's data: ``{"runs": [{hour, status, runs}], "best": [{task_id, at, best}]}``."""
    from metabase.store import bot_history as store

    return {"runs": store.timeline(con), "best": store.best_over_time(con)}


def draw(data: dict, path: str | Path):
    """Write the two panels to ``path``; returns the figure's data as drawn:
    ``{"runs": {status: [(hour, runs)]}, "best": {task_id: [(at, best)]}}``.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: never a display
    import matplotlib.pyplot as plt

    by_status: dict[str, list] = {}
    for row in data["runs"]:
        by_status.setdefault(row["status"], []).append((row["hour"], row["runs"]))
    by_task: dict[int, list] = {}
    for row in data["best"]:
        by_task.setdefault(int(row["task_id"]), []).append((row["at"], row["best"]))

    fig, (runs_ax, best_ax) = plt.subplots(2, 1, figsize=(8, 7), sharex=False)
    for status, points in sorted(by_status.items()):
        runs_ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=status)
    runs_ax.set_ylabel("runs per hour")
    runs_ax.set_title("the bot's runs by status")
    for task, points in sorted(by_task.items()):
        best_ax.step([p[0] for p in points], [p[1] for p in points], where="post", label=task)
    best_ax.set_ylabel("best score (main measure)")
    best_ax.set_title("best score per task")
    for ax, items in ((runs_ax, by_status), (best_ax, by_task)):
        ax.grid(True, alpha=0.3)
        if items and len(items) <= 12:
            ax.legend(fontsize="small")
    fig.autofmt_xdate()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return {"path": str(path), "runs": by_status, "best": by_task}
