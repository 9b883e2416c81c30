"""default: the strategy ``recommend`` uses unless told otherwise; it chooses its parts on the
meta-dataset at hand.

Its parts are ranked and their ranks blended with equal weights (ranks, not raw values, because
the parts score on different scales: a normalised score, a portfolio position). Which parts, is
chosen on the training tasks alone by an inner leave-tasks-out, as auto-sklearn 2.0 selects its
policy: the blend of ``surrogate`` (task-aware: meta-features in, normalised score out) and
``portfolio`` (task-blind: the configurations that are good across tasks), the lowest-regret
blend on openml-pimp and the OpenML study exports, unless one of the other candidates beats it
clearly. A fixed blend chosen on one meta-dataset behaved badly on another (worse than random at
k = 10 on a zoo of LightGBM configurations, where ``portfolio`` alone was far better).
``blend`` is that fixed blend, kept as the reference.

The predicted score, its uncertainty (ensemble spread), the similar tasks and the supporting runs
are the surrogate's, where it is a part.
"""

from __future__ import annotations

import hashlib

import numpy as np

from metabase.recommend.base import Models, Scores, Strategy, rank_normalise
from metabase.recommend.knn import KNNStrategy
from metabase.recommend.lowrank import LowRankStrategy
from metabase.recommend.portfolio import PortfolioStrategy
from metabase.recommend.surrogate import SurrogateStrategy

BLEND = ("surrogate", "portfolio")
# what the inner leave-tasks-out chooses among: the blend and each part alone
CANDIDATES = (
    BLEND,
    ("surrogate",),
    ("portfolio",),
    ("knn",),
    ("lowrank",),
    ("portfolio", "lowrank"),
)
INNER_FOLDS = 3
INNER_PICKS = 10  # the choice minimises the mean regret over the first 10 picks
MIN_INNER_TASKS = 6


class DefaultStrategy(Strategy):
    """``parts="auto"`` chooses the parts on the meta-dataset at hand, from the training tasks
    alone: an inner leave-tasks-out (``INNER_FOLDS`` folds of the training tasks) scores each of
    ``CANDIDATES`` by its mean regret over the first ``INNER_PICKS`` picks. The choice is the
    costly step of a fit (four fits of the parts), so it travels with the trained models
    (``Models.parts``): a cached fit never chooses again.
    """

    name = "default"

    def __init__(self, parts="auto", random_state: int = 0) -> None:
        self.parts = parts if parts == "auto" else tuple(parts)
        self.random_state = random_state

    def _make(self, parts) -> dict:
        factories = {
            "surrogate": lambda: SurrogateStrategy(random_state=self.random_state),
            "knn": KNNStrategy,
            "portfolio": PortfolioStrategy,
            "lowrank": LowRankStrategy,
        }
        return {name: factories[name]() for name in parts}

    def fit(self, training, models: Models | None = None) -> "DefaultStrategy":
        given = models.parts if models is not None else None
        if self.parts != "auto":
            self.chosen_ = self.parts
        else:
            self.chosen_ = tuple(given) if given else self.choose(training)
        self.parts_ = self._make(self.chosen_)
        for part in self.parts_.values():
            part.fit(training, models)
        surrogate = self.parts_.get("surrogate")
        self.models_ = Models(
            surrogate=surrogate.models_.surrogate if surrogate is not None else None,
            parts=self.chosen_,
        )
        return self

    def choose(self, training) -> tuple:
        tasks = np.asarray(training.task_ids)
        if len(tasks) < MIN_INNER_TASKS:  # too few tasks to judge: the blend
            return BLEND
        prepared = training.prepared
        key = (
            hashlib.blake2b(np.asarray(training.rows).tobytes(), digest_size=16).hexdigest(),
            self.random_state,
        )
        if key not in prepared.cache.choices:
            prepared.cache.choices[key] = self._choose(training, tasks)
        return prepared.cache.choices[key]

    def _choose(self, training, tasks) -> tuple:
        prepared = training.prepared
        folds = np.array_split(
            np.random.default_rng(self.random_state).permutation(tasks), INNER_FOLDS
        )
        names = sorted({n for c in CANDIDATES for n in c})
        loss = {c: [] for c in CANDIDATES}
        shared = prepared.cache.surrogate  # the inner folds' models must not evict the fold's
        try:
            self._inner(prepared, tasks, folds, names, loss)
        finally:
            prepared.cache.surrogate = shared
        return _significant(loss)

    def _inner(self, prepared, tasks, folds, names, loss) -> None:
        """Each candidate's regret over the first picks on each inner held-out task."""
        from metabase.evaluate.regret import ranking, regret_curve
        from metabase.recommend.data import Training

        run_tasks = prepared.runs["task_id"].to_numpy()
        scores = prepared.runs["score"].to_numpy()
        for held in folds:
            inner = np.setdiff1d(tasks, held)
            rows = np.flatnonzero(np.isin(run_tasks, inner))
            parts = self._make(names)
            for part in parts.values():
                part.fit(Training(prepared, inner, rows))
            for t in held:
                query = prepared.task_query(int(t))
                ranks = {n: rank_normalise(parts[n].rank(query)) for n in names}
                task_scores = scores[run_tasks == t]
                for c in CANDIDATES:
                    value = sum(ranks[n] for n in c) / len(c)
                    curve = regret_curve(task_scores, ranking(value, seed=int(t)))
                    loss[c].append(float(np.mean(curve[:INNER_PICKS])))

    def rank(self, query) -> np.ndarray:
        ranks = [rank_normalise(part.rank(query)) for part in self.parts_.values()]
        return sum(ranks) / len(ranks)

    def predict(self, query) -> Scores:
        results = {name: part.predict(query) for name, part in self.parts_.items()}
        rank_value = sum(rank_normalise(r.rank_value) for r in results.values()) / len(results)
        main = results.get("surrogate") or next(iter(results.values()))
        evidence = results.get("surrogate") or results.get("knn") or main
        return Scores(
            rank_value,
            main.predicted,
            main.std,
            evidence.neighbours,
            evidence.support if evidence.support is not None else main.support,
        )


def _significant(loss: dict) -> tuple:
    """The candidate with the lowest inner loss, if it beats the blend by more than two standard
    errors of the paired per-task difference; otherwise the blend. An argmin among near-ties only
    follows the noise of which tasks were held out: on openml-pimp it chose ``portfolio`` for
    most tasks and lost to the blend (mean regret over 10 picks 0.014 ± 0.004 worse).
    """
    best = min(CANDIDATES, key=lambda c: (np.mean(loss[c]), CANDIDATES.index(c)))
    diff = np.asarray(loss[best]) - np.asarray(loss[BLEND])
    if len(diff) < 2 or not diff.any():
        return BLEND
    sem = diff.std(ddof=1) / np.sqrt(len(diff))
    return best if diff.mean() < -2 * sem else BLEND


class BlendStrategy(DefaultStrategy):
    """blend: ``surrogate`` and ``portfolio`` blended, whatever the meta-dataset (``default``'s
    parts before it chose them; the reference).
    """

    name = "blend"

    def __init__(self, random_state: int = 0) -> None:
        super().__init__(parts=BLEND, random_state=random_state)
