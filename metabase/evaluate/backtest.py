"""The leave-one-task-out backtest (HPO-B's discrete protocol).

For each held-out task, every strategy is fitted on all the other tasks and ranks the held-out
task's evaluated configurations; the ranking is scored by normalised regret@k with that task's own
scores. ``random`` is the exact expectation of random search, not one noisy draw.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from metabase.evaluate.regret import expected_random_regret, ranking, regret_curve

RANDOM = "random"


@dataclass(frozen=True)
class BacktestResult:
    tasks: tuple  # held-out task ids
    curves: dict  # strategy -> tasks x max_k array of regret (NaN past n)
    seconds: dict = field(default_factory=dict)  # strategy -> total fit + predict time

    def mean_curve(self, strategy: str) -> np.ndarray:
        curves = self.curves[strategy]
        # past a task's candidate count its regret stays at its final value (0)
        return np.nanmean(curves, axis=0)

    def regret_at(self, strategy: str, k: int) -> float:
        curve = self.mean_curve(strategy)
        return float(curve[min(k, len(curve)) - 1])

    def picks_to_reach(self, strategy: str, target: float) -> int | None:
        """Smallest k whose mean regret is at most ``target`` (None: never)."""
        hits = np.flatnonzero(self.mean_curve(strategy) <= target + 1e-12)
        return int(hits[0] + 1) if len(hits) else None

    def summary(self, ks: Iterable[int], reference_k: int = 100) -> dict:
        """``{"tasks": N, "strategies": {name: {"regret@k": ..., "picks_to_random@100": k}}}``."""
        ks = list(ks)
        target = self.regret_at(RANDOM, reference_k) if RANDOM in self.curves else None
        out = {}
        for name in self.curves:
            row = {f"regret@{k}": round(self.regret_at(name, k), 4) for k in ks}
            if target is not None:
                row[f"picks_to_random@{reference_k}"] = self.picks_to_reach(name, target)
            if name in self.seconds:
                row["seconds"] = round(self.seconds[name], 2)
            out[name] = row
        return {"tasks": len(self.tasks), "strategies": out}


def backtest(
    prepared,
    strategies: dict[str, Callable],
    tasks: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """``strategies``: name -> factory returning an unfitted strategy. ``prepared``: a
    :class:`~metabase.recommend.data.Prepared` meta-dataset (encodings are shared by all folds).
    """
    held_out = list(prepared.task_ids if tasks is None else tasks)
    scores_by_task = {t: g.to_numpy() for t, g in prepared.runs.groupby("task_id")["score"]}
    width = max(len(scores_by_task[t]) for t in held_out)
    curves = {RANDOM: np.full((len(held_out), width), np.nan)}
    curves.update(
        {name: np.full((len(held_out), width), np.nan) for name in strategies if name != RANDOM}
    )
    seconds = {name: 0.0 for name in curves}
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small matrices: BLAS threads only fight over shared cores
        _run_folds(prepared, strategies, held_out, scores_by_task, curves, seconds, progress)
    # a task with fewer candidates than the widest has reached its final regret
    import pandas as pd  # here: recommend imports this package on its warm path

    for array in curves.values():
        frame = pd.DataFrame(array).ffill(axis=1)
        array[:] = frame.to_numpy()
    return BacktestResult(tuple(held_out), curves, seconds)


def _run_folds(prepared, strategies, held_out, scores_by_task, curves, seconds, progress) -> None:
    for i, task in enumerate(held_out):
        scores = scores_by_task[task]
        curve = expected_random_regret(scores)
        curves[RANDOM][i, : len(curve)] = curve
        training = prepared.training(exclude=task)
        query = prepared.task_query(task)
        for name, factory in strategies.items():
            if name == RANDOM:
                continue
            start = time.perf_counter()
            result = factory().fit(training).predict(query)
            seconds[name] += time.perf_counter() - start
            curve = regret_curve(scores, ranking(result.rank_value, seed=task))
            curves[name][i, : len(curve)] = curve
        if progress:
            progress(i + 1, len(held_out))
