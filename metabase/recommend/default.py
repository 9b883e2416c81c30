"""default: the strategy ``recommend`` uses unless told otherwise, chosen by evaluation.

An equal-weight blend of the ranks of ``surrogate`` (task-aware: meta-features in, normalised
score out) and ``portfolio`` (task-blind: the configurations that are good across tasks). In the
leave-one-task-out backtest on the openml-pimp random forest meta-dataset (92 tasks) every blend
of two or more strategies beat its parts at small k; of the 11 blends this pair had the lowest
mean regret at k = 3, 5, 10 and 25 and within 0.01 of the lowest at k = 1 (README, Performance).
On a second, different meta-dataset (the OpenML study exports: 593 tasks, 138 flows, no
hyperparameters; 60 held-out tasks) it is the best at k = 10 and within 0.015 of the best
strategy at k = 1, 3 and 5. Ranks, not raw values, are blended,
because the parts score on different scales (a normalised score, a portfolio position); equal
weights are fitted to no meta-dataset.

Alternatives measured and not taken (pimp, 92 tasks, two seeds, paired per task): the
surrogate's own first pick before the blend, per-task weights from the similarity of the nearest
tasks, similarity-weighted mixtures of per-task models (better at k = 10 on pimp by about 0.007,
much worse on the study export, whose configurations cannot be smoothed within a task) and
learned task metrics all stayed within seed noise. The meta-features say little about which
configurations win on a task (a model that has seen 90% of the held-out task's own runs reaches
regret 0.072 at k = 1, :mod:`metabase.evaluate.ceiling`), which bounds what any zero-shot
strategy here can do.

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
