"""``metabase import meta-dataset DIR``: a directory in the interchange format of DESIGN.md.

``runs.parquet`` rows become runs with one aggregate evaluation, measure ``score`` (higher is
better, as the format defines it); ``tasks.parquet`` gives ``tasks`` rows (task id, dataset id) and
its meta-feature columns go to ``task_qualities`` in long form. Everything is tagged with source
``meta-dataset``.

Run keys are ``meta-dataset:<content digest>:<row>``: the digest is computed from the runs' content
(not from the directory's name), so importing the same meta-dataset twice, from any path, gives the
same keys, and two different meta-datasets never share one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from metabase import metadataset
from metabase.errors import ImportFormatError
from metabase.imports._configs import canonical_json, hash_config, invalid_known_values
from metabase.imports.base import ImportBatch, Importer, TableLoad, frame_table

log = logging.getLogger(__name__)

SOURCE = "meta-dataset"
MEASURE = "score"


def content_digest(runs: pd.DataFrame) -> str:
    """12 hex digits that identify the runs' content (task, pipeline, config, score, row order)."""
    row_hashes = pd.util.hash_pandas_object(runs[list(metadataset.RUN_COLUMNS)], index=False)
    return hashlib.sha256(row_hashes.to_numpy().tobytes()).hexdigest()[:12]


def _check_catalogue_configs(path: Path, pipelines: list, texts: list, parsed: list[dict]) -> None:
    """Refuse a config whose known hyperparameters are invalid in its catalogue pipeline's space;
    each distinct (pipeline, config) is checked once.
    """
    checked: set[tuple] = set()
    for row, (pipeline, text, config) in enumerate(zip(pipelines, texts, parsed)):
        if pipeline is None or pipeline is pd.NA or (pipeline, text) in checked:
            continue
        checked.add((pipeline, text))
        reason = invalid_known_values(str(pipeline), config)
        if reason is not None:
            raise ImportFormatError(
                path / metadataset.RUNS_FILE,
                f"row {row}: config is not valid for catalogue pipeline {reason}",
            )


class MetaDatasetImporter(Importer):
    name = SOURCE
    description = (
        "a meta-dataset directory (runs.parquet, tasks.parquet) in the interchange format"
    )
    expects = "dir"

    def read(self, path: Path) -> ImportBatch:
        meta = metadataset.read(path)  # validates: columns, types, JSON objects, unique tasks
        runs = meta.runs
        if runs.empty:
            raise ImportFormatError(path / metadataset.RUNS_FILE, "no data rows")
        digest = content_digest(runs)
        keys = [f"{SOURCE}:{digest}:{i}" for i in range(len(runs))]
        parsed = [json.loads(c) for c in runs["config"]]
        _check_catalogue_configs(path, runs["pipeline"].tolist(), runs["config"].tolist(), parsed)
        configs = [canonical_json(c) for c in parsed]
        pipelines = runs["pipeline"].fillna("unknown").tolist()
        hashes = [hash_config(p, c, t) for p, c, t in zip(pipelines, parsed, configs)]
        # ``flow-<id>`` is how an export names runs of a flow outside the catalogue: keep the
        # flow id
        flow_ids = pd.to_numeric(pd.Series(pipelines).str.extract(r"^flow-(\d+)$")[0]).astype(
            "Int64"
        )
        run_rows = pd.DataFrame(
            {
                "run_key": keys,
                "task_id": runs["task_id"].to_numpy(),
                "flow_id": flow_ids.array,
                "pipeline": pd.array(pipelines, dtype="string"),
                "config": configs,
                "config_hash": hashes,
                "source": SOURCE,
                "status": "ok",
            }
        )
        evaluations = pd.DataFrame(
            {
                "run_key": keys,
                "measure": MEASURE,
                "value": runs["score"].to_numpy(),
                "source": SOURCE,
            }
        ).dropna(subset=["value"])
        if len(evaluations) < len(
            runs
        ):  # an export writes NaN for a run whose evaluation is missing
            log.warning(
                "%s: %d of %d runs have no score (NaN); they are stored without an evaluation",
                path,
                len(runs) - len(evaluations),
                len(runs),
            )

        tasks = meta.tasks[["task_id", "dataset_id"]]
        extra = np.setdiff1d(runs["task_id"].unique(), tasks["task_id"].to_numpy())
        tasks = pd.concat(
            [tasks, pd.DataFrame({"task_id": extra}).astype({"task_id": "int64"})],
            ignore_index=True,
        ).assign(source=SOURCE)
        tasks["dataset_id"] = tasks["dataset_id"].astype("Int64")
        qualities = (
            meta.tasks.drop(columns="dataset_id")
            .melt(id_vars="task_id", var_name="quality", value_name="value")
            .dropna(subset=["value"])
            .assign(source=SOURCE)
            .astype({"quality": "string"})
        )
        loads = (
            TableLoad("tasks", frame_table(tasks)),
            TableLoad("runs", frame_table(run_rows)),
            TableLoad(
                "evaluations", frame_table(evaluations), mode="replace", by=("run_key", "measure")
            ),
            # replace: the tasks' meta-features mirror this directory exactly
            TableLoad(
                "task_qualities", frame_table(qualities), mode="replace", by=("task_id", "source")
            ),
        )
        return ImportBatch(source=SOURCE, loads=loads, path=path)
