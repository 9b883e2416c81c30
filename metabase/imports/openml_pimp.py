"""``metabase import openml-pimp FILE``: random-search runs of one OpenML flow (openml-pimp's
ARFF).

The file's first comment line is a JSON object naming the flow (``flow_id``), the parameter
columns (``col_parameters``, scikit-learn ``step__param`` names) and the measure columns
(``col_measures``);
``task_id`` is an OpenML **task** id. Nothing about the one file we have is hard-coded: another
flow's export from the same tool imports the same way.

Each data row becomes a run ``openml-pimp:<flow>:<task>:<ordinal of the row within its task>``
(stable across re-imports of the same file) with its typed config and one aggregate evaluation per
measure. The rows are not OpenML run ids (the export does not carry them), so they never collide
with synced runs. ``task_qualities.json`` beside the ``arff/`` folder, when present, gives OpenML
qualities per task id; they go to ``task_qualities`` with source ``openml-pimp``.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from metabase.errors import ImportFormatError
from metabase.formats.numbers import check_finite, positive_id, positive_ids
from metabase.imports._arff import ArffHeader, read_data, read_header
from metabase.imports._configs import map_configs, typed_token
from metabase.imports.base import ImportBatch, Importer, TableLoad, frame_table

log = logging.getLogger(__name__)

SOURCE = "openml-pimp"
QUALITIES_FILE = "task_qualities.json"


def _metadata(path: Path, header: ArffHeader) -> tuple[int, list[str], list[str]]:
    meta = header.comment_json()
    missing = [k for k in ("flow_id", "col_parameters", "col_measures") if k not in meta]
    if missing:
        raise ImportFormatError(
            path, f"header comment JSON lacks {missing}; not an openml-pimp export"
        )
    if isinstance(meta["flow_id"], (float, bool)):  # JSON 3.5 or true is no flow id; "6969" is
        raise ImportFormatError(
            path, f"header comment JSON: flow_id {meta['flow_id']!r} is not an integer"
        )
    flow_id = positive_id(path, "flow_id", meta["flow_id"], "header comment JSON")
    for key in ("col_parameters", "col_measures"):
        if not isinstance(meta[key], list) or not all(isinstance(c, str) for c in meta[key]):
            raise ImportFormatError(
                path, f"header comment JSON: {key} must be a list of column names"
            )
    parameters, measures = list(meta["col_parameters"]), list(meta["col_measures"])
    declared = set(header.names)
    absent = [c for c in [*parameters, *measures, "task_id"] if c not in declared]
    if absent:
        raise ImportFormatError(path, f"columns {absent} named in the header are not attributes")
    # a measure read from the task id or a parameter column would store ids or settings as scores
    misplaced = [m for m in measures if m == "task_id" or m in parameters]
    if misplaced:
        raise ImportFormatError(
            path,
            f"col_measures names {misplaced}, which hold task ids or parameters, not evaluations",
        )
    for measure in measures:
        if header.attribute(measure).kind != "numeric":
            raise ImportFormatError(path, f"measure column {measure!r} is not NUMERIC")
    return flow_id, parameters, measures


def _typed_column(column: pd.Series) -> list:
    """Typed Python values of one parameter column; nominal tokens are typed once per distinct
    value.
    """
    if column.dtype == "float64":
        return [None if math.isnan(v) else v for v in column.tolist()]
    lookup = {v: typed_token(v) for v in column.dropna().unique()}
    return [None if v is pd.NA else lookup[v] for v in column.tolist()]


def _task_ids(path: Path, data: pd.DataFrame) -> np.ndarray:
    return positive_ids(path, "task_id", data["task_id"])


def read_task_qualities(path: Path) -> pd.DataFrame:
    """``{"<task id>": {"<quality>": value, ...}, ...}`` -> long frame (NaN values dropped)."""
    try:
        raw = json.loads(path.read_text())
    except ValueError as exc:
        raise ImportFormatError(path, f"not JSON: {exc}") from None
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ImportFormatError(path, "expected an object of task id -> {quality: value}")
    try:
        wide = pd.DataFrame.from_dict(raw, orient="index").apply(pd.to_numeric, errors="raise")
    except (TypeError, ValueError) as exc:
        raise ImportFormatError(path, f"task ids and values must be numbers ({exc})") from None
    keys = wide.index.tolist()
    wide.index = positive_ids(path, "task id", keys, lambda i: f"key {keys[i]!r}")
    for quality in wide.columns:  # null is missing; Infinity/NaN written out are refused
        check_finite(
            path, quality, wide[quality].to_numpy(dtype="float64"), lambda i: f"task {keys[i]}"
        )
    wide.index.name = "task_id"
    long = wide.stack().rename("value").reset_index().rename(columns={"level_1": "quality"})
    long = long[np.isfinite(long["value"].to_numpy(dtype="float64"))]
    return long.assign(source=SOURCE).astype(
        {"task_id": "int64", "quality": "string", "value": "float64"}
    )


def _refuse_repeated_configs(path: Path, task_ids, hashes) -> None:
    """One configuration twice on one task would be two runs of which a reader keeps either."""
    repeated = pd.Series(list(zip(np.asarray(task_ids).tolist(), hashes))).duplicated().to_numpy()
    if repeated.any():
        i = int(repeated.argmax())
        raise ImportFormatError(
            path,
            f"data row {i + 1}: task {int(np.asarray(task_ids)[i])} has this configuration "
            "already (an earlier row); remove the repeated row",
        )


class OpenmlPimpImporter(Importer):
    name = SOURCE
    description = "openml-pimp random-search runs of one flow (ARFF with a JSON header comment)"
    expects = "file"

    def read(self, path: Path) -> ImportBatch:
        header = read_header(path)
        flow_id, parameters, measures = _metadata(path, header)
        data = read_data(path, header)
        if data.empty:
            raise ImportFormatError(path, "no data rows")
        task_ids = _task_ids(path, data)
        ordinal = data.groupby(task_ids, sort=False).cumcount().to_numpy()
        run_keys = [
            f"{SOURCE}:{flow_id}:{t}:{i}" for t, i in zip(task_ids.tolist(), ordinal.tolist())
        ]

        columns = [_typed_column(data[p]) for p in parameters]
        params = [dict(zip(parameters, values)) for values in zip(*columns)]
        pipeline, configs, hashes = map_configs(params, flow_id=flow_id)

        runs = pd.DataFrame(
            {
                "run_key": run_keys,
                "task_id": task_ids,
                "flow_id": flow_id,
                "pipeline": pd.array(pipeline, dtype="string"),
                "config": configs,
                "config_hash": hashes,
                "source": SOURCE,
                "status": "ok",
            }
        )
        for measure in measures:  # every openml-pimp run has its scores: a missing one is damage
            check_finite(path, measure, data[measure].to_numpy(), allow_nan=False)
        _refuse_repeated_configs(path, task_ids, hashes)
        evaluations = (
            pd.concat(
                [
                    pd.DataFrame({"run_key": run_keys, "measure": m, "value": data[m].to_numpy()})
                    for m in measures
                ],
                ignore_index=True,
            )
            .dropna(subset=["value"])
            .assign(source=SOURCE)
        )

        known = {p for p in pipeline if p is not None}
        flows = pd.DataFrame(
            {
                "flow_id": [flow_id],
                "source": [SOURCE],
                "pipeline": pd.array([known.pop() if len(known) == 1 else None], dtype="string"),
            }
        )
        loads = [
            TableLoad("flows", flows),
            TableLoad("runs", runs),
            TableLoad("evaluations", frame_table(evaluations), mode="replace", by=("run_key",)),
        ]

        task_set = set(task_ids.tolist())
        qualities_path = path.parent.parent / QUALITIES_FILE
        if qualities_path.is_file():
            qualities = read_task_qualities(qualities_path)
            task_set |= set(qualities["task_id"].tolist())
            loads.append(TableLoad("task_qualities", qualities))
        tasks = pd.DataFrame({"task_id": sorted(task_set), "source": SOURCE})
        loads.insert(0, TableLoad("tasks", tasks))
        return ImportBatch(source=SOURCE, loads=tuple(loads), path=path)
