"""Prove a policy by simulation: a meta-dataset is the world, and running a configuration is
looking its score up.

Per seed: a fifth of the usable tasks are held out as test tasks; the bot starts knowing a sparse
random 5% of each training task's runs and may "run" any other configuration in a training task's
pool. After every batch the meta-models are retrained on what the bot knows, and the test tasks
measure them, each ranking its whole pool: the zero-shot ``default``'s regret@k (the
leave-one-task-out backtest, :mod:`metabase.evaluate.backtest`) and the sequential default's
regret@k (:mod:`metabase.evaluate.sequential`). The test tasks never teach: every test task is
scored by models trained on the bot's knowledge of the training tasks alone. A seed fixes the
split, the starting knowledge and the policy's draws, so policies compared at one seed start
from the same place. Pure: a :class:`~metabase.metadataset.MetaDataset` in, a dict out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from metabase.bot.policy import Knowledge, create_policy
from metabase.recommend.data import Prepared, Training, usable_tasks

KNOWN_SHARE = 0.05
TEST_SHARE = 0.2
K = 10


@dataclass
class HeldOut(Prepared):
    """A prepared meta-dataset whose folds never train on any of the ``held_out`` tasks."""

    held_out: frozenset = field(default_factory=frozenset)

    def training(self, exclude: int | None = None) -> Training:
        out = self.held_out | ({exclude} if exclude is not None else set())
        task_of_run = self.runs["task_id"].to_numpy()
        tasks = [t for t in self.task_ids if t not in out]
        rows = np.flatnonzero(~np.isin(task_of_run, list(out)))
        return Training(self, np.asarray(tasks), rows)


@dataclass(frozen=True)
class Split:
    train: list
    test: list
    known: np.ndarray  # row positions in the world's runs the bot starts knowing


def split(runs: pd.DataFrame, seed: int, test_share=TEST_SHARE, known_share=KNOWN_SHARE) -> Split:
    rng = np.random.default_rng([seed, 17])
    tasks = usable_tasks(runs)
    n_test = max(1, round(test_share * len(tasks)))
    test = sorted(int(t) for t in rng.choice(tasks, n_test, replace=False))
    train = [t for t in tasks if t not in test]
    known = []
    for t, rows in sorted(runs.groupby("task_id").indices.items()):
        if int(t) in train:
            k = min(len(rows), max(2, math.ceil(known_share * len(rows))))
            known.append(rng.choice(rows, k, replace=False))
    return Split(train, test, np.sort(np.concatenate(known)) if known else np.array([], int))


def measure(
    runs: pd.DataFrame, tasks: pd.DataFrame, known: np.ndarray, test: list, seed: int, k=K
):
    """(zero-shot regret@k, sequential regret@k), means over the test tasks."""
    from metabase.evaluate.backtest import backtest
    from metabase.evaluate.sequential import run_sequential
    from metabase.recommend import create
    from metabase.recommend.sequential import SEQUENTIAL_DEFAULT, create_sequential

    test_rows = np.flatnonzero(runs["task_id"].isin(test).to_numpy())
    seen = runs.iloc[np.concatenate([known, test_rows])]
    prepared = HeldOut.build(seen, tasks)
    prepared.held_out = frozenset(test)
    scored = [t for t in test if t in set(prepared.task_ids)]
    zero = backtest(prepared, {"default": lambda: create("default")}, tasks=scored)
    name = SEQUENTIAL_DEFAULT
    seq = run_sequential(
        prepared, {name: lambda: create_sequential(name)}, tasks=scored, seeds=1, budget=k
    )
    # a test task's curve is padded past its pool with its final regret (0)
    return zero.regret_at("default", k), float(seq.mean_curve(name)[k - 1])


def simulate_one(
    meta, policy: str, budget: int, batch: int, seed: int, progress=None, known_share=KNOWN_SHARE
) -> list:
    """One seed's learning curve: [(runs, zero-shot regret@k, sequential regret@k), ...]."""
    runs = meta.runs.reset_index(drop=True)
    where = split(runs, seed, known_share=known_share)
    task_of_run = runs["task_id"].to_numpy()
    pool = np.isin(task_of_run, where.train)
    known = np.zeros(len(runs), bool)
    known[where.known] = True
    tasks = meta.tasks[meta.tasks["task_id"].isin(where.train)]
    chooser = create_policy(policy)
    curve = [(0, *measure(runs, meta.tasks, np.flatnonzero(known), where.test, seed))]
    if progress:
        progress(1)
    spent, step = 0, 0
    while spent < budget:
        step += 1
        free = np.flatnonzero(pool & ~known)
        if not len(free):
            break
        knowledge = Knowledge(
            runs.iloc[np.flatnonzero(known)],
            tasks,
            runs.iloc[free][["task_id", "pipeline", "config"]].assign(candidate=free),
        )
        picked = chooser.choose(knowledge, min(batch, budget - spent), seed * 100_003 + step)
        ids = np.array([c.candidate for c in picked], int)
        if not len(ids):
            break
        if known[ids].any() or not pool[ids].all() or len(set(ids)) != len(ids):
            raise ValueError(f"policy {policy} chose a candidate that was not offered")
        known[ids] = True  # "running" a configuration: its score is looked up in the world
        spent += len(ids)
        curve.append((spent, *measure(runs, meta.tasks, np.flatnonzero(known), where.test, seed)))
        if progress:
            progress(1)
    return curve


def simulate(
    meta,
    policy: str = "active",
    budget: int = 500,
    seeds: int = 5,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    known_share: float = KNOWN_SHARE,
) -> dict:
    """``{"policy", "budget", "batch", "seeds", "k", "train_tasks", "test_tasks", "curve":
    [{"runs", "zero_shot_regret@10", "zero_shot_sem@10", "sequential_regret@10",
    "sequential_sem@10"}, ...]}``: means over seeds with their standard errors, at every batch
    that all seeds reached. ``known_share``: the share of each training task's runs the bot
    starts knowing.
    """
    batch = batch or max(1, budget // 10)
    total = seeds * (1 + math.ceil(budget / batch))
    done = [0]

    def tick(k: int) -> None:
        done[0] += k
        if progress:
            progress(done[0], total)

    curves = [
        simulate_one(meta, policy, budget, batch, seed, tick, known_share) for seed in range(seeds)
    ]
    where = split(meta.runs.reset_index(drop=True), 0)
    return {
        "policy": policy,
        "budget": budget,
        "batch": batch,
        "seeds": seeds,
        "known_share": known_share,
        "k": K,
        "train_tasks": len(where.train),
        "test_tasks": len(where.test),
        "curve": summarise(curves),
    }


def summarise(curves: list) -> list[dict]:
    length = min(len(c) for c in curves)
    out = []
    for i in range(length):
        at = np.array([c[i] for c in curves], float)  # seeds x (runs, zero-shot, sequential)
        row = {"runs": int(round(at[:, 0].mean()))}
        for j, name in ((1, "zero_shot"), (2, "sequential")):
            values = at[:, j]
            sem = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0.0
            row[f"{name}_regret@{K}"] = round(float(values.mean()), 4)
            row[f"{name}_sem@{K}"] = round(float(sem), 4)
        out.append(row)
    return out
