"""How the bot chooses what to run next: a policy sees what is known and what may be run, and
picks ``n`` candidates. Pure: no store, no network; the live bot and the simulation
(``metabase bot --simulate``) give every policy the same :class:`Knowledge`.

- ``random``: a uniformly random candidate (task, pipeline and configuration), the R bot's
  choice and the baseline.
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


POLICIES = {"random": RandomPolicy}


def create_policy(name: str, **params) -> Policy:
    from metabase.errors import InputError

    if name not in POLICIES:
        raise InputError(f"unknown bot policy {name!r}; choose from {', '.join(POLICIES)}")
    return POLICIES[name](**params)
