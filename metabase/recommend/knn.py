"""knn: auto-sklearn 1.0 style warm start from the most similar tasks.

Tasks are compared by the L1 distance of their scaled meta-features (:func:`task_distances`). A
candidate's score on a neighbour task is the normalised score of the neighbour's run nearest to
it in configuration space (exactly the same configuration where one was evaluated), so the
neighbours' best configurations, and those close to them, rank first. Neighbours are weighted by
similarity; their disagreement is the uncertainty.
"""

from __future__ import annotations

import math

import numpy as np

from metabase.recommend.base import (
    Models,
    Scores,
    Strategy,
    lookup_scores,
    similarity,
    task_distances,
    task_rows,
)


class KNNStrategy(Strategy):
    name = "knn"

    def __init__(self, n_neighbors: int | None = None) -> None:
        self.n_neighbors = n_neighbors  # None: sqrt(number of training tasks)

    def fit(self, training, models: Models | None = None) -> "KNNStrategy":
        self.training_ = training
        self.models_ = Models()  # trains no shared model
        return self

    def predict(self, query) -> Scores:
        training = self.training_
        d = task_distances(training, query)
        sim = similarity(d, training)
        k = self.n_neighbors or max(1, round(math.sqrt(len(training.task_ids))))
        order = np.argsort(d, kind="stable")[:k]
        groups = task_rows(training)
        preds, supports = [], []
        for i in order:
            score, run_rows = lookup_scores(
                training.prepared, groups[int(training.task_ids[i])], query.dist, query.pipelines
            )
            preds.append(score)
            supports.append(run_rows)
        preds = np.vstack(preds)  # neighbours x candidates
        w = np.where(np.isnan(preds), 0.0, sim[order][:, None])
        total = w.sum(axis=0)
        mean = np.where(
            total > 0,
            (w * np.nan_to_num(preds)).sum(axis=0) / np.where(total > 0, total, 1),
            np.nan,
        )
        var = np.where(
            total > 0,
            (w * (np.nan_to_num(preds) - np.nan_to_num(mean)) ** 2).sum(axis=0)
            / np.where(total > 0, total, 1),
            np.nan,
        )
        support = tuple(tuple(int(r) for r in col[:3] if r >= 0) for col in np.vstack(supports).T)
        neighbours = tuple((int(training.task_ids[i]), float(sim[i])) for i in order)
        rank_value = np.nan_to_num(mean, nan=-1.0)
        return Scores(rank_value, mean, np.sqrt(var), neighbours, support)
