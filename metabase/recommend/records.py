"""Records that leave the recommend layer (frozen: the CLI, the bot and exports read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Recommendation:
    """One recommended configuration.

    ``predicted_score`` is on the task's own scale when the store holds runs of the task (its
    score range is known), else the normalised score (1 = as good as the best known configuration
    of similar tasks, 0 = their worst); ``uncertainty`` is on the same scale (one standard
    deviation). ``basis`` says which: ``observed`` (the configuration ran on this very task: the
    score is its best observed run's, the uncertainty the spread of that run over its folds, or
    over the configuration's runs) or ``predicted`` (a model's estimate). ``evidence`` lists the
    similar tasks (``task_id``, ``similarity`` and, for a prediction, ``closest_features``: the
    meta-features on which that task is nearest to this one) and the runs (``run_key``,
    ``openml_run_id``, ``task_id``, ``score``; ``fold_std`` and ``folds`` where known) that
    support it.
    """

    rank: int
    pipeline: str
    config: dict
    predicted_score: float | None
    uncertainty: float | None
    expected_runtime: float | None = None
    evidence: tuple = field(default_factory=tuple)
    basis: str = "predicted"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["evidence"] = [dict(e) for e in self.evidence]
        return out


@dataclass(frozen=True)
class RecommendationSet:
    task_id: int | None
    strategy: str
    recommendations: tuple
    source: str = "store"  # where the task's meta-features came from: store, openml, file
    notes: tuple = ()  # one sentence each: what the ranking rests on (ties, observed runs)

    def to_dict(self) -> dict:
        return {
            "task_id": self.task_id,
            "strategy": self.strategy,
            "recommendations": [r.to_dict() for r in self.recommendations],
            "notes": list(self.notes),
        }
