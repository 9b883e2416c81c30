"""The frozen records an importance analysis returns, their across-task summary and their JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

PAIR_SEP = ":"


@dataclass(frozen=True)
class Curve:
    """A marginal: the surrogate's mean score against one hyperparameter's value, and the spread
    (std) of the trees' marginals: the band of the paper's plots.
    """

    hyperparameter: str
    x: tuple
    mean: tuple[float, ...]
    std: tuple[float, ...]
    categorical: bool


@dataclass(frozen=True)
class TaskImportance:
    task_id: int
    runs: int
    importance: dict[str, float]  # hyperparameter -> fraction of variance, alone
    constant: tuple[str, ...] = ()  # constant in this task's runs (besides the global ones)
    pairs: dict[str, float] = field(
        default_factory=dict
    )  # "a:b" -> fraction, the interaction alone
    default_score: float | None = None  # surrogate score of the pipeline's default
    tunability: dict[str, float] = field(
        default_factory=dict
    )  # hyperparameter -> gain over the default
    tunability_all: float | None = None  # gain of tuning everything
    curves: tuple[Curve, ...] = ()
    note: str | None = None  # why there is no importance (e.g. scores do not vary)


def quartiles(values) -> dict[str, float] | None:
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(values):
        return None
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3), "tasks": int(len(values))}


@dataclass(frozen=True)
class ImportanceResult:
    pipeline: str
    measure: str
    higher_is_better: bool
    hyperparameters: tuple[str, ...]  # those that vary in the runs
    constant: dict[str, Any]  # constant in every run: name -> value
    tasks: tuple[TaskImportance, ...]
    skipped: dict[int, int] = field(default_factory=dict)  # task -> runs, fewer than min_runs
    data_driven_default: dict | None = None
    options: dict = field(default_factory=dict)

    def summary(self) -> dict[str, dict]:
        """Per hyperparameter, the quartiles of its importance over the tasks where it varies."""
        out = {}
        for name in self.hyperparameters:
            q = quartiles(t.importance.get(name) for t in self.tasks)
            if q is not None:
                out[name] = q
        return out

    def ranking(self) -> list[str]:
        """Hyperparameters by median importance across tasks, most important first."""
        summary = self.summary()
        return sorted(summary, key=lambda n: (-summary[n]["median"], -summary[n]["q3"], n))

    def pair_summary(self) -> dict[str, dict]:
        names = sorted({k for t in self.tasks for k in t.pairs})
        summary = {n: quartiles(t.pairs.get(n) for t in self.tasks) for n in names}
        return dict(
            sorted(((n, q) for n, q in summary.items() if q), key=lambda item: -item[1]["median"])
        )

    def tunability_summary(self) -> dict[str, dict]:
        names = [*self.hyperparameters, "all"]
        out = {}
        for name in names:
            values = [
                t.tunability_all if name == "all" else t.tunability.get(name) for t in self.tasks
            ]
            q = quartiles(values)
            if q is not None:
                out[name] = {**q, "mean": float(np.mean([v for v in values if v is not None]))}
        return out

    def task(self, task_id: int) -> TaskImportance:
        for t in self.tasks:
            if t.task_id == int(task_id):
                return t
        raise KeyError(task_id)

    def to_dict(self) -> dict:
        """The JSON of ``metabase importance --format json`` (no marginal curves)."""
        out = {
            "pipeline": self.pipeline,
            "measure": self.measure,
            "tasks": {str(t.task_id): dict(t.importance) for t in self.tasks},
            "pairs": {str(t.task_id): dict(t.pairs) for t in self.tasks if t.pairs},
            "summary": self.summary(),
            "ranking": self.ranking(),
            "constant": dict(self.constant),
            "constant_in_task": {
                str(t.task_id): list(t.constant) for t in self.tasks if t.constant
            },
            "runs": {str(t.task_id): t.runs for t in self.tasks},
            "notes": {str(t.task_id): t.note for t in self.tasks if t.note},
            "skipped": {str(k): v for k, v in self.skipped.items()},
            "options": dict(self.options),
        }
        if self.pairs_computed:
            out["pairs_summary"] = self.pair_summary()
        if self.tunability_computed:
            out["tunability"] = {
                "summary": self.tunability_summary(),
                "tasks": {
                    str(t.task_id): {
                        **t.tunability,
                        "all": t.tunability_all,
                        "default_score": t.default_score,
                    }
                    for t in self.tasks
                    if t.default_score is not None
                },
            }
            out["data_driven_default"] = self.data_driven_default
        return out

    @property
    def pairs_computed(self) -> bool:
        return bool(self.options.get("pairs"))

    @property
    def tunability_computed(self) -> bool:
        return bool(self.options.get("tunability"))

    def to_cache(self) -> dict:
        """Everything, curves included (what the cache beside the store holds)."""
        return asdict(self)

    @classmethod
    def from_cache(cls, data: dict) -> "ImportanceResult":
        tasks = tuple(
            TaskImportance(
                **{
                    **t,
                    "constant": tuple(t["constant"]),
                    "curves": tuple(
                        Curve(
                            **{
                                **c,
                                "x": tuple(c["x"]),
                                "mean": tuple(c["mean"]),
                                "std": tuple(c["std"]),
                            }
                        )
                        for c in t["curves"]
                    ),
                }
            )
            for t in data["tasks"]
        )
        return cls(
            **{
                **data,
                "hyperparameters": tuple(data["hyperparameters"]),
                "tasks": tasks,
                "skipped": {int(k): v for k, v in data["skipped"].items()},
            }
        )
