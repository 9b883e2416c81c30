"""How the bot chooses what to run next: a policy sees what is known and what may be run, and
picks ``n`` candidates. Pure: no store, no network; the live bot and the simulation
(``metabase bot --simulate``) give every policy the same :class:`Knowledge`.

- ``active`` (the default): run where the meta-models are most unsure, per predicted second of
  compute: among the configurations the cross-task surrogate would recommend for each task, those
  on which its ensemble disagrees most (:mod:`metabase.bot.active`).
- ``tune``: per task, improve the best known result with the sequential default strategy
  (``rgpe``), the task with the most to gain first (:mod:`metabase.bot.tune`).
- ``random``: a uniformly random candidate (task, pipeline and configuration), the R bot's
  choice and the baseline.

``active`` and ``tune`` cap what one task and pipeline may take (:func:`capped`): at most
``max_share`` of a batch, and ``max_runs`` runs in all, so that no task soaks up the budget. With
too little knowledge to train a model (fewer than two tasks with differing scores) they choose at
random. :mod:`metabase.bot.simulate` measures the policies against each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

CANDIDATE_COLUMNS = ("candidate", "task_id", "pipeline", "config")


@dataclass(frozen=True)
class Knowledge:
    """What a policy may look at.

    - ``runs``: the results known so far, in the meta-dataset's ``runs`` form (``task_id``,
      ``pipeline``, ``config`` as JSON text, ``score``, higher is better).
    - ``tasks``: the tasks the bot may run on, in the meta-dataset's ``tasks`` form (``task_id``,
      ``dataset_id``, one float column per meta-feature).
    - ``candidates``: what may be run next (``candidate``, an id unique in the frame,
      ``task_id``, ``pipeline``, ``config`` as JSON text); nothing already run or in flight.
    - ``cost``: predicted seconds per candidate id, or None where every run costs the same.
    """

    runs: "pd.DataFrame"
    tasks: "pd.DataFrame"
    candidates: "pd.DataFrame"
    cost: "pd.Series | None" = None


@dataclass(frozen=True)
class Choice:
    """One candidate to run, and why (one line, for the log and ``metabase status``)."""

    candidate: int
    task_id: int
    pipeline: str
    config: str
    reason: str


class Policy(Protocol):
    name: str

    def choose(self, knowledge: Knowledge, n: int, seed: int) -> list[Choice]:
        """Up to ``n`` distinct candidates of ``knowledge.candidates``, best first."""


def choices(candidates: "pd.DataFrame", ids, reason: str) -> list[Choice]:
    """The :class:`Choice` s for candidate ``ids`` (in that order)."""
    rows = candidates.set_index("candidate").loc[list(ids)]
    return [
        Choice(int(i), int(r.task_id), str(r.pipeline), str(r.config), reason)
        for i, r in zip(rows.index, rows.itertuples(), strict=True)
    ]


class RandomPolicy:
    name = "random"

    def choose(self, knowledge: Knowledge, n: int, seed: int) -> list[Choice]:
        ids = knowledge.candidates["candidate"].to_numpy()
        picked = np.random.default_rng(seed).choice(ids, min(n, len(ids)), replace=False)
        return choices(knowledge.candidates, picked, "random")


MAX_SHARE = 0.1  # of one batch, per task and pipeline
MAX_RUNS = 500  # per task and pipeline, known and chosen together


def capped(knowledge: Knowledge, ranked, n: int, max_share: float, max_runs: int | None):
    """The first ``n`` of the candidate ids ``ranked`` (best first) that keep every task and
    pipeline within at most ``max(1, ceil(max_share * n))`` of this batch and ``max_runs`` runs
    in all (known runs count).
    """
    import math

    frame = knowledge.candidates.set_index("candidate")
    known = knowledge.runs.groupby(["task_id", "pipeline"]).size().to_dict()
    per_batch = max(1, math.ceil(max_share * n))
    taken: dict = {}
    out = []
    for i in ranked:
        if len(out) >= n:
            break
        key = (int(frame.at[i, "task_id"]), str(frame.at[i, "pipeline"]))
        if taken.get(key, 0) >= per_batch:
            continue
        if max_runs is not None and known.get(key, 0) + taken.get(key, 0) >= max_runs:
            continue
        taken[key] = taken.get(key, 0) + 1
        out.append(i)
    return out


class ActivePolicy:
    """See :mod:`metabase.bot.active` (imported when choosing: it needs the models)."""

    name = "active"

    def __init__(
        self,
        shortlist: int = 10,
        n_models: int = 5,
        max_share: float = MAX_SHARE,
        max_runs: int | None = MAX_RUNS,
    ) -> None:
        self.shortlist = shortlist
        self.n_models = n_models
        self.max_share = max_share
        self.max_runs = max_runs

    def choose(self, knowledge: Knowledge, n: int, seed: int) -> list[Choice]:
        from metabase.bot.active import choose_active

        return choose_active(knowledge, n, seed, **vars(self))


class TunePolicy:
    """See :mod:`metabase.bot.tune` (imported when choosing: it needs the models)."""

    name = "tune"

    def __init__(
        self,
        strategy: str | None = None,
        max_share: float = MAX_SHARE,
        max_runs: int | None = MAX_RUNS,
    ) -> None:
        self.strategy = strategy
        self.max_share = max_share
        self.max_runs = max_runs

    def choose(self, knowledge: Knowledge, n: int, seed: int) -> list[Choice]:
        from metabase.bot.tune import choose_tune

        return choose_tune(knowledge, n, seed, **vars(self))


POLICIES = {"active": ActivePolicy, "tune": TunePolicy, "random": RandomPolicy}
DEFAULT_POLICY = "active"


def create_policy(name: str, **params) -> Policy:
    from metabase.errors import InputError

    if name not in POLICIES:
        raise InputError(f"unknown bot policy {name!r}; choose from {', '.join(POLICIES)}")
    return POLICIES[name](**params)
