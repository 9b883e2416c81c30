"""Which configurations ``recommend`` scores, and how the best of them become records (pure).

Candidates are the best few configurations of every task (evaluated elsewhere) plus fresh samples
of each catalogue pipeline's space; the chosen ones are canonicalised in their pipeline's space
and carry their evidence (similar tasks, supporting runs).
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd

from metabase.errors import ConfigError
from metabase.evaluate.regret import ranking
from metabase.recommend.records import Recommendation

log = logging.getLogger(__name__)

POOL_PER_TASK = 3  # best configurations of every task and pipeline that become candidates
BEST_RUNS_KEPT = 10  # best runs of the target task itself, the strongest evidence of all


def fresh_pairs(pipeline_objs: dict, fresh: int, seed: int) -> list:
    """(pipeline, config) of ``fresh`` samples of each catalogue pipeline's space."""
    return [(name, c) for name, p in pipeline_objs.items() for c in p.sample(fresh, seed=seed)]


def candidates(
    prepared,
    pipeline_objs: dict,
    fresh: int,
    seed: int,
    target_task: int | None,
    runnable_only: bool = False,
):
    """(pipelines, configs, source rows): the best runs of every task (evaluated elsewhere), all
    distinct, plus fresh samples of each catalogue pipeline's space (rows -1). With
    ``runnable_only`` (and some catalogue pipeline in the data), only catalogue pipelines: flows
    known only by name and score (e.g. the study exports' Weka flows) still teach the models but
    are not recommended, since they have no configuration to run.
    """
    runs = prepared.runs
    if runnable_only and pipeline_objs:
        runs = runs.assign(_keep=runs["pipeline"].isin(list(pipeline_objs)))
    else:
        runs = runs.assign(_keep=True)
    ranked = runs.assign(_row=np.arange(len(runs)))
    ranked = ranked[ranked["_keep"]].sort_values(["task_id", "norm"], ascending=[True, False])
    top = ranked.groupby(["task_id", "pipeline"]).head(POOL_PER_TASK)
    if target_task is not None:  # the task's own good runs are the strongest evidence of all
        top = pd.concat([top, ranked[ranked["task_id"] == target_task].head(BEST_RUNS_KEPT)])
    top = top.drop_duplicates("key")
    pipes = list(top["pipeline"])
    configs = [prepared.configs[i] for i in top["_row"]]
    rows = list(top["_row"])
    for name, pipeline in pipeline_objs.items():
        for config in pipeline.sample(fresh, seed=seed):
            pipes.append(name)
            configs.append(config)
            rows.append(-1)
    return pipes, configs, rows


def top_recommendations(prepared, scale, scores, pipes, configs, rows, pipeline_objs, k) -> list:
    """The k best candidates as records: canonical configs, scores on the task's ``scale``
    (offset, range), evidence (similar tasks, supporting runs).
    """
    neighbours = [{"task_id": t, "similarity": round(s, 4)} for t, s in scores.neighbours[:5]]
    prepared_runs = prepared.runs
    out, seen = [], set()
    for index in ranking(scores.rank_value):
        pipeline, config = pipes[index], configs[index]
        if pipeline in pipeline_objs:
            try:
                config = pipeline_objs[pipeline].canonicalize(config)
            except ConfigError as exc:  # a stored config outside today's space: skip it
                log.info("skipping a candidate of %s: %s", pipeline, exc)
                continue
        key = pipeline + json.dumps(config, sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        support = list(scores.support[index]) if scores.support is not None else []
        if rows[index] >= 0:
            support = [rows[index]] + [r for r in support if r != rows[index]]
        evidence = list(neighbours)
        for r in support[:5]:
            run = prepared_runs.iloc[int(r)]
            evidence.append(
                {
                    "run_key": run.get("run_key"),
                    "openml_run_id": None
                    if pd.isna(run.get("openml_run_id"))
                    else int(run["openml_run_id"]),
                    "task_id": int(run["task_id"]),
                    "score": float(run["score"]),
                }
            )
        predicted = scores.predicted[index]
        std = scores.std[index] if scores.std is not None else np.nan
        out.append(
            Recommendation(
                rank=len(out) + 1,
                pipeline=pipeline,
                config=config,
                predicted_score=None
                if np.isnan(predicted)
                else round(scale[0] + scale[1] * float(predicted), 6),
                uncertainty=None if np.isnan(std) else round(scale[1] * float(std), 6),
                expected_runtime=None,
                evidence=tuple(evidence),
            )
        )
        if len(out) == k:
            break
    return out
