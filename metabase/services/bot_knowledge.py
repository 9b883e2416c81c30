"""What the bot's policy sees (:class:`~metabase.bot.policy.Knowledge`), built from the store.

- ``runs``: the store's finished runs of the bot's pipelines (a per-task sample, as
  ``recommend`` reads them), scores higher-is-better; multi-fidelity's screening runs (below the
  top rung) are left out, as ``recommend`` and the retraining leave them out.
- ``tasks``: the bot's tasks with their stored meta-features (NaN where the store has none).
- ``candidates``: per task and pipeline (not paused, under its cap), ``per_pair`` configurations
  sampled from the pipeline's space, deterministically (each round's seed is derived from the
  bot's seed, the task, the pipeline and the round), minus those run or chosen already (by
  configuration hash, whatever their seed or fidelity).

The rounds a pair samples start at ``len(taken) // per_pair``: a seed stream that moves on as the
pair's configurations are taken. Sampling always from round 0 ran dry once every draw of the first
rounds was taken (about 160 runs of one task and pipeline), although a continuous space never is.
The start is derived from the store, so a restarted bot samples where its predecessor had got to,
and what is taken is skipped by hash all the same. A space that is truly finite ends: once all of
its configurations are taken, ``SAMPLE_ROUNDS`` rounds find nothing new and the pair has no
candidates (a finite space with a few configurations left may end a little early, as before).
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable, Sequence

import pandas as pd

from metabase.records import Fidelity

SAMPLE_ROUNDS = 20  # rounds sampled per pair and ask before it counts as exhausted
RUNS_PER_TASK = 200  # the knowledge's sample of runs per task and pipeline (as recommend's)


def default_resolve(name: str):
    import pipelines

    return pipelines.get(name)


def pair_seed(seed: int, task_id: int, pipeline: str, round_: int) -> int:
    digest = hashlib.sha256(f"{seed}:{task_id}:{pipeline}:{round_}".encode()).hexdigest()
    return int(digest[:8], 16)


def knowledge(
    con,
    task_ids: list[int],
    pipelines: list[str],
    *,
    resolve: Callable | None = None,
    per_pair: int = 8,
    cap: int | None = None,
    seed: int = 0,
):
    from metabase.bot.policy import Knowledge
    from metabase.store import bot as store
    from metabase.store import run_queries
    from metabase.store.runs import task_kind

    resolve = resolve or default_resolve
    runs = run_queries.sampled_runs(con, pipelines, cap=RUNS_PER_TASK, best=20)
    runs = runs[["task_id", "pipeline", "config", "score"]].reset_index(drop=True)
    features = run_queries.task_features(con, task_ids)
    tasks = pd.DataFrame({"task_id": pd.Series(task_ids, dtype="int64")}).merge(
        features, on="task_id", how="left"
    )
    if "dataset_id" not in tasks:
        tasks.insert(1, "dataset_id", pd.Series([None] * len(tasks), dtype="Int64"))
    paused = {(p["task_id"], p["pipeline"]) for p in store.paused(con)}
    taken = store.taken(con, task_ids, pipelines)
    rows = []
    for task in task_ids:
        kind = task_kind(con, task)[0]
        for name in pipelines:
            pipeline = resolve(name)
            if (task, name) in paused or kind not in pipeline.task_types:
                continue
            used = taken.get((task, name), set())
            room = per_pair if cap is None else min(per_pair, cap - len(used))
            rows += [
                (task, name, config) for config in _fresh(pipeline, name, task, used, room, seed)
            ]
    candidates = pd.DataFrame(rows, columns=["task_id", "pipeline", "config"])
    candidates.insert(0, "candidate", range(len(candidates)))
    return Knowledge(runs=runs, tasks=tasks, candidates=candidates)


def _fresh(pipeline, name: str, task: int, used: set, n: int, seed: int) -> list[str]:
    """Up to ``n`` configurations (JSON text) of ``pipeline`` not among ``used`` hashes."""
    import pipelines as catalogue

    out: list[str] = []
    seen = set(used)
    if n <= 0:
        return out
    start = len(used) // n  # the stream moves on with what is taken (module docstring)
    for round_ in range(start, start + SAMPLE_ROUNDS):
        if len(out) >= n:
            break
        for config in pipeline.sample(n, pair_seed(seed, task, name, round_)):
            digest = catalogue.config_hash(name, config)
            if digest not in seen and len(out) < n:
                seen.add(digest)
                out.append(json.dumps(config, sort_keys=True))
    return out


def jobs_of(
    choices: Sequence, seed: int, fidelity: Fidelity, ladders: dict | None = None
) -> list[dict]:
    """The ``bot_jobs`` rows of the policy's choices; a pipeline with a fidelity ladder (in
    ``ladders``) starts at its lowest rung.
    """
    from metabase.services.bot_fidelity import job

    out = []
    for choice in choices:
        rungs = (ladders or {}).get(choice.pipeline)
        out.append(
            job(
                choice.task_id,
                choice.pipeline,
                json.loads(choice.config),
                seed,
                rungs[0] if rungs else fidelity,
                choice.reason,
                0 if rungs else None,
                screening=bool(rungs) and len(rungs) > 1,
            )
        )
    return out
