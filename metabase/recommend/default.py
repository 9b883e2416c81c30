"""default: the strategy ``recommend`` uses unless told otherwise, chosen by evaluation.

An equal-weight blend of the ranks of ``surrogate`` (task-aware: meta-features in, normalised
score out) and ``portfolio`` (task-blind: the configurations that are good across tasks): of all
blends of two or more strategies, the one with the lowest regret in the leave-one-task-out
backtests on two different meta-datasets (the figures, and the alternatives measured and not
taken, are in the README's Performance section). Ranks, not raw values, are blended, because the
parts score on different scales (a normalised score, a portfolio position); equal weights are
fitted to no meta-dataset.

The predicted score, its uncertainty (ensemble spread), the similar tasks and the supporting runs
are the surrogate's.
"""

from __future__ import annotations

from metabase.recommend.base import Models, Scores, Strategy, rank_normalise
from metabase.recommend.knn import KNNStrategy
from metabase.recommend.lowrank import LowRankStrategy
from metabase.recommend.portfolio import PortfolioStrategy
from metabase.recommend.surrogate import SurrogateStrategy

PARTS = ("surrogate", "portfolio")


class DefaultStrategy(Strategy):
    name = "default"

    def __init__(self, parts: tuple = PARTS, random_state: int = 0) -> None:
        self.parts = tuple(parts)
        self.random_state = random_state

    def _make(self) -> dict:
        factories = {"surrogate": lambda: SurrogateStrategy(random_state=self.random_state),
                     "knn": KNNStrategy, "portfolio": PortfolioStrategy, "lowrank": LowRankStrategy}
        return {name: factories[name]() for name in self.parts}

    def fit(self, training, models: Models | None = None) -> "DefaultStrategy":
        self.parts_ = self._make()
        for part in self.parts_.values():
            part.fit(training, models)
        surrogate = self.parts_.get("surrogate")
        self.models_ = surrogate.models_ if surrogate is not None else Models()
        return self

    def predict(self, query) -> Scores:
        results = {name: part.predict(query) for name, part in self.parts_.items()}
        rank_value = sum(rank_normalise(r.rank_value) for r in results.values()) / len(results)
        main = results.get("surrogate") or next(iter(results.values()))
        evidence = results.get("surrogate") or results.get("knn") or main
        return Scores(rank_value, main.predicted, main.std, evidence.neighbours,
                      evidence.support if evidence.support is not None else main.support)
