"""What the model-based policies learn from: :class:`~metabase.bot.policy.Knowledge` turned into a
prepared meta-dataset (:class:`~metabase.recommend.data.Prepared`) of the known runs, with the
candidates encoded alongside, so that recommend's models can score them. Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from metabase.bot.records import Choice, Knowledge, capped
from metabase.errors import InputError
from metabase.recommend.data import Prepared, Query


@dataclass(frozen=True)
class Learned:
    """The known runs prepared, and every candidate encoded as recommend's models expect."""

    prepared: Prepared
    ids: np.ndarray  # candidate ids, in the order of the arrays below
    task_ids: np.ndarray
    pipelines: np.ndarray
    tree: np.ndarray
    dist: np.ndarray

    def query(self, task_id: int, rows: np.ndarray) -> Query:
        """The candidates ``rows`` (positions in :attr:`ids`) of one task, as a query."""
        return Query(
            features=self.prepared.features.loc[task_id].to_numpy(float),
            scaled=self.prepared.scaled.loc[task_id].to_numpy(float),
            pipelines=self.pipelines[rows],
            tree=self.tree[rows],
            dist=self.dist[rows],
        )

    def features_of(self, rows: np.ndarray) -> np.ndarray:
        """Raw meta-features of each candidate's task (the surrogate's task inputs)."""
        return self.prepared.features.loc[self.task_ids[rows]].to_numpy(float)


def learn(knowledge: Knowledge) -> Learned | None:
    """None when nothing can be learned yet: fewer than two tasks with differing scores."""
    candidates = knowledge.candidates
    configs = [json.loads(c) for c in candidates["config"]]
    pipelines = candidates["pipeline"].astype(str).to_numpy(dtype=object)
    tasks = knowledge.tasks
    missing = sorted(set(candidates["task_id"].astype(int)) - set(tasks["task_id"].astype(int)))
    if missing:  # a task without meta-features: the models see it as all-missing
        import pandas as pd

        tasks = pd.concat([tasks, pd.DataFrame({"task_id": missing})], ignore_index=True)
    try:
        prepared = Prepared.build(knowledge.runs, tasks, extra_configs=zip(pipelines, configs))
    except InputError:
        return None
    tree, dist = prepared.encoder.transform(pipelines, configs)
    return Learned(
        prepared,
        candidates["candidate"].to_numpy(),
        candidates["task_id"].astype(int).to_numpy(),
        pipelines,
        tree,
        dist,
    )


def eligible(knowledge: Knowledge, max_runs: int | None) -> Knowledge:
    """Knowledge without the candidates of a task and pipeline that already has ``max_runs``."""
    if max_runs is None or knowledge.runs.empty:
        return knowledge
    known = knowledge.runs.groupby(["task_id", "pipeline"]).size()
    full = {(int(t), str(p)) for (t, p), c in known.items() if c >= max_runs}
    if not full:
        return knowledge
    c = knowledge.candidates
    keep = [(int(t), str(p)) not in full for t, p in zip(c["task_id"], c["pipeline"])]
    return Knowledge(knowledge.runs, knowledge.tasks, c[keep], knowledge.cost)


def random_choices(knowledge: Knowledge, n: int, seed: int, max_share, max_runs, why: str):
    """The fallback while no model can be trained: random candidates, within the caps."""
    ids = knowledge.candidates["candidate"].to_numpy()
    order = np.random.default_rng(seed).permutation(ids)
    picked = capped(knowledge, order, n, max_share, max_runs)
    return with_reasons(knowledge, picked, [f"random ({why})"] * len(picked))


def with_reasons(knowledge: Knowledge, ids, reasons) -> list[Choice]:
    rows = knowledge.candidates.set_index("candidate").loc[list(ids)]
    return [
        Choice(int(i), int(r.task_id), str(r.pipeline), str(r.config), reason)
        for i, r, reason in zip(rows.index, rows.itertuples(), reasons, strict=True)
    ]


def per_second(knowledge: Knowledge, ids: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``value`` per predicted second of compute (unchanged when every run costs the same)."""
    if knowledge.cost is None:
        return value
    cost = knowledge.cost.reindex(ids).to_numpy(float)
    typical = np.nanmedian(cost) if np.isfinite(cost).any() else 1.0
    cost = np.where(np.isfinite(cost) & (cost > 0), cost, typical)
    return value / np.maximum(cost, 1e-3)
