"""How the bot chooses what to run next: a policy sees what is known and what may be run, and
picks ``n`` candidates. Pure: no store, no network; the live bot and the simulation
(``metabase bot --simulate``) give every policy the same :class:`Knowledge`.

- ``active`` (the default): run where the meta-models are most unsure, per predicted second of
  compute: among the configurations the cross-task surrogate would recommend for each task, those
  on which its ensemble disagrees most (:mod:`metabase.bot.active`).
- ``tune``: per task, improve the best known result with the sequential default strategy
  (``twins``), the task with the most to gain first (:mod:`metabase.bot.tune`).
- ``random``: a uniformly random candidate (task, pipeline and configuration), the R bot's
  choice and the baseline.

``active`` and ``tune`` cap what one task and pipeline may take (:func:`capped`): at most
``max_share`` of a batch, and ``max_runs`` runs in all, so that no task soaks up the budget. With
too little knowledge to train a model (fewer than two tasks with differing scores) they choose at
random. :mod:`metabase.bot.simulate` measures the policies against each other.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from metabase.bot.records import (  # noqa: F401 - the contract's documented home
    CANDIDATE_COLUMNS,
    MAX_RUNS,
    MAX_SHARE,
    Choice,
    Knowledge,
    capped,
    choices,
)


class Policy(Protocol):
    name: str

    def choose(self, knowledge: Knowledge, n: int, seed: int) -> list[Choice]:
        """Up to ``n`` distinct candidates of ``knowledge.candidates``, best first."""


class RandomPolicy:
    name = "random"

    def choose(self, knowledge: Knowledge, n: int, seed: int) -> list[Choice]:
        ids = knowledge.candidates["candidate"].to_numpy()
        picked = np.random.default_rng(seed).choice(ids, min(n, len(ids)), replace=False)
        return choices(knowledge.candidates, picked, "random")


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
