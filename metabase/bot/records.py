"""The records the bot's policies exchange: what a policy may look at (:class:`Knowledge`), what it
chooses (:class:`Choice`), and the caps every model-based policy keeps (:func:`capped`).
:mod:`metabase.bot.policy` is their documented home; they live here so that the policies'
implementations need not import the registry that names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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


def choices(candidates: "pd.DataFrame", ids, reason: str) -> list[Choice]:
    """The :class:`Choice` s for candidate ``ids`` (in that order)."""
    rows = candidates.set_index("candidate").loc[list(ids)]
    return [
        Choice(int(i), int(r.task_id), str(r.pipeline), str(r.config), reason)
        for i, r in zip(rows.index, rows.itertuples(), strict=True)
    ]


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
