"""random: the baseline every strategy must beat (random search over the candidates)."""

from __future__ import annotations

import numpy as np

from metabase.recommend.base import Models, Scores, Strategy


class RandomStrategy(Strategy):
    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, training, models: Models | None = None) -> "RandomStrategy":
        self.mean_ = float(training.runs["norm"].mean())
        self.std_ = float(training.runs["norm"].std())
        self.models_ = Models()  # trains no shared model
        return self

    def predict(self, query) -> Scores:
        rank_value = np.random.default_rng(self.seed).random(len(query))
        n = len(query)
        return Scores(rank_value, np.full(n, self.mean_), np.full(n, self.std_))
