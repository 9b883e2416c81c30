"""``metabase export meta-dataset DIR``: runs and task meta-features in the interchange format.

Runs: every finished run (status ``ok`` or unknown) with an aggregate evaluation of the chosen
measure, optionally only those of one pipeline or one OpenML flow. A run's pipeline is its
catalogue pipeline, else its flow's, else ``flow-<flow id>``; its config is the stored JSON (``{}``
when a source knows none). ``score`` is the measure's value, negated when lower is better (errors,
losses, times), so that it is always higher-is-better as the format requires.

Tasks: one row per task that has runs, with its dataset id and one column per quality from the
``task_qualities_wide`` view (dataset qualities through the task's dataset, plus qualities known
per task); qualities that none of these tasks has are left out.

Rows are sorted (task, pipeline, config, score), so exporting the same content twice gives equal
files: that is what makes the export -> import -> export round trip checkable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from metabase import metadataset
from metabase.errors import NotFoundError

DEFAULT_MEASURE = "predictive_accuracy"
# Substrings of measure names where lower is better, used when evaluation_measures does not say.
LOWER_IS_BETTER = ("error", "loss", "time", "millis", "memory", "cost")

_RUNS = """
WITH candidates AS (
    SELECT r.run_key, r.task_id, r.flow_id,
           coalesce(r.pipeline, f.pipeline, 'flow-' || CAST(r.flow_id AS VARCHAR), 'unknown') AS pipeline,
           coalesce(CAST(r.config AS VARCHAR), '{{}}') AS config
    FROM runs r LEFT JOIN flows f ON f.flow_id = r.flow_id
    WHERE r.task_id IS NOT NULL AND coalesce(r.status, 'ok') = 'ok'
)
SELECT {select}
FROM candidates c JOIN evaluations e ON e.run_key = c.run_key
WHERE e.fold IS NULL AND e."repeat" IS NULL AND e.value IS NOT NULL {where}
"""


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    runs: int
    tasks: int
    pipelines: tuple[str, ...]
    measure: str
    negated: bool  # True when the measure is lower-is-better and scores are its negation


def higher_is_better(con, measure: str) -> bool:
    """From the store's evaluation_measures when it knows the measure, else from its name."""
    known = None
    if "evaluation_measures" in con.tables():
        known = con.scalar("SELECT higher_is_better FROM evaluation_measures WHERE measure = ?", [measure])
    if known is not None:
        return bool(known)
    return not any(part in measure.lower() for part in LOWER_IS_BETTER)


def _filters(pipeline: str | None, flow: int | None) -> tuple[str, list]:
    where, params = "", []
    if pipeline is not None:
        where += " AND c.pipeline = ?"
        params.append(pipeline)
    if flow is not None:
        where += " AND c.flow_id = ?"
        params.append(int(flow))
    return where, params


def _what(pipeline: str | None, flow: int | None) -> str:
    if pipeline is not None:
        return f"pipeline {pipeline}"
    if flow is not None:
        return f"flow {flow}"
    return "any pipeline"


def _no_runs(con, pipeline: str | None, flow: int | None, measure: str) -> NotFoundError:
    where, params = _filters(pipeline, flow)
    measures = con.df(_RUNS.format(select="DISTINCT e.measure", where=where) + " ORDER BY 1", params)
    what = _what(pipeline, flow)
    if len(measures):
        have = ", ".join(measures["measure"].tolist())
        return NotFoundError(f"no runs for {what} with an aggregate {measure!r} evaluation "
                             f"(they have: {have}); pass --measure with one of those")
    hint = f"--flows {flow}" if flow is not None else "--flows ..."
    return NotFoundError(f"no runs for {what}: run `metabase import openml-pimp ...` or "
                         f"`metabase sync {hint}`")


def _runs(con, pipeline: str | None, flow: int | None, measure: str) -> pd.DataFrame:
    where, params = _filters(pipeline, flow)
    sql = _RUNS.format(select="c.task_id, c.pipeline, c.config, e.value AS score",
                       where=where + " AND e.measure = ?")
    return con.df(sql + " ORDER BY task_id, pipeline, config, score", [*params, measure])


def _tasks(con, task_ids: list[int]) -> pd.DataFrame:
    base = ("SELECT t.task_id, k.dataset_id FROM (SELECT unnest(?::BIGINT[]) AS task_id) t "
            "LEFT JOIN tasks k USING (task_id)")
    views = con.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'task_qualities_wide'")
    if views:
        base = ("SELECT t.task_id, k.dataset_id, q.* EXCLUDE (task_id) "
                "FROM (SELECT unnest(?::BIGINT[]) AS task_id) t LEFT JOIN tasks k USING (task_id) "
                "LEFT JOIN task_qualities_wide q USING (task_id)")
    tasks = con.df(base + " ORDER BY task_id", [task_ids])
    qualities = [c for c in tasks.columns if c not in ("task_id", "dataset_id")]
    empty = [c for c in qualities if tasks[c].isna().all()]
    return tasks.drop(columns=empty)


def export_meta_dataset(
    con, directory: str | Path, *, pipeline: str | None = None, flow: int | None = None,
    measure: str = DEFAULT_MEASURE,
) -> ExportResult:
    """Write ``runs.parquet`` and ``tasks.parquet`` for the selected runs; ``con`` may be read-only."""
    runs = _runs(con, pipeline, flow, measure)
    if runs.empty:
        raise _no_runs(con, pipeline, flow, measure)
    negate = not higher_is_better(con, measure)
    if negate:
        runs["score"] = -runs["score"]
        runs = runs.sort_values(["task_id", "pipeline", "config", "score"], kind="stable", ignore_index=True)
    task_ids = sorted(int(t) for t in runs["task_id"].unique())
    tasks = _tasks(con, task_ids)
    directory = metadataset.write(metadataset.MetaDataset(runs=runs, tasks=tasks), directory)
    return ExportResult(directory=Path(directory), runs=len(runs), tasks=len(tasks),
                        pipelines=tuple(sorted(runs["pipeline"].unique())), measure=measure, negated=negate)
