"""Which configurations ``recommend`` scores, and how the best of them become records (pure).

Candidates are the best few configurations of every task (evaluated elsewhere) plus fresh samples
of each catalogue pipeline's space; the chosen ones are canonicalised in their pipeline's space
and carry their evidence (similar tasks, supporting runs).

When the task itself has runs, what was observed on it outranks any model: its best observed
configurations come first, by their observed scores (:func:`observed_recommendations`), and
predictions fill the rest (:func:`merged`).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace

import numpy as np

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
        import pandas as pd  # here: the warm path reuses cached candidates

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


def canonical_pool(prepared, pipeline_objs: dict, fresh: int, seed: int, runnable_only: bool):
    """(pipelines, configs, rows, canonical) of the candidates that do not depend on the task
    asked about; ``canonical[i]`` is (canonical config, identity key), or None outside today's
    space.
    """
    pipes, configs, rows = candidates(prepared, pipeline_objs, fresh, seed, None, runnable_only)
    return (
        pipes,
        configs,
        rows,
        [canonical_of(pipeline_objs, p, c) for p, c in zip(pipes, configs)],
    )


def task_pool(prepared, runnable: set, task_id: int, runnable_only: bool, canon):
    """(pipelines, configs, rows, canonical) of the task's own best runs in the prepared data,
    best first (ties in data order); ``runnable``: the catalogue's pipelines;
    ``canon(pipeline, config, run key)`` canonicalises.
    """
    mine = np.flatnonzero(prepared.column("task_id") == task_id)
    pipelines = prepared.column("pipeline")
    if runnable_only and runnable:
        mine = mine[[pipelines[r] in runnable for r in mine]]
    norm = prepared.column("norm")[mine]
    chosen = mine[np.argsort(-norm, kind="stable")][:BEST_RUNS_KEPT]
    rows = [int(r) for r in chosen]
    pipes = [pipelines[r] for r in rows]
    configs = [prepared.configs[r] for r in rows]
    keys = [prepared.column("key")[r] for r in rows]
    return pipes, configs, rows, [canon(p, c, k) for p, c, k in zip(pipes, configs, keys)]


def best_canonical(prepared, pipeline_objs: dict) -> dict:
    """Run key -> (canonical config, identity key) of every task's best runs of each pipeline:
    what a task with runs of its own shows, canonicalised once so that a warm call needs no
    catalogue.
    """
    runs = prepared.runs
    ranked = runs.assign(_row=np.arange(len(runs))).sort_values(
        ["task_id", "norm"], ascending=[True, False]
    )
    top = ranked.groupby(["task_id", "pipeline"]).head(BEST_RUNS_KEPT).drop_duplicates("key")
    return {
        k: canonical_of(pipeline_objs, p, prepared.configs[r])
        for k, p, r in zip(top["key"], top["pipeline"], top["_row"])
    }


def canonical_of(pipeline_objs: dict, pipeline: str, config: dict):
    """(config in its pipeline's canonical form, identity key), or None when it lies outside
    today's space.
    """
    if pipeline in pipeline_objs:
        try:
            config = pipeline_objs[pipeline].canonicalize(config)
        except ConfigError as exc:  # a stored config outside today's space: skip it
            log.info("skipping a candidate of %s: %s", pipeline, exc)
            return None
    return config, pipeline + json.dumps(config, sort_keys=True, default=str)


def closest_features(prepared, query_scaled: np.ndarray, task_id: int, n: int = 3) -> list[str]:
    """The ``n`` meta-features on which ``task_id`` is nearest to the query (scaled units, the
    ones task similarity is measured in): why the two tasks count as similar.
    """
    theirs = prepared.task_matrix([task_id], scaled=True)[0]
    gap = np.abs(theirs - query_scaled)
    known = np.flatnonzero(np.isfinite(gap))
    if not len(known) or not gap[known].any():  # the task itself: every feature is identical
        return []
    order = known[np.argsort(gap[known], kind="stable")][:n]
    # the scaled columns are the scaler's (it drops constant qualities), not every feature's
    return [str(prepared.scaler.columns_[i]) for i in order]


def neighbour_evidence(prepared, scores, query_scaled=None, n: int = 5) -> list[dict]:
    """The similar tasks as evidence records, with their closest meta-features when the query's
    scaled meta-features are given.
    """
    out = []
    for task, sim in scores.neighbours[:n]:
        entry = {"task_id": int(task), "similarity": round(float(sim), 4)}
        if query_scaled is not None and prepared.has_task(task):
            closest = closest_features(prepared, query_scaled, task)
            if closest:
                entry["closest_features"] = closest
        out.append(entry)
    return out


def _order(scores) -> np.ndarray:
    """Candidate order, best first: exact ties of the ranking value go to the smaller
    uncertainty, then to the higher prediction, then at random (data order must not help).
    """
    base = ranking(scores.rank_value)
    value = np.nan_to_num(np.asarray(scores.rank_value, float), nan=-np.inf)
    std = (
        np.nan_to_num(np.asarray(scores.std, float), nan=np.inf)
        if scores.std is not None
        else np.zeros(len(value))
    )
    predicted = np.nan_to_num(np.asarray(scores.predicted, float), nan=-np.inf)
    position = np.empty(len(base), int)
    position[base] = np.arange(len(base))
    return np.lexsort((position, -predicted, std, -value))


def top_recommendations(
    prepared, scale, scores, pipes, canonical, rows, k, query_scaled=None
) -> list:
    """The k best candidates as records: canonical configs (``canonical``, see
    :func:`canonical_pool`), scores on the task's ``scale`` (offset, range), evidence (similar
    tasks and their closest meta-features, supporting runs).
    """
    neighbours = neighbour_evidence(prepared, scores, query_scaled)
    run_keys = prepared.column("run_key") if prepared.has_column("run_key") else None
    run_ids = prepared.column("openml_run_id") if prepared.has_column("openml_run_id") else None
    run_tasks, run_scores = prepared.column("task_id"), prepared.column("score")
    out, seen = [], set()
    for index in _order(scores):
        pipeline = pipes[index]
        if canonical[index] is None or canonical[index][1] in seen:
            continue
        config, key = canonical[index]
        seen.add(key)
        support = list(scores.support[index]) if scores.support is not None else []
        if rows[index] >= 0:
            support = [rows[index]] + [r for r in support if r != rows[index]]
        evidence = list(neighbours)
        for r in (int(r) for r in support[:5]):
            run_id = None if run_ids is None else run_ids[r]
            evidence.append(
                {
                    "run_key": None if run_keys is None else run_keys[r],
                    "openml_run_id": None if _missing(run_id) else int(run_id),
                    "task_id": int(run_tasks[r]),
                    "score": float(run_scores[r]),
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


def observed_recommendations(best_runs, task_id: int, canon, limit: int, neighbours=()) -> list:
    """The task's best observed configurations as records (``basis="observed"``), best first by
    the score of their best run; ``best_runs``: rows with the fields of
    :func:`metabase.store.run_queries.best_task_runs` (or a frame of them). The uncertainty is
    that run's spread over its folds, else the spread over the configuration's runs (at least
    two), else unknown; every run of the configuration among ``best_runs`` is evidence.
    ``canon(pipeline, config, run key)`` gives (canonical config, identity key), or None for a
    config outside today's space.
    """
    groups: dict[str, list] = {}
    order: list[str] = []
    rows = best_runs.itertuples(index=False) if hasattr(best_runs, "itertuples") else best_runs
    for run in rows:
        config = json.loads(run.config) if isinstance(run.config, str) else dict(run.config)
        canonical = canon(run.pipeline, config, f"{run.pipeline}|{run.config}")
        if canonical is None:
            continue
        if canonical[1] not in groups:
            groups[canonical[1]] = []
            order.append(canonical[1])
        groups[canonical[1]].append((canonical[0], run))
    out = []
    for key in order[:limit]:
        config, best = groups[key][0]
        scores = [float(r.score) for _, r in groups[key]]
        if best.folds is not None and best.folds >= 2 and not _missing(best.fold_std):
            spread = float(best.fold_std)
        elif len(scores) >= 2:
            spread = float(np.std(scores, ddof=1))
        else:
            spread = None
        runs = [
            {
                "run_key": r.run_key,
                "openml_run_id": None if _missing(r.openml_run_id) else int(r.openml_run_id),
                "task_id": int(task_id),
                "score": float(r.score),
                **(
                    {"fold_std": round(float(r.fold_std), 6), "folds": int(r.folds)}
                    if r.folds and r.folds >= 2 and not _missing(r.fold_std)
                    else {}
                ),
            }
            for _, r in groups[key][:5]
        ]
        out.append(
            Recommendation(
                rank=len(out) + 1,
                pipeline=best.pipeline,
                config=config,
                predicted_score=round(float(best.score), 6),
                uncertainty=None if spread is None else round(spread, 6),
                evidence=tuple([*neighbours, *runs]),
                basis="observed",
            )
        )
    return out


def merged(observed: list, predicted: list, k: int) -> list:
    """Observed configurations first, then the predictions that are not among them, ranked 1..k."""
    seen = set()
    for rec in observed:
        seen.add(rec.pipeline + json.dumps(rec.config, sort_keys=True, default=str))
    rest = [
        r
        for r in predicted
        if r.pipeline + json.dumps(r.config, sort_keys=True, default=str) not in seen
    ]
    return [replace(r, rank=i + 1) for i, r in enumerate([*observed, *rest][:k])]


def tie_notes(recs: list, strategy: str) -> list[str]:
    """One sentence per group of predictions that share a predicted score and uncertainty (a
    tree surrogate saturates at its top leaf): says why they tie and what orders them.
    """
    groups: dict[tuple, list[int]] = {}
    for r in recs:
        if r.basis == "predicted" and r.predicted_score is not None:
            groups.setdefault((r.predicted_score, r.uncertainty), []).append(r.rank)
    notes = []
    for (score, std), ranks in groups.items():
        if len(ranks) < 2:
            continue
        why = (
            "the surrogate cannot tell them apart (they fall in the same leaves); the "
            "portfolio orders them (how well each did across the training tasks)"
            if strategy == "default"
            else f"the {strategy} strategy's ranking orders them"
        )
        shown = f"{score} ± {std}" if std is not None else f"{score}"
        notes.append(f"ranks {', '.join(map(str, ranks))} share one prediction ({shown}): {why}")
    return notes


def order_note(recs: list, strategy: str) -> list[str]:
    """One sentence when the predicted scores shown do not fall down the table: the order is the
    strategy's ranking, which for ``default`` blends two rankings and only one of them is the
    score shown. Names the first place where a lower score ranks above a higher one.
    """
    shown = [
        (r.rank, r.predicted_score)
        for r in recs
        if r.basis == "predicted" and r.predicted_score is not None
    ]
    rises = [(a, b) for a, b in zip(shown, shown[1:]) if b[1] > a[1]]
    if not rises:
        return []
    (rank, score), (later, higher) = rises[0]
    why = (
        "the default strategy ranks by an equal blend of the surrogate's ranking (whose "
        "prediction is shown) and the portfolio's (how well each configuration did across the "
        "training tasks)"
        if strategy == "default"
        else f"the {strategy} strategy's ranking orders the table, not the prediction shown"
    )
    return [
        f"predicted scores are not in descending order (rank {rank}: {score}, rank {later}: "
        f"{higher}): {why}"
    ]


def _missing(value) -> bool:
    """None, NaN or pandas' NA (read without importing pandas)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return type(value).__name__ == "NAType"
