"""``metabase status --plot PATH``: a PNG of the bot's runs over time (per hour, by run status)
beside the meta-models' quality over time (held-out regret@10 after each retrain), and the best
score per task over time below them.
"""

from __future__ import annotations

from pathlib import Path

QUALITY_LINES = (
    ("zero_shot_regret", "zero-shot default"),
    ("sequential_regret", "sequential default"),
)


def read(con) -> dict:
    """The plot's data: ``{"runs": [{hour, status, runs}], "best": [{task_id, at, best}],
    "quality": [{at, runs, k, zero_shot_regret, sequential_regret, ...}]}``.
    """
    from metabase.store import bot_history as store

    return {
        "runs": store.timeline(con),
        "best": store.best_over_time(con),
        "quality": store.qualities(con),
    }


def draw(data: dict, path: str | Path):
    """Write the three panels to ``path``; returns the figure's data as drawn:
    ``{"runs": {status: [(hour, runs)]}, "best": {task_id: [(at, best)]},
    "quality": {"zero_shot_regret@k": [(at, regret)], "sequential_regret@k": [...]}}``.
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
    quality: dict[str, list] = {}
    for row in data.get("quality", []):
        for column, _ in QUALITY_LINES:
            if row[column] is not None:
                quality.setdefault(f"{column}@{row['k']}", []).append((row["at"], row[column]))

    fig = plt.figure(figsize=(12, 7))
    runs_ax, quality_ax = fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2)
    best_ax = fig.add_subplot(2, 1, 2)
    for status, points in sorted(by_status.items()):
        runs_ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=status)
    runs_ax.set_ylabel("runs per hour")
    runs_ax.set_title("the bot's runs by status")
    for column, label in QUALITY_LINES:
        for name, points in quality.items():
            if name.rsplit("@", 1)[0] == column:
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                quality_ax.plot(xs, ys, marker="o", label=f"{label} regret@{name.rsplit('@')[1]}")
    if not quality:
        quality_ax.text(0.5, 0.5, "no measurement yet", ha="center", va="center")
    quality_ax.set_ylabel("held-out regret (mean; lower is better)")
    quality_ax.set_title("the meta-models' quality after each retrain")
    for task, points in sorted(by_task.items()):
        best_ax.step([p[0] for p in points], [p[1] for p in points], where="post", label=task)
    best_ax.set_ylabel("best score (main measure)")
    best_ax.set_title("best score per task")
    for ax, items in ((runs_ax, by_status), (quality_ax, quality), (best_ax, by_task)):
        ax.grid(True, alpha=0.3)
        if items and len(items) <= 12:
            ax.legend(fontsize="small")
        ax.tick_params(axis="x", labelrotation=30)  # dates (autofmt_xdate hides a grid's upper)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return {"path": str(path), "runs": by_status, "best": by_task, "quality": quality}
