"""The ``tune`` policy: per task, improve the best known result with a sequential strategy.

The sequential default (``twins``, :mod:`metabase.recommend.sequential`) is fitted once on all the
known runs; for each task it sees the task's known results and proposes among its candidates.
Tasks are served in order of what they have to gain: the expected improvement over the task's
best known score (in the task's own score units) that a Gaussian process on its own results gives
the best candidate; a task with fewer than two distinct results has everything to gain and goes
first. Each task takes at most its cap of a batch, so a batch spreads over the most promising
tasks. Pure.
"""

from __future__ import annotations

import math

import numpy as np

from metabase.bot.model import eligible, learn, random_choices, with_reasons
from metabase.bot.records import Choice, Knowledge, capped


def choose_tune(
    knowledge: Knowledge,
    n: int,
    seed: int,
    strategy: str | None = None,
    max_share: float = 0.1,
    max_runs: int | None = None,
) -> list[Choice]:
    from metabase.recommend.sequential import SEQUENTIAL_DEFAULT, create_sequential

    knowledge = eligible(knowledge, max_runs)
    if n <= 0 or knowledge.candidates.empty:
        return []
    learned = learn(knowledge)
    if learned is None:
        return random_choices(knowledge, n, seed, max_share, max_runs, "too little to learn from")
    name = strategy or SEQUENTIAL_DEFAULT
    searcher = create_sequential(name).fit(learned.prepared.training())
    tasks = {t: np.flatnonzero(learned.task_ids == t) for t in np.unique(learned.task_ids)}
    known = _known(learned)
    gains = {t: gain(learned, known.get(t), rows) for t, rows in tasks.items()}
    order = sorted(tasks, key=lambda t: (-gains[t], t))
    per_batch = max(1, math.ceil(max_share * n))
    picked, reasons = [], []
    for t in order:
        if len(picked) >= n:
            break
        rows = tasks[t]
        wanted = min(n - len(picked), per_batch * len(set(learned.pipelines[rows])))
        proposed = learned.ids[_search(searcher, learned, known.get(t), rows, wanted, seed)]
        within = capped(knowledge, proposed, n, max_share, max_runs)[: n - len(picked)]
        picked.extend(within)
        reasons.extend([f"tune: {name} on task {t} (expected gain {gains[t]:.4f})"] * len(within))
    return with_reasons(knowledge, picked, reasons)


def _known(learned) -> dict:
    """Task -> (encoded known configurations, their raw scores)."""
    runs = learned.prepared.runs
    out = {}
    for t, rows in runs.groupby("task_id").indices.items():
        out[int(t)] = (learned.prepared.dist[rows], learned.prepared.tree[rows], rows)
    return out


def gain(learned, known, rows: np.ndarray) -> float:
    """Expected improvement of the task's best candidate over its best known score, from a GP on
    the task's own results (inf: too little known to tell).
    """
    from metabase.recommend.gp import TaskGP, expected_improvement, median_distance, standardise

    if known is None:
        return np.inf
    dist, _, run_rows = known
    y = learned.prepared.runs["score"].to_numpy(float)[run_rows]
    if len(y) < 2 or y.std() == 0:
        return np.inf
    z = standardise(y)
    gp = TaskGP(median_distance(np.vstack([dist, learned.dist[rows]]))).fit(dist, z)
    mean, sd = gp.predict(learned.dist[rows])
    return float(expected_improvement(mean, sd, z.max()).max() * y.std())


def _search(searcher, learned, known, rows: np.ndarray, quota: int, seed: int) -> list[int]:
    """Up to ``quota`` of the task's candidate ``rows``, by the sequential strategy given the
    task's known results; later picks of one batch are the next-best proposals without results.
    """
    from metabase.recommend.data import Query

    if quota <= 0:
        return []
    prepared = learned.prepared
    candidates = learned.query(int(learned.task_ids[rows[0]]), rows)
    if known is None:
        query, observed, y = candidates, np.array([], int), np.array([])
    else:
        dist, tree, run_rows = known
        query = Query(
            candidates.features,
            candidates.scaled,
            np.concatenate(
                [prepared.runs["pipeline"].to_numpy(object)[run_rows], candidates.pipelines]
            ),
            np.vstack([tree, candidates.tree]),
            np.vstack([dist, candidates.dist]),
        )
        observed = np.arange(len(run_rows))
        y = prepared.runs["score"].to_numpy(float)[run_rows]
    searcher.start(query, seed=seed)
    pending = np.arange(len(observed), len(query))
    out: list[int] = []
    while len(out) < quota and len(pending):
        pick = int(searcher.suggest(observed, y, pending))
        out.append(rows[pick - len(observed)])
        pending = pending[pending != pick]
    return out
