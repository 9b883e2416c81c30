"""portfolio: a greedy zero-shot portfolio (auto-sklearn 2.0, TabRepo).

The pool is the few best configurations of every training task. Each is scored on every training
task through the task's nearest evaluated configuration (exact where the same configuration ran
there), and members are added greedily, each time the one that most lowers the mean normalised
regret of the portfolio so far across training tasks. The portfolio ignores the target task's
meta-features: it is the best fixed order of configurations to try.

Candidates are ranked by the portfolio: the candidate nearest to the first member first, and so
on; candidates left over follow by their mean score across tasks.
"""

from __future__ import annotations

import numpy as np

from metabase.recommend.base import Models, Scores, Strategy, cityblock, pool_matrix


def greedy_portfolio(g: np.ndarray, size: int) -> list[int]:
    """Indices of pool rows, in the order greedy selection adds them. ``g``: pool x tasks of
    normalised scores (NaN: unknown, counted as 0).
    """
    g = np.nan_to_num(g, nan=0.0)
    best = np.zeros(g.shape[1])
    chosen: list[int] = []
    available = np.ones(len(g), bool)
    for _ in range(min(size, len(g))):
        gain = np.maximum(g, best[None, :]).mean(axis=1)
        # ties (typical once every task is covered) go to the better average configuration
        gain = np.where(available, gain + 1e-9 * g.mean(axis=1), -np.inf)
        pick = int(gain.argmax())
        chosen.append(pick)
        available[pick] = False
        best = np.maximum(best, g[pick])
    return chosen


def order_by_members(prepared, member_rows: np.ndarray, query) -> np.ndarray:
    """Position (0 = first) of each candidate when members claim their nearest free candidate in
    turn; unclaimed candidates get len(members) and later.
    """
    d = cityblock(prepared.dist[member_rows], query.dist)
    same = prepared.column("pipeline")[member_rows][:, None] == query.pipelines[None, :]
    d = np.where(same, d, np.inf)
    position = np.full(len(query), len(member_rows), float)
    free = np.ones(len(query), bool)
    for j in range(len(member_rows)):
        row = np.where(free, d[j], np.inf)
        c = int(row.argmin())
        if not np.isfinite(row[c]):
            continue
        position[c] = j
        free[c] = False
        if not free.any():
            break
    return position


class PortfolioStrategy(Strategy):
    name = "portfolio"

    def __init__(self, per_task: int = 3, size: int = 100) -> None:
        self.per_task = per_task
        self.size = size

    def fit(self, training, models: Models | None = None) -> "PortfolioStrategy":
        pool, g, _ = pool_matrix(training, self.per_task)
        chosen = greedy_portfolio(g, self.size)
        self.training_ = training
        self.members_ = pool[chosen]
        self.member_scores_ = np.nanmean(g[chosen], axis=1)
        self.member_std_ = np.nanstd(g[chosen], axis=1)
        self.models_ = Models()  # trains no shared model
        return self

    def predict(self, query) -> Scores:
        prepared = self.training_.prepared
        position = order_by_members(prepared, self.members_, query)
        claimed = position < len(self.members_)
        # predicted score: the claiming member's mean score across tasks, else the nearest member's
        d = cityblock(query.dist, prepared.dist[self.members_])
        nearest = d.argmin(axis=1)
        idx = np.where(claimed, position, nearest).astype(int)
        predicted = self.member_scores_[idx]
        rank_value = np.where(claimed, -position, -len(self.members_) - 1 + predicted)
        support = tuple((int(self.members_[i]),) for i in idx)
        return Scores(rank_value, predicted, self.member_std_[idx], (), support)
