"""The meta-models' quality on a held-out slice of the store, measured after each of the bot's
retrains (``metabase status`` shows it over time).

The protocol is the simulation's (:func:`metabase.bot.simulate.measure`): models trained on every
task but the held-out ones rank each held-out task's stored pool, and the zero-shot ``default``'s
regret@10 and the sequential default's regret@10 are their means over the held-out tasks. The
held-out slice is a fifth of the tasks with a pool worth ranking (:data:`MIN_POOL` runs), those
whose stable hash of the task id is smallest: the same tasks at every retrain while the store's
tasks with such a pool stay the same, whatever order they come in, so that one measurement
compares with the next (each measurement names its slice, so a change shows).
Bounded so that the retrain stays off the bot's critical path: at most :data:`MAX_TEST_TASKS`
held-out tasks (the sequential default is trained once per held-out task, a few seconds each on
openml-pimp) and :data:`MAX_POOL` runs of each held-out pool. Pure: frames in, a dict out.
"""

from __future__ import annotations

import hashlib
import math
import time

import numpy as np
import pandas as pd

from metabase.bot.simulate import TEST_SHARE, K, measure
from metabase.recommend.data import usable_tasks

MIN_TASKS = 5  # learnable tasks needed to hold a fifth out and still learn across the rest
MIN_POOL = 2 * K  # a held-out task's runs: with fewer, regret@10 says little (10 of 10 is 0)
MAX_TEST_TASKS = 8
MAX_POOL = 200


def task_hash(task_id: int) -> int:
    """A hash of the task id that is the same in every process and Python version."""
    return int.from_bytes(hashlib.sha1(f"metabase-quality:{int(task_id)}".encode()).digest()[:8])


def held_out(task_ids, share: float = TEST_SHARE, cap: int = MAX_TEST_TASKS) -> list[int]:
    """The held-out slice: ``share`` of ``task_ids`` (at least one, at most ``cap``), those with
    the smallest :func:`task_hash`.
    """
    order = sorted({int(t) for t in task_ids}, key=lambda t: (task_hash(t), t))
    n = min(cap, max(1, round(share * len(order))))
    return sorted(order[:n])


def measure_quality(runs: pd.DataFrame, tasks: pd.DataFrame, k: int = K) -> dict:
    """``runs``: task_id, pipeline, config, score (higher is better); ``tasks``: task_id and the
    meta-features. Returns ``{"tasks", "held_out", "train_tasks", "zero_shot_regret@k",
    "sequential_regret@k", "seconds"}`` (``held_out``: the slice's task ids), or
    ``{"skipped": reason}`` when the store is too small to hold tasks out.
    """
    start = time.perf_counter()
    runs = runs.loc[runs["score"].notna(), ["task_id", "pipeline", "config", "score"]]
    runs = runs.reset_index(drop=True)
    learnable = usable_tasks(runs) if len(runs) else []
    if len(learnable) < MIN_TASKS:
        return {
            "skipped": f"{len(learnable)} learnable tasks (at least {MIN_TASKS} are needed to "
            "hold a fifth out and learn from the rest)"
        }
    sizes = runs.groupby("task_id").size()
    eligible = [t for t in learnable if sizes[t] >= MIN_POOL]
    if not eligible:
        return {"skipped": f"no learnable task has {MIN_POOL} runs to rank"}
    test = held_out(eligible)
    keep = []
    for task, rows in runs.groupby("task_id").indices.items():
        if int(task) in test and len(rows) > MAX_POOL:  # a deterministic sample of the pool
            rows = np.sort(np.random.default_rng([int(task), 17]).choice(rows, MAX_POOL, False))
        keep.append(rows)
    runs = runs.iloc[np.sort(np.concatenate(keep))].reset_index(drop=True)
    known = np.flatnonzero(~runs["task_id"].isin(test).to_numpy())
    zero, sequential = measure(runs, tasks, known, test, seed=0, k=k)
    return {
        "tasks": len(test),
        "held_out": test,
        "train_tasks": len(learnable) - len(test),
        f"zero_shot_regret@{k}": _number(zero),
        f"sequential_regret@{k}": _number(sequential),
        "seconds": round(time.perf_counter() - start, 2),
    }


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 6)
