"""OpenML list pages and entity bodies -> rows of the store's tables (pure: Arrow/dicts in and
out).

Setups get typed values: a flow that maps onto a catalogue pipeline gets the pipeline's canonical
config (``pipelines.map_openml``) and its ``config_hash``; any other flow keeps its parameters
typed generically (numbers as numbers, JSON decoded), keyed by parameter name (prefixed with the
component's class name when a sub-flow's parameter would clash).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metabase.store.keys import flow_key
from metabase.sync.setup_json import json_string, lean_rows, lean_unmapped, matches_catalogue

SOURCE = "openml"


# -- runs and evaluations ------------------------------------------------------------------
ID_COLUMNS = ("run_id", "task_id", "setup_id", "flow_id")
# why rows OpenML sent were not stored (or not all of them), as counted in ``skipped``
BAD_ID, BAD_VALUE, REPEATED = "bad id", "value not a finite number", "repeated evaluation"
OTHER_MEASURE = "measure not the one asked for"
BAD_UPLOADER = "uploader id missing or not positive (kept as missing)"
BAD_TIME = "upload time missing or unreadable (kept as missing)"


def runs_and_evaluations(
    batch: pa.RecordBatch,
    since: datetime | None = None,
    skipped: Counter | None = None,
    measure: str | None = None,
) -> tuple[pa.Table, pa.Table]:
    """An ``evaluation/list`` page -> (runs rows, aggregate evaluation rows).

    Nothing malformed is stored, and every row left out is counted in ``skipped`` by reason: a
    row whose ids are not positive int64 integers (the parser leaves a fractional, out-of-range
    or non-numeric id null) or whose measure is missing or not ``measure`` (the one asked for) is
    dropped whole; a run whose value is not a finite number (``abc0.96``, ``NaN``, ``inf``,
    missing) is kept without that evaluation; a row repeated on the page is kept once (the first;
    :func:`unique_evaluations` does the same over a whole commit group). Each check costs one
    kernel call on a clean page.
    """
    table = pa.Table.from_batches([batch])
    if since is not None and table.num_rows:
        table = table.filter(
            pc.fill_null(
                pc.greater_equal(table["upload_time"], pa.scalar(since, pa.timestamp("s"))), False
            )
        )
    table = _keep(table, _positive_ids(table), BAD_ID, skipped)
    table = _keep(table, _of_measure(table["function"], measure), OTHER_MEASURE, skipped)
    table = _first_of_each(table, "run_id", "function", skipped)  # a run and its evaluation once
    _count(skipped, BAD_TIME, table["upload_time"].null_count)
    run_key = pc.binary_join_element_wise(
        pa.scalar("openml:"), pc.cast(table["run_id"], pa.string()), ""
    )
    runs = pa.table(
        {
            "run_key": run_key,
            "openml_run_id": table["run_id"],
            "task_id": table["task_id"],
            "flow_id": table["flow_id"],
            "setup_id": table["setup_id"],
            "source": _constant(SOURCE, table.num_rows),
            "status": _constant("ok", table.num_rows),
            "uploader": _positive_or_missing(table["uploader"], skipped),
            "created_at": table["upload_time"],
        }
    )
    evaluations = pa.table(
        {
            "run_key": run_key,
            "measure": table["function"],
            "value": table["value"],
            "fold": pa.nulls(table.num_rows, pa.int32()),
            "repeat": pa.nulls(table.num_rows, pa.int32()),
            "source": _constant(SOURCE, table.num_rows),
        }
    )
    value = evaluations["value"]
    if value.null_count or not pc.all(pc.is_finite(value)).as_py():
        finite = pc.fill_null(pc.is_finite(value), False)
        evaluations = _keep(evaluations, finite, BAD_VALUE, skipped)
    return runs, evaluations


def unique_evaluations(evaluations: pa.Table, skipped: Counter | None = None) -> pa.Table:
    """Each run and measure once (the first), the others counted in ``skipped``: the store
    replaces evaluations by run and measure, so repeats within one load would be stored twice.
    """
    return _first_of_each(evaluations, "run_key", "measure", skipped)


def _first_of_each(table: pa.Table, key: str, measure: str, skipped: Counter | None) -> pa.Table:
    """The first row of each (``key``, ``measure``); a table whose keys are all distinct (the
    usual page) is returned as it is after one hash count.
    """
    n = table.num_rows
    keys = table[key]
    if n < 2 or (
        pa.types.is_integer(keys.type)
        and not keys.null_count
        and bool(np.all(np.diff(keys.to_numpy()) > 0))
    ):
        return table  # ids ascending, as OpenML lists them: all distinct
    if pc.count_distinct(keys).as_py() == n:
        return table
    order = pa.array(np.arange(n, dtype=np.int64))
    rows = table.select([key, measure]).append_column("_row", order)
    first = rows.group_by([key, measure], use_threads=False).aggregate([("_row", "min")])
    if first.num_rows == n:
        return table
    _count(skipped, REPEATED, n - first.num_rows)
    return table.take(np.sort(first["_row_min"].to_numpy()))


def skipped_summary(skipped: dict[str, int]) -> str:
    """One line: how many rows OpenML sent were not stored, and why."""
    reasons = ", ".join(f"{n:,} {reason}" for reason, n in sorted(skipped.items()))
    return f"skipped {sum(skipped.values()):,} evaluation rows OpenML sent malformed ({reasons})"


def _positive_ids(table, columns=ID_COLUMNS):
    """A mask of rows whose ids are all positive, or None when every row's are (the usual page)."""
    keep = None
    for name in columns:
        ids = table.column(name)
        if not ids.null_count and (not len(ids) or ids.to_numpy().min() > 0):
            continue
        ok = pc.fill_null(pc.greater(ids, 0), False)
        keep = ok if keep is None else pc.and_(keep, ok)
    return keep


