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
from metabase.store import run_queries
from metabase.store.measures import higher_is_better

DEFAULT_MEASURE = "predictive_accuracy"


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    runs: int
    tasks: int
    pipelines: tuple[str, ...]
    measure: str
    negated: bool  # True when the measure is lower-is-better and scores are its negation


def _what(pipeline: str | None, flow: int | None) -> str:
    if pipeline is not None:
        return f"pipeline {pipeline}"
    if flow is not None:
        return f"flow {flow}"
    return "any pipeline"


def _no_runs(con, pipeline: str | None, flow: int | None, measure: str) -> NotFoundError:
    measures = run_queries.export_measures(con, pipeline, flow)
    what = _what(pipeline, flow)
    if measures:
        return NotFoundError(
            f"no runs for {what} with an aggregate {measure!r} evaluation "
            f"(they have: {', '.join(measures)}); pass --measure with one of those"
        )
    hint = f"--flows {flow}" if flow is not None else "--flows ..."
    return NotFoundError(
        f"no runs for {what}: run `metabase import openml-pimp ...` or `metabase sync {hint}`"
    )


def _tasks(con, task_ids: list[int]) -> pd.DataFrame:
    tasks = run_queries.export_tasks(con, task_ids)
    qualities = [c for c in tasks.columns if c not in ("task_id", "dataset_id")]
    empty = [c for c in qualities if tasks[c].isna().all()]
    return tasks.drop(columns=empty)


def export_meta_dataset(
    con,
    directory: str | Path,
    *,
    pipeline: str | None = None,
    flow: int | None = None,
    measure: str = DEFAULT_MEASURE,
) -> ExportResult:
    """Write ``runs.parquet`` and ``tasks.parquet`` for the selected runs; ``con`` may be
    read-only.
    """
    runs = run_queries.export_runs(con, pipeline, flow, measure)
    if runs.empty:
        raise _no_runs(con, pipeline, flow, measure)
    negate = not higher_is_better(con, measure)
    if negate:
        runs["score"] = -runs["score"]
        runs = runs.sort_values(
            ["task_id", "pipeline", "config", "score"], kind="stable", ignore_index=True
        )
    task_ids = sorted(int(t) for t in runs["task_id"].unique())
    tasks = _tasks(con, task_ids)
    directory = metadataset.write(metadataset.MetaDataset(runs=runs, tasks=tasks), directory)
    return ExportResult(
        directory=Path(directory),
        runs=len(runs),
        tasks=len(tasks),
        pipelines=tuple(sorted(runs["pipeline"].unique())),
        measure=measure,
        negated=negate,
    )
