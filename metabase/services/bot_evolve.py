"""Aging evolution for the bot's torch architectures (:mod:`metabase.bot.evolution` decides).

When the policy picks ``torch.mlp`` or ``torch.resnet`` on a task, the configuration it sampled
is replaced by evolution's proposal over that pair's stored results: the bot's finished jobs of
the pair at the entry fidelity (rung 0 with multi-fidelity, else the bot's fidelity), oldest
first, a failed run scoring -inf. Until the population is full it tries the recommended
architectures first: the best configuration on similar tasks (the multi-fidelity hurdle's rule)
and the space's default. The proposal is deterministic in the seed and the stored history, so a
restart proposes what the killed bot would have (a job proposed before is not added twice).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Sequence

from metabase.records import Fidelity

EVOLVED = ("torch.mlp", "torch.resnet")


def history(con, task_id: int, pipeline: str, entry: Fidelity) -> list[tuple[dict, float]]:
    """(config, score) of the pair's finished bot jobs at the ``entry`` fidelity, oldest first."""
    from metabase.store import bot as store
    from metabase.store.run_queries import task_run_scores

    jobs = [
        j
        for j in store.finished_jobs(con, task_id, pipeline)
        if json.loads(j["fidelity"]) == entry.to_dict()
    ]
    scores = task_run_scores(con, task_id, [j["run_key"] for j in jobs])
    return [(json.loads(j["config"]), scores.get(j["run_key"], -float("inf"))) for j in jobs]


def evolve(con, choices: Sequence, resolve, seed: int, top: Fidelity, ladders: dict) -> list:
    """``choices`` with each torch architecture choice's configuration replaced by evolution's
    proposal (one per task and pipeline: a second would be the same proposal).
    """
    from metabase.bot.evolution import POPULATION, propose
    from metabase.services.bot_fidelity import hurdle_config

    out, seen = [], set()
    for choice in choices:
        pair = (choice.task_id, choice.pipeline)
        if choice.pipeline not in EVOLVED:
            out.append(choice)
            continue
        if pair in seen:
            continue
        seen.add(pair)
        pipeline = resolve(choice.pipeline)
        space = pipeline.space
        entry = (ladders.get(choice.pipeline) or [top])[0]
        past = history(con, choice.task_id, choice.pipeline, entry)
        initial = []
        if len(past) < POPULATION:  # the recommended architectures seed the population
            found = hurdle_config(con, choice.task_id, choice.pipeline, top)
            default = pipeline.canonicalize(dict(space.get_default_configuration()))
            initial = [c for c in (found, default) if c]
        proposal = propose(space, past, initial=initial, seed=seed)
        config = json.dumps(pipeline.canonicalize(proposal.config), sort_keys=True)
        out.append(replace(choice, config=config, reason=proposal.reason))
    return out
