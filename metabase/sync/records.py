"""OpenML list pages and entity bodies -> rows of the store's tables (pure: Arrow/dicts in and out).

Setups get typed values: a flow that maps onto a catalogue pipeline gets the pipeline's canonical
config (``pipelines.map_openml``) and its ``config_hash``; any other flow keeps its parameters typed
generically (numbers as numbers, JSON decoded), keyed by parameter name (prefixed with the
component's class name when a sub-flow's parameter would clash).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc

SOURCE = "openml"


# -- runs and evaluations ------------------------------------------------------------------
def runs_and_evaluations(batch: pa.RecordBatch, since: datetime | None = None) -> tuple[pa.Table, pa.Table]:
    """An ``evaluation/list`` page -> (runs rows, aggregate evaluation rows)."""
    table = pa.Table.from_batches([batch])
    if since is not None and table.num_rows:
        table = table.filter(pc.fill_null(pc.greater_equal(table["upload_time"], pa.scalar(since, pa.timestamp("s"))), False))
    run_key = pc.binary_join_element_wise(pa.scalar("openml:"), pc.cast(table["run_id"], pa.string()), "")
    runs = pa.table({
        "run_key": run_key, "openml_run_id": table["run_id"], "task_id": table["task_id"],
        "flow_id": table["flow_id"], "setup_id": table["setup_id"],
        "source": pa.array([SOURCE] * table.num_rows, pa.string()),
        "status": pa.array(["ok"] * table.num_rows, pa.string()),
        "uploader": table["uploader"], "created_at": table["upload_time"],
    })
    evaluations = pa.table({
        "run_key": run_key, "measure": table["function"], "value": table["value"],
        "fold": pa.nulls(table.num_rows, pa.int32()), "repeat": pa.nulls(table.num_rows, pa.int32()),
        "source": pa.array([SOURCE] * table.num_rows, pa.string()),
    })
    return runs, evaluations


# -- tasks, datasets, qualities, flows -----------------------------------------------------
def tasks_rows(task_list: pa.Table, procedures: dict[int, str]) -> list[dict]:
    rows = []
    for t in task_list.to_pylist():
        inputs = dict(t.get("input") or [])
        ep_id = _int(inputs.get("estimation_procedure"))
        measures = inputs.get("evaluation_measures") or None
        rows.append({
            "task_id": t["task_id"], "dataset_id": t["did"] or _int(inputs.get("source_data")),
            "task_type": t["task_type"], "task_type_id": t["task_type_id"],
            "target": inputs.get("target_feature") or None,
            "estimation_procedure": procedures.get(ep_id) if ep_id is not None else None,
            "estimation_procedure_id": ep_id,
            "evaluation_measure": measures.split(",")[0] if measures else None,
            "status": t["status"], "source": SOURCE,
        })
    return rows


def task_inputs_rows(task_list: pa.Table) -> list[dict]:
    return [{"task_id": t["task_id"], "input": k, "value": v, "source": SOURCE}
            for t in task_list.to_pylist() for k, v in (t.get("input") or [])]


def dataset_row(parsed: dict) -> dict:
    row = dict(parsed)
    row["upload_date"] = _timestamp(row.get("upload_date"))
    row["source"] = SOURCE
    return row


def quality_rows(dataset_id: int, qualities: Iterable[tuple[str, float | None]]) -> list[dict]:
    return [{"dataset_id": int(dataset_id), "quality": q, "value": v, "source": SOURCE} for q, v in qualities]


def flow_row(parsed: dict, pipeline: str | None = None) -> dict:
    row = dict(parsed)
    row["upload_date"] = _timestamp(row.get("upload_date"))
    row["pipeline"] = pipeline
    row["source"] = SOURCE
    return row


# -- setups ---------------------------------------------------------------------------------
def setups_rows(batch: pa.RecordBatch, flow_names: dict[int, str]) -> tuple[list[dict], dict[int, str]]:
    """A ``setup/list`` page -> (setups rows, {flow_id: pipeline} for flows that mapped)."""
    import pipelines

    rows, mapped_flows = [], {}
    matches: dict[int, bool] = {}  # flow id -> is it a catalogue pipeline at all (asked once)
    setup_ids = batch.column("setup_id").to_pylist()
    flow_ids = batch.column("flow_id").to_pylist()
    all_params = batch.column("parameter").to_pylist()
    for setup_id, flow_id, params in zip(setup_ids, flow_ids, all_params):
        params = params or []
        # raw values as received, compact: the component's flow id only for sub-flow parameters
        raw = [{"name": p.get("parameter_name"), "value": p.get("value"),
                **({"flow_id": p.get("flow_id")} if p.get("flow_id") not in (None, flow_id) else {})}
               for p in params]
        flow_name = flow_names.get(flow_id) or (params[0].get("flow_name") if params else None)
        pipeline, config, digest = None, None, None
        names = [p.get("parameter_name") for p in params]
        if len(set(names)) == len(names) and all(p.get("flow_id") in (None, flow_id) for p in params):
            # one flow, unique names: the plain name -> value form (full names such as
            # "Flow(1)_param" are not read reliably by the mapper)
            mappable = {p.get("parameter_name"): p.get("value") for p in params}
        else:
            mappable = params
        if flow_id not in matches:
            try:
                matches[flow_id] = pipelines.match_flow(flow_name, flow_id) is not None
            except Exception:  # noqa: BLE001
                matches[flow_id] = False
        mapped = None
        if matches[flow_id]:
            try:
                mapped = pipelines.map_openml(flow_name, mappable, flow_id)
            except Exception:  # noqa: BLE001 - a mapping problem must not stop the sync: keep it raw
                mapped = None
        if mapped is not None:
            pipeline, config = mapped  # canonical already: hash it as config_hash would
            digest = pipelines.hash_text(pipeline, config)
            mapped_flows[flow_id] = pipeline
        else:
            config = typed_parameters(params, flow_id)  # typed as config_hash would type it
            digest = pipelines.hash_text(f"flow-{flow_id}", config)
        rows.append({
            "setup_id": setup_id, "flow_id": flow_id,
            "config": json.dumps(config, sort_keys=True, default=str), "config_hash": digest,
            "parameters": json.dumps(raw), "source": SOURCE, "_pipeline": pipeline,
        })
    return rows, mapped_flows


def typed_parameters(params: list[dict], flow_id: int | None) -> dict:
    """Typed values of an unmapped setup, keyed by parameter name (component-qualified on clashes)."""
    from pipelines import parse_value

    names = [p.get("parameter_name") for p in params]
    out = {}
    for p in params:
        name = p.get("parameter_name") or p.get("full_name")
        if names.count(name) > 1 or (p.get("flow_id") not in (None, flow_id) and p.get("flow_name")):
            component = (p.get("flow_name") or "").split("(")[0].split(".")[-1]
            name = f"{component}__{name}" if component else name
        out[str(name)] = parse_value(p.get("value"))
    return out


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "").replace("T", " ")[:19])
    except ValueError:
        return None
