"""The evaluate facade: a meta-dataset directory -> leave-one-task-out regret per strategy."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from metabase.errors import InputError

DEFAULT_KS = (1, 3, 5, 10, 25, 100)
DEFAULT_STRATEGIES = ("random", "default", "surrogate", "knn", "portfolio", "lowrank")


def parse_ks(text: str | None) -> list[int]:
    if not text:
        return list(DEFAULT_KS)
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise InputError(
            f"--k {text!r}: expected comma-separated integers, e.g. 1,3,5,10"
        ) from None
    if not ks or ks[0] < 1:
        raise InputError("--k values must be positive integers")
    return ks


def evaluate(
    directory: str | Path,
    strategies: list[str] | None = None,
    ks: list[int] | None = None,
    max_tasks: int | None = None,
    plot: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """``{"tasks": N, "strategies": {name: {"regret@k": ..., "picks_to_random@100": k}}}``.

    ``max_tasks`` holds out only that many tasks (evenly spread), each still trained on all others:
    a quicker estimate for large meta-datasets.
    """
    from metabase import metadataset
    from metabase.evaluate import backtest
    from metabase.recommend import create, names
    from metabase.recommend.data import Prepared

    ks = list(ks or DEFAULT_KS)
    if max_tasks is not None and (
        isinstance(max_tasks, bool) or not isinstance(max_tasks, int) or max_tasks < 1
    ):
        raise InputError(
            f"--max-tasks must be a positive integer, not {max_tasks!r} (omit it for all tasks)"
        )
    if plot:
        from metabase.evaluate.plot import check_plot_path

        plot = check_plot_path(plot)
    chosen = list(strategies or DEFAULT_STRATEGIES)
    unknown = [s for s in chosen if s not in names()]
    if unknown:
        raise InputError(
            f"unknown strategy {', '.join(unknown)}; choose from {', '.join(names())}"
        )
    if "random" not in chosen:
        chosen.insert(0, "random")
    if "default" not in chosen:
        chosen.insert(1, "default")
    meta = metadataset.read(directory)
    if meta.runs.empty:
        raise InputError(f"{directory}: the meta-dataset has no runs")
    if meta.runs["score"].nunique() <= 1:
        raise InputError(
            f"{directory}: every run has the same score, so no ranking can be evaluated"
        )
    prepared = Prepared.build(meta.runs, meta.tasks)
    tasks = prepared.task_ids
    if max_tasks is not None and max_tasks < len(tasks):
        step = len(tasks) / max_tasks
        tasks = [tasks[int(i * step)] for i in range(max_tasks)]
    factories = {name: (lambda name=name: create(name)) for name in chosen}
    result = backtest(prepared, factories, tasks=tasks, progress=progress)
    summary = result.summary(ks)
    if plot:
        from metabase.evaluate.plot import plot_regret

        plot_regret(result, plot)
    return summary


DEFAULT_SEQUENTIAL = ("random", "default", "gp", "rgpe", "residual", "twins")


def evaluate_sequential(
    directory: str | Path,
    strategies: list[str] | None = None,
    seeds: int = 5,
    start: str = "zero-shot",
    budget: int = 100,
    max_tasks: int | None = None,
    plot: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """The sequential backtest (:mod:`metabase.evaluate.sequential`) of sequential strategies:
    ``{"tasks": N, "protocol": "sequential", "start": ..., "seeds": S, "strategies": {...}}``.
    """
    from metabase.evaluate.sequential import STARTS, run_sequential
    from metabase.recommend.sequential import create_sequential, sequential_names

    chosen = list(strategies or DEFAULT_SEQUENTIAL)
    unknown = [s for s in chosen if s not in sequential_names()]
    if unknown:
        raise InputError(
            f"unknown sequential strategy {', '.join(unknown)}; "
            f"choose from {', '.join(sequential_names())}"
        )
    if start not in STARTS:
        raise InputError(f"--start {start!r}: choose from {', '.join(STARTS)}")
    if seeds < 1 or budget < 1:
        raise InputError("--seeds and the budget must be positive")
    for name in ("default", "random"):
        if name not in chosen:
            chosen.insert(0, name)
    prepared, tasks = _prepare(directory, max_tasks)
    factories = {name: (lambda name=name: create_sequential(name)) for name in chosen}
    result = run_sequential(
        prepared,
        factories,
        tasks=tasks,
        seeds=seeds,
        start=start,
        budget=budget,
        progress=progress,
    )
    if plot:
        from metabase.evaluate.plot import plot_sequential

        plot_sequential(result, plot)
    return result.summary()


def _prepare(directory, max_tasks):
    from metabase import metadataset
    from metabase.recommend.data import Prepared

    meta = metadataset.read(directory)
    if meta.runs.empty:
        raise InputError(f"{directory}: the meta-dataset has no runs")
    if meta.runs["score"].nunique() <= 1:
        raise InputError(
            f"{directory}: every run has the same score, so no ranking can be evaluated"
        )
    prepared = Prepared.build(meta.runs, meta.tasks)
    tasks = prepared.task_ids
    if max_tasks and max_tasks < len(tasks):
        step = len(tasks) / max_tasks
        tasks = [tasks[int(i * step)] for i in range(max_tasks)]
    return prepared, tasks
