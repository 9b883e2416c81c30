"""The bot-simulation facade: a meta-dataset directory -> a policy's learning curve
(:mod:`metabase.bot.simulate`), for ``metabase bot --simulate``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from metabase.errors import InputError

DEFAULT_BUDGET = 500


def simulate_bot(
    directory: str | Path,
    policy: str = "active",
    budget: int = DEFAULT_BUDGET,
    seeds: int = 5,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    known_share: float = 0.05,
) -> dict:
    """``{"policy", "budget", "batch", "seeds", "k", "train_tasks", "test_tasks", "curve": [...]}``
    (see :func:`metabase.bot.simulate.simulate`).
    """
    from metabase import metadataset
    from metabase.bot.policy import POLICIES
    from metabase.bot.simulate import simulate
    from metabase.recommend.data import usable_tasks

    if policy not in POLICIES:
        raise InputError(f"unknown bot policy {policy!r}; choose from {', '.join(POLICIES)}")
    for name, value in (("--budget", budget), ("--seeds", seeds), ("--batch", batch)):
        if value is None and name == "--batch":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive integer, not {value!r}")
    if not 0 < known_share < 1:
        raise InputError(f"the known share must be between 0 and 1, not {known_share!r}")
    meta = metadataset.read(directory)
    if len(usable_tasks(meta.runs)) < 5:
        raise InputError(
            f"{directory}: the simulation needs at least 5 usable tasks (at least two runs with "
            "different scores each): a fifth are held out as test tasks, the rest are learned from"
        )
    return simulate(
        meta,
        policy,
        budget=budget,
        seeds=seeds,
        batch=batch,
        progress=progress,
        known_share=known_share,
    )
