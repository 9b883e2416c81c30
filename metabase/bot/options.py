"""The bot's options and its summary (what ``metabase bot`` prints at the end)."""

from __future__ import annotations

from dataclasses import dataclass, field

from metabase.records import Fidelity


@dataclass(frozen=True)
class BotOptions:
    tasks: tuple[int, ...] = ()
    suite: str | None = None
    pipelines: tuple[str, ...] = ("sklearn.random_forest",)
    policy: str = "random"
    executor: str = "local"
    workers: int | None = None
    ray_address: str | None = None
    publish: bool = False
    hours: float | None = None
    max_runs: int | None = None
    grace_s: float = 60.0
    fidelity: Fidelity | str | None = None  # text as `metabase run --fidelity` takes it
    time_limit_s: float | None = None
    memory_limit_mb: float | str | None = None  # 2048, 512M, 2G
    seed: int = 0
    cap: int | None = 100  # runs per task and pipeline
    per_pair: int = 8  # candidates per task and pipeline shown to the policy
    pause_after: int = 3  # failures in a row that pause a (task, pipeline)
    beat_s: float = 10.0
    publish_every_s: float = 10.0  # a batch at a time: publishing pauses the loop
    publish_batch: int = 20
    publish_backoff_s: float = 30.0
    publish_backoff_max_s: float = 1800.0
    retrain_every: int = 50  # new results between retrains
    retrain_min_s: float = 300.0
    multi_fidelity: bool = True  # successive halving for pipelines with a fidelity knob
    rungs: tuple[int, ...] = ()  # the knob's caps below the top rung (() the defaults)
    eta: int = 3  # the best 1/eta of a rung move up
    keep_predictions_days: float = 30.0  # a published run's predictions are kept this long
    prune_every_s: float = 3600.0


@dataclass
class BotSummary:
    runs: int = 0
    failed: int = 0
    published: int = 0
    paused: list = field(default_factory=list)
    stopped: str = ""
    recovered: dict = field(default_factory=dict)
    retrains: int = 0
    promoted: int = 0  # jobs proposed by successive halving (promotions and hurdle runs)


def transient(exc: Exception) -> bool:
    """Whether fetching a task's data may work later (OpenML unreachable or failing)."""
    text = str(exc)
    return text.startswith("cannot fetch") or "cannot reach" in text


def options_row(o: BotOptions) -> dict:
    return {
        "tasks": list(o.tasks),
        "suite": o.suite,
        "pipelines": list(o.pipelines),
        "publish": o.publish,
        "hours": o.hours,
        "max_runs": o.max_runs,
        "fidelity": str(o.fidelity or ""),
        "cap": o.cap,
        "multi_fidelity": o.multi_fidelity,
    }