def _of_measure(function, measure: str | None):
    """A mask of rows that name a measure (``measure`` when given), or None when all do."""
    if measure is None:
        return None if not function.null_count else pc.is_valid(function)
    same = pc.fill_null(pc.equal(function, measure), False)
    return None if pc.all(same).as_py() else same


def _positive_or_missing(uploader, skipped: Counter | None):
    """Uploader ids, null where missing or not positive (a run is not refused for its uploader)."""
    low = pc.min(uploader).as_py()
    if low is not None and low > 0:
        _count(skipped, BAD_UPLOADER, uploader.null_count)
        return uploader
    bad = pc.fill_null(pc.less_equal(uploader, 0), False)
    _count(skipped, BAD_UPLOADER, (pc.sum(bad).as_py() or 0) + uploader.null_count)
    return pc.if_else(bad, pa.scalar(None, uploader.type), uploader)


def _keep(table: pa.Table, mask, reason: str, skipped: Counter | None) -> pa.Table:
    if mask is None:
        return table
    kept = table.filter(mask)
    _count(skipped, reason, table.num_rows - kept.num_rows)
    return kept


def _count(skipped: Counter | None, reason: str, n: int) -> None:
    if skipped is not None and n:
        skipped[reason] += n


def _constant(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


# -- tasks, datasets, qualities, flows -----------------------------------------------------
def tasks_rows(task_list: pa.Table, procedures: dict[int, str]) -> list[dict]:
    rows = []
    for t in task_list.to_pylist():
        inputs = dict(t.get("input") or [])
        ep_id = _int(inputs.get("estimation_procedure"))
        measures = inputs.get("evaluation_measures") or None
        rows.append(
            {
                "task_id": t["task_id"],
                "dataset_id": t["did"] or _int(inputs.get("source_data")),
                "task_type": t["task_type"],
                "task_type_id": t["task_type_id"],
                "target": inputs.get("target_feature") or None,
                "estimation_procedure": procedures.get(ep_id) if ep_id is not None else None,
                "estimation_procedure_id": ep_id,
                "evaluation_measure": measures.split(",")[0] if measures else None,
                "status": t["status"],
                "source": SOURCE,
            }
        )
    return rows


def task_inputs_rows(task_list: pa.Table) -> list[dict]:
    return [
        {"task_id": t["task_id"], "input": k, "value": v, "source": SOURCE}
        for t in task_list.to_pylist()
        for k, v in (t.get("input") or [])
    ]


def dataset_row(parsed: dict) -> dict:
    row = dict(parsed)
    row["upload_date"] = _timestamp(row.get("upload_date"))
    row["source"] = SOURCE
    return row


def quality_rows(dataset_id: int, qualities: Iterable[tuple[str, float | None]]) -> list[dict]:
    return [
        {"dataset_id": int(dataset_id), "quality": q, "value": v, "source": SOURCE}
        for q, v in qualities
    ]


def flow_row(parsed: dict, pipeline: str | None = None) -> dict:
    row = dict(parsed)
    row["upload_date"] = _timestamp(row.get("upload_date"))
    row["pipeline"] = pipeline
    row["source"] = SOURCE
    return row


# -- setups ---------------------------------------------------------------------------------
def setups_rows(
    batch: pa.RecordBatch, flow_names: dict[int, str]
) -> tuple[list[dict], dict[int, str]]:
    """A ``setup/list`` page -> (setups rows, {flow_id: pipeline} for flows that mapped).

    Rows carry the catalogue pipeline under ``_pipeline`` (None when the flow did not map).
    """
    table, mapped_flows = setups_table(batch, flow_names)
    rows = table.rename_columns({"pipeline": "_pipeline"}).to_pylist()
    return rows, mapped_flows


def setup_page_records(batch: pa.RecordBatch, wanted, flow_names: dict[int, str]):
    """A ``setup/list`` page -> (setups table, mapped flows), or None when it holds none we want.

    ``wanted`` (sorted setup ids, numpy) keeps the setups the runs lack out of an id-range page;
    None keeps all; a setup whose ids are not positive is never kept. Module-level, so that a
    list worker process can run it.
    """
    valid = _positive_ids(batch, ("setup_id", "flow_id"))
    if valid is not None:
        batch = batch.filter(valid)
    if wanted is not None and batch.num_rows:
        # compare against the slice of the wanted ids inside this page's span
        ids = batch.column("setup_id").to_numpy(zero_copy_only=False)
        lo, hi = np.searchsorted(wanted, [ids.min(), ids.max() + 1])
        keep = np.isin(ids, wanted[lo:hi])
        if not keep.all():  # a fresh sync wants every setup: no copy of the page
            batch = batch.filter(pa.array(keep))
    if not batch.num_rows:
        return None
    return setups_table(batch, flow_names)


def setups_table(
    batch: pa.RecordBatch, flow_names: dict[int, str]
) -> tuple[pa.Table, dict[int, str]]:
    """A ``setup/list`` page -> (the ``setups`` table's rows, with their ``pipeline``,
    {flow_id: pipeline} for flows that mapped).

    Setups of flows outside the catalogue (most of OpenML) take a lean path that writes the same
    JSON texts and hashes as ``json.dumps``/``pipelines.hash_text`` would, the whole page at once
    with Arrow kernels (:func:`metabase.sync.setup_json.lean_rows`: no Python object per
    parameter). A setup it cannot vouch for (a catalogue flow, a component's parameter, a name
    twice, nested JSON, a non-finite number) goes through the general path, one at a time.
    """
    n = batch.num_rows
    matches: dict[int, bool] = {}  # flow id -> is it a catalogue pipeline at all (asked once)
    mapped_flows: dict[int, str] = {}
    lean = lean_rows(batch, flow_names, matches) if n else None
    chunks = [lean] if lean is not None else []
    done = np.zeros(n, dtype=bool)
    for rows, *_ in chunks:
        done[rows] = True
    rest = np.flatnonzero(~done)
    if len(rest):
        chunks.append(_per_row(batch, rest, flow_names, matches, mapped_flows))
    if not chunks:  # an empty page
        config = digest = raw = pipeline = pa.array([], pa.string())
    elif (
        len(chunks) == 1
        and len(chunks[0][0]) == n
        and (n < 2 or bool(np.all(np.diff(chunks[0][0]) > 0)))
    ):
        _, config, digest, raw, pipeline = chunks[0]  # already in page order
    else:
        order = np.empty(n, dtype=np.int64)
        order[np.concatenate([c[0] for c in chunks])] = np.arange(n)
        config, digest, raw, pipeline = (
            pa.concat_arrays([c[i] for c in chunks]).take(pa.array(order)) for i in range(1, 5)
        )
    table = pa.table(
        {
            "setup_id": pc.cast(batch.column("setup_id"), pa.int64()),
            "flow_id": pc.cast(batch.column("flow_id"), pa.int64()),
            "config": config,
            "config_hash": digest,
            "parameters": raw,
            "source": _constant(SOURCE, n),
            "pipeline": pipeline,
        }
    )
    return table, mapped_flows


def _per_row(batch: pa.RecordBatch, rows, flow_names, matches, mapped_flows):
    """(rows, config, config_hash, parameters, pipeline) of the given rows, one setup at a time:
    the catalogue mapping, or typed values of a setup the page-wise lean path left out.
    """
    flow_ids = batch.column("flow_id").to_pylist()
    plist = batch.column("parameter")
    if plist.null_count:  # a setup without parameters: an empty list
        plist = pa.array([v or [] for v in plist.to_pylist()], plist.type)
    offsets = plist.offsets.to_pylist()
    offsets = [o - offsets[0] for o in offsets]  # a sliced page starts inside its values
    items = plist.flatten()
    field_names = [f.name for f in items.type]
    fields = {
        f: items.field(f).to_pylist() for f in ("parameter_name", "value", "flow_id", "flow_name")
    }
    p_name, p_value, p_flow, p_fname = (
        fields[f] for f in ("parameter_name", "value", "flow_id", "flow_name")
    )
    out_config, out_hash, out_raw, out_pipeline = [], [], [], []
    for r in rows.tolist():
        flow_id = flow_ids[r]
        a, b = offsets[r], offsets[r + 1]
        names, values, pflows = p_name[a:b], p_value[a:b], p_flow[a:b]
        _flow_matches(matches, flow_id, flow_names, p_fname, offsets, flow_ids)
        done = None
        if not matches[flow_id]:
            done = lean_unmapped(flow_id, names, values, pflows)
        if done is None:
            if len(fields) < len(field_names):
                fields.update(
                    {f: items.field(f).to_pylist() for f in field_names if f not in fields}
                )
            params = [
                dict(zip(field_names, vals))
                for vals in zip(*(fields[f][a:b] for f in field_names))
            ]
            flow_name = flow_names.get(flow_id) or (params[0].get("flow_name") if params else None)
            pipeline, config, digest = _general(flow_id, flow_name, params, matches[flow_id])
            if pipeline is not None:
                mapped_flows[flow_id] = pipeline
            raw = (
                "["
                + ", ".join(
                    f'{{"name": {json_string(n)}, "value": {json_string(v)}}}'
                    if f is None or f == flow_id
                    else f'{{"name": {json_string(n)}, "value": {json_string(v)}, "flow_id": {f}}}'
                    for n, v, f in zip(names, values, pflows)
                )
                + "]"
            )
            done = (json.dumps(config, sort_keys=True, default=str), digest, raw, pipeline)
        out_config.append(done[0])
        out_hash.append(done[1])
        out_raw.append(done[2])
        out_pipeline.append(done[3])
    return (
        rows,
        pa.array(out_config, pa.string()),
        pa.array(out_hash, pa.string()),
        pa.array(out_raw, pa.string()),
        pa.array(out_pipeline, pa.string()),
    )


def _flow_matches(matches: dict, flow_id, flow_names, p_fname, offsets, flow_ids) -> bool:
    """Is the flow a catalogue pipeline (asked once per flow and page)? Its name is the known
    flow's, else its first setup's first parameter's flow name.
    """
    found = matches.get(flow_id)
    if found is None:
        flow_name = flow_names.get(flow_id)
        if not flow_name:
            r = flow_ids.index(flow_id)
            flow_name = p_fname[offsets[r]] if offsets[r + 1] > offsets[r] else None
        found = matches[flow_id] = matches_catalogue(flow_name, flow_id)
    return found


def _general(flow_id, flow_name, params: list[dict], matches: bool):
    """(pipeline or None, typed config, config_hash): the catalogue mapping, else typed values."""
    import pipelines

    names = [p.get("parameter_name") for p in params]
    if len(set(names)) == len(names) and all(p.get("flow_id") in (None, flow_id) for p in params):
        # one flow, unique names: the plain name -> value form (full names such as
        # "Flow(1)_param" are not read reliably by the mapper)
        mappable = {p.get("parameter_name"): p.get("value") for p in params}
    else:
        mappable = params
    mapped = None
    if matches:
        try:
            mapped = pipelines.map_openml(flow_name, mappable, flow_id)
        except Exception:  # noqa: BLE001 - a mapping problem must not stop the sync: keep it raw
            mapped = None
    if mapped is not None:
        pipeline, config = mapped  # canonical already: hash it as config_hash would
        return pipeline, config, pipelines.hash_text(pipeline, config)
    config = typed_parameters(params, flow_id)  # typed as config_hash would type it
    return None, config, pipelines.hash_text(flow_key(flow_id), config)


def typed_parameters(params: list[dict], flow_id: int | None) -> dict:
    """Typed values of an unmapped setup, keyed by parameter name (component-qualified
    on clashes).
    """
    from pipelines import parse_value

    names = [p.get("parameter_name") for p in params]
    out = {}
    for p in params:
        name = p.get("parameter_name") or p.get("full_name")
        if names.count(name) > 1 or (
            p.get("flow_id") not in (None, flow_id) and p.get("flow_name")
        ):
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
