"""OpenML list pages and entity bodies -> rows of the store's tables (pure: Arrow/dicts in and out).

Setups get typed values: a flow that maps onto a catalogue pipeline gets the pipeline's canonical
config (``pipelines.map_openml``) and its ``config_hash``; any other flow keeps its parameters typed
generically (numbers as numbers, JSON decoded), keyed by parameter name (prefixed with the
component's class name when a sub-flow's parameter would clash).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from hashlib import sha256 as _sha256
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
        "source": _constant(SOURCE, table.num_rows), "status": _constant("ok", table.num_rows),
        "uploader": table["uploader"], "created_at": table["upload_time"],
    })
    evaluations = pa.table({
        "run_key": run_key, "measure": table["function"], "value": table["value"],
        "fold": pa.nulls(table.num_rows, pa.int32()), "repeat": pa.nulls(table.num_rows, pa.int32()),
        "source": _constant(SOURCE, table.num_rows),
    })
    return runs, evaluations


def _constant(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


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
    """A ``setup/list`` page -> (setups rows, {flow_id: pipeline} for flows that mapped).

    Rows carry the catalogue pipeline under ``_pipeline`` (None when the flow did not map)."""
    table, mapped_flows = setups_table(batch, flow_names)
    rows = table.rename_columns({"pipeline": "_pipeline"}).to_pylist()
    return rows, mapped_flows


def setup_page_records(batch: pa.RecordBatch, wanted, flow_names: dict[int, str]):
    """A ``setup/list`` page -> (setups table, mapped flows), or None when it holds none we want.

    ``wanted`` (sorted setup ids, numpy) keeps the setups the runs lack out of an id-range page;
    None keeps all. Module-level, so that a list worker process can run it."""
    import numpy as np

    if wanted is not None and batch.num_rows:
        # compare against the slice of the wanted ids inside this page's span
        ids = batch.column("setup_id").to_numpy(zero_copy_only=False)
        lo, hi = np.searchsorted(wanted, [ids.min(), ids.max() + 1])
        batch = batch.filter(pa.array(np.isin(ids, wanted[lo:hi])))
    if not batch.num_rows:
        return None
    return setups_table(batch, flow_names)


def setups_table(batch: pa.RecordBatch, flow_names: dict[int, str]) -> tuple[pa.Table, dict[int, str]]:
    """A ``setup/list`` page -> (the ``setups`` table's rows, with their ``pipeline``,
    {flow_id: pipeline} for flows that mapped).

    Setups of flows outside the catalogue (most of OpenML) take a lean path that writes the same
    JSON texts and hashes as ``json.dumps``/``pipelines.hash_text`` would: per group of setups
    sharing one flow and parameter-name list, with Arrow kernels over the page's columns (no
    Python object per parameter; a Python string per setup only for its hash). A value it cannot
    vouch for (nested JSON, a non-finite number) sends that setup through the general path."""
    import numpy as np

    n = batch.num_rows
    matches: dict[int, bool] = {}  # flow id -> is it a catalogue pipeline at all (asked once)
    mapped_flows: dict[int, str] = {}
    lean = _lean_rows(batch, flow_names, matches) if n else None
    chunks = [lean] if lean is not None else []
    done = np.zeros(n, dtype=bool)
    for rows, *_ in chunks:
        done[rows] = True
    rest = np.flatnonzero(~done)
    if len(rest):
        chunks.append(_per_row(batch, rest, flow_names, matches, mapped_flows))
    if len(chunks) == 1 and len(chunks[0][0]) == n and (n < 2 or bool(np.all(np.diff(chunks[0][0]) > 0))):
        _, config, digest, raw, pipeline = chunks[0]  # already in page order
    else:
        order = np.empty(n, dtype=np.int64)
        order[np.concatenate([c[0] for c in chunks])] = np.arange(n)
        config, digest, raw, pipeline = (
            pa.concat_arrays([c[i] for c in chunks]).take(pa.array(order)) for i in range(1, 5))
    table = pa.table({
        "setup_id": pc.cast(batch.column("setup_id"), pa.int64()),
        "flow_id": pc.cast(batch.column("flow_id"), pa.int64()),
        "config": config, "config_hash": digest, "parameters": raw,
        "source": _constant(SOURCE, n), "pipeline": pipeline,
    })
    return table, mapped_flows


def _per_row(batch: pa.RecordBatch, rows, flow_names, matches, mapped_flows):
    """(rows, config, config_hash, parameters, pipeline) of the given rows, one setup at a time:
    the catalogue mapping, typed values of a setup the lean groups cannot vouch for."""
    setup_ids = batch.column("setup_id").to_pylist()
    flow_ids = batch.column("flow_id").to_pylist()
    plist = batch.column("parameter")
    if plist.null_count:  # a setup without parameters: an empty list
        plist = pa.array([v or [] for v in plist.to_pylist()], plist.type)
    offsets = plist.offsets.to_pylist()
    offsets = [o - offsets[0] for o in offsets]  # a sliced page starts inside its values
    items = plist.flatten()
    field_names = [f.name for f in items.type]
    fields = {f: items.field(f).to_pylist() for f in ("parameter_name", "value", "flow_id", "flow_name")}
    p_name, p_value, p_flow, p_fname = (fields[f] for f in ("parameter_name", "value", "flow_id", "flow_name"))
    out_config, out_hash, out_raw, out_pipeline = [], [], [], []
    for r in rows.tolist():
        flow_id = flow_ids[r]
        a, b = offsets[r], offsets[r + 1]
        names, values, pflows = p_name[a:b], p_value[a:b], p_flow[a:b]
        _flow_matches(matches, flow_id, flow_names, p_fname, offsets, flow_ids)
        done = None
        if not matches[flow_id]:
            done = _lean_unmapped(flow_id, names, values, pflows)
        if done is None:
            if len(fields) < len(field_names):
                fields.update({f: items.field(f).to_pylist() for f in field_names if f not in fields})
            params = [dict(zip(field_names, vals)) for vals in zip(*(fields[f][a:b] for f in field_names))]
            flow_name = flow_names.get(flow_id) or (params[0].get("flow_name") if params else None)
            pipeline, config, digest = _general(flow_id, flow_name, params, matches[flow_id])
            if pipeline is not None:
                mapped_flows[flow_id] = pipeline
            raw = "[" + ", ".join(
                f'{{"name": {_js(n)}, "value": {_js(v)}}}' if f is None or f == flow_id
                else f'{{"name": {_js(n)}, "value": {_js(v)}, "flow_id": {f}}}'
                for n, v, f in zip(names, values, pflows)) + "]"
            done = (json.dumps(config, sort_keys=True, default=str), digest, raw, pipeline)
        out_config.append(done[0])
        out_hash.append(done[1])
        out_raw.append(done[2])
        out_pipeline.append(done[3])
    return (rows, pa.array(out_config, pa.string()), pa.array(out_hash, pa.string()),
            pa.array(out_raw, pa.string()), pa.array(out_pipeline, pa.string()))


def _flow_matches(matches: dict, flow_id, flow_names, p_fname, offsets, flow_ids) -> bool:
    """Is the flow a catalogue pipeline (asked once per flow and page)? Its name is the known
    flow's, else its first setup's first parameter's flow name."""
    found = matches.get(flow_id)
    if found is None:
        flow_name = flow_names.get(flow_id)
        if not flow_name:
            r = flow_ids.index(flow_id)
            flow_name = p_fname[offsets[r]] if offsets[r + 1] > offsets[r] else None
        found = matches[flow_id] = _matches_catalogue(flow_name, flow_id)
    return found


# a JSON integer whose int() repr is itself, or a JSON decimal whose float repr is itself (no
# trailing zero, not small enough for an exponent, and, with at most 16 characters, at most 15
# significant digits, which a double keeps exactly)
_CLEAN_NUMBER = (r"^(?:0|-?[1-9][0-9]*|-?(?:0\.0{0,3}[1-9](?:[0-9]*[1-9])?|[1-9][0-9]*\.[0-9]*[1-9]))$")


def _lean_rows(batch: pa.RecordBatch, flow_names: dict[int, str], matches: dict):
    """(rows, config, config_hash, parameters, pipeline) of the page's lean setups (one flow
    outside the catalogue, unique named parameters of that flow, values :func:`_value_fragments`
    vouches for), all at once with Arrow kernels: each parameter's ``"name": value`` piece, put
    in name order per setup and joined; None when there are none."""
    import numpy as np

    n = batch.num_rows
    flows = batch.column("flow_id")
    plist = batch.column("parameter")
    if flows.null_count or [f.name for f in plist.type.value_type] != list(PARAMETER_FIELDS):
        return None
    offsets = plist.offsets.to_numpy()
    offsets = offsets - offsets[0]  # a sliced page starts inside its values
    lengths = np.diff(offsets)
    items = plist.flatten()
    names, values, pflow = items.field("parameter_name"), items.field("value"), items.field("flow_id")
    flow_np = flows.to_numpy()
    bad = np.zeros(n, dtype=bool)
    if plist.null_count:
        bad |= np.asarray(plist.is_null())
    for flow_id in np.unique(flow_np).tolist():  # catalogue flows go per row (mapped configs)
        if flow_id not in matches:
            name = flow_names.get(flow_id)
            if not name:
                r = int(np.argmax(flow_np == flow_id))  # the flow's first setup in the page
                name = items.field("flow_name")[int(offsets[r])].as_py() if lengths[r] else None
            matches[flow_id] = _matches_catalogue(name, flow_id)
        if matches[flow_id]:
            bad |= flow_np == flow_id
    total = len(items)
    parent = np.repeat(np.arange(n), lengths)
    if total:
        encoded = names.dictionary_encode()
        distinct = encoded.dictionary.to_pylist()
        index = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        # a parameter of another flow (a component), or without a name: keyed otherwise, per row
        own = np.asarray(pc.fill_null(pc.equal(pflow, pa.array(flow_np[parent])), True))
        unnamed = np.array([not d for d in distinct] + [True], dtype=bool)[index]  # -1: null
        bad[parent[~own | unnamed]] = True
        # json.dumps(sort_keys=True) orders keys as Python orders str: rank the distinct names so
        rank = np.empty(len(distinct) + 1, dtype=np.int64)
        rank[sorted(range(len(distinct)), key=distinct.__getitem__)] = np.arange(len(distinct))
        rank[-1] = -1
        perm = np.lexsort((rank[index], parent))
        twice = (parent[perm][1:] == parent[perm][:-1]) & (index[perm][1:] == index[perm][:-1])
        bad[parent[perm][1:][twice]] = True  # a name twice in one setup: component-qualified
        keys = [_encode_str(d) if d else '""' for d in distinct] + ['""']
    if bad.all():
        return None
    wanted = np.flatnonzero(~bad[parent])
    text, canon, raw, lean = _value_fragments(values, wanted, total)
    if lean is not None:  # a value the lean path cannot write: its setup goes per row
        bad[parent[~lean]] = True
        if bad.all():
            return None
    list_offsets = pa.array(offsets.astype(np.int32))
    if total:
        take = pa.array(np.where(index < 0, len(keys) - 1, index))  # null names: the last key

        def pieces(heads: list[str], column, tail: str = "", order=None):
            joined = pc.binary_join_element_wise(pa.array(heads, pa.string()).take(take), column, tail, "")
            return pa.ListArray.from_arrays(list_offsets, joined.take(pa.array(order)) if order is not None else joined)

        config = pieces([k + ": " for k in keys], text, order=perm)
        canonical = pieces([k + ":" for k in keys], canon, order=perm)
        parameters = pieces(['{"name": ' + k + ', "value": ' for k in keys], raw, "}")
    else:
        config = canonical = parameters = pa.ListArray.from_arrays(list_offsets, pa.array([], pa.string()))
    config = pc.binary_join_element_wise("{", pc.binary_join(config, ", "), "}", "")
    parameters = pc.binary_join_element_wise("[", pc.binary_join(parameters, ", "), "]", "")
    canonical = pc.binary_join_element_wise("flow-", pc.cast(flows, pa.string()), "\n{",
                                            pc.binary_join(canonical, ","), "}", "")
    rows = np.flatnonzero(~bad)
    if len(rows) < n:
        keep = pa.array(~bad)
        config, canonical, parameters = (a.filter(keep) for a in (config, canonical, parameters))
    return rows, config, _hashes(canonical), parameters, pa.nulls(len(rows), pa.string())


_HEX = None


def _hashes(payloads: pa.Array) -> pa.Array:
    """The first 32 hex digits of each payload's sha256 (``pipelines.hash_text``), as a string
    column: the digests are hex-coded by numpy, not one Python string each."""
    import numpy as np

    global _HEX
    if _HEX is None:
        _HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    m = len(payloads)
    digests = np.frombuffer(b"".join([_sha256(p).digest()[:16] for p in pc.cast(payloads, pa.binary()).to_pylist()]),
                            dtype=np.uint8)
    hexed = np.empty(m * 32, dtype=np.uint8)
    hexed[0::2] = _HEX[digests >> 4]
    hexed[1::2] = _HEX[digests & 15]
    return pa.StringArray.from_buffers(m, pa.py_buffer(np.arange(0, m * 32 + 1, 32, dtype=np.int32)),
                                       pa.py_buffer(hexed))


PARAMETER_FIELDS = ("id", "flow_id", "flow_name", "full_name", "parameter_name", "data_type", "default_value", "value")


def _value_fragments(values: pa.Array, wanted, total: int):
    """(raw JSON, typed JSON, canonical JSON) string columns of the parameter values at the
    ``wanted`` positions (others: whatever), and a mask of the positions the lean path can write
    (None when all). Plain numbers are their own texts (Arrow kernels); other values go through
    :func:`_fragments` once per distinct value."""
    import numpy as np

    clean = pc.fill_null(pc.and_(pc.match_substring_regex(values, _CLEAN_NUMBER),
                                 pc.less_equal(pc.binary_length(values), 16)), False)
    clean = np.asarray(clean)
    text = values
    raw = pc.binary_join_element_wise('"', values, '"', "")
    canon = values
    lean = None
    other = wanted[~clean[wanted]] if len(wanted) else wanted
    if len(other):
        other = np.unique(other)
        found = []
        for value in values.take(pa.array(other)).to_pylist():
            f = _FRAGMENTS.get(value, _MISSING)
            if f is _MISSING:
                f = _fragments(value)
                if len(_FRAGMENTS) >= 100_000:  # bounded (~25 MB): synthetic values never repeat
                    _FRAGMENTS.clear()
                _FRAGMENTS[value] = f
            found.append(f)
        ok = np.array([f is not None for f in found], dtype=bool)
        if not ok.all():
            lean = np.ones(total, dtype=bool)
            lean[other[~ok]] = False
            other = other[ok]
            found = [f for f in found if f is not None]
        if len(other):
            mask = np.zeros(total, dtype=bool)
            mask[other] = True
            mask = pa.array(mask)
            raw = pc.replace_with_mask(raw, mask, pa.array([f[0] for f in found], pa.string()))
            text = pc.replace_with_mask(text, mask, pa.array([f[1] for f in found], pa.string()))
            canon = pc.replace_with_mask(canon, mask, pa.array([f[2] for f in found], pa.string()))
    return text, canon, raw, lean


_MATCHES: dict[tuple, bool] = {}


def _matches_catalogue(flow_name: str | None, flow_id: int) -> bool:
    """Is the flow a catalogue pipeline at all? Asked once per flow and process (the catalogue
    does not change while a sync runs; asking per page cost ~0.3 ms a flow and page)."""
    import pipelines

    key = (flow_name, flow_id)
    found = _MATCHES.get(key)
    if found is None:
        try:
            found = pipelines.match_flow(flow_name, flow_id) is not None
        except Exception:  # noqa: BLE001
            found = False
        if len(_MATCHES) < 100_000:
            _MATCHES[key] = found
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
    return None, config, pipelines.hash_text(f"flow-{flow_id}", config)


_MISSING = object()
_FRAGMENTS: dict = {}  # raw value -> (its JSON string, typed JSON, canonical JSON) or None
_SHAPES: dict = {}  # (flow, names, component flows) -> how its configs are laid out, or None
_encode_str = json.encoder.encode_basestring_ascii  # json.dumps' own C encoder (ensure_ascii)
_INF = float("inf")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?").fullmatch
_FRACTION = re.compile(r"[.eE]").search


def _js(value) -> str:
    """A string as ``json.dumps`` writes it; None as null."""
    return "null" if value is None else _encode_str(value)


def _fragments(value):
    """(raw JSON, typed JSON, canonical JSON) of one parameter value, or None when it is not a
    scalar that the lean path writes exactly as json.dumps / canonical_json would."""
    if value is None:
        typed = None
    elif _JSON_NUMBER(value):  # what json.loads, and so parse_value, makes of a plain number
        typed = float(value) if _FRACTION(value) else int(value)
    else:  # imported here only: a from-import per call cost ~1 us on every new number
        from pipelines import parse_value

        typed = parse_value(value)
    if typed is None:
        text = canon = "null"
    elif typed is True:
        text = canon = "true"
    elif typed is False:
        text = canon = "false"
    elif type(typed) is int:
        text = canon = int.__repr__(typed)
    elif type(typed) is float:
        if typed != typed or typed in (_INF, -_INF):
            return None  # hash_text refuses these: let the general path decide
        text = float.__repr__(typed)
        canon = int.__repr__(int(typed)) if typed.is_integer() else text
    elif type(typed) is str:
        text = canon = _encode_str(typed)
    else:
        return None  # lists, objects: the general path
    return _js(value), text, canon


def _shape(flow_id, names: list, pflows: list):
    """Per flow and parameter list: the key order and the constant JSON pieces of its configs;
    None unless every parameter belongs to the flow itself and names are unique and given."""
    if not all(names) or len(set(names)) != len(names):  # "" or None: keyed by full name
        return None
    if any(f is not None and f != flow_id for f in pflows):
        return None
    order = sorted(range(len(names)), key=lambda i: names[i])
    keys = [_encode_str(n) for n in names]
    return (order, [keys[i] + ": " for i in order], [keys[i] + ":" for i in order],
            ['{"name": ' + keys[i] + ', "value": ' for i in range(len(names))], f"flow-{flow_id}\n")


def _lean_unmapped(flow_id, names, values, pflows) -> tuple[str, str, str, None] | None:
    """(config JSON, config_hash, raw parameters JSON, None) of a setup of one flow with unique
    scalar parameters, byte-identical to ``json.dumps(typed_parameters(...), sort_keys=True)``,
    ``pipelines.hash_text(f"flow-{flow_id}", ...)`` and ``json.dumps(raw)``; None otherwise.

    The layout is worked out once per flow and parameter list, and each distinct value's JSON
    once (OpenML setups repeat both), so a setup costs a few string joins and one sha256."""
    key = (flow_id, tuple(names), tuple(pflows))
    shape = _SHAPES.get(key, _MISSING)
    if shape is _MISSING:
        shape = _shape(flow_id, names, pflows)
        if len(_SHAPES) < 10_000:
            _SHAPES[key] = shape
    if shape is None:
        return None
    frags = []
    for value in values:
        f = _FRAGMENTS.get(value, _MISSING)
        if f is _MISSING:
            f = _fragments(value)
            if len(_FRAGMENTS) >= 100_000:  # bounded (~25 MB): synthetic values never repeat
                _FRAGMENTS.clear()
            _FRAGMENTS[value] = f
        if f is None:
            return None
        frags.append(f)
    order, cfg_keys, canon_keys, raw_heads, prefix = shape
    config = "{" + ", ".join([k + frags[i][1] for k, i in zip(cfg_keys, order)]) + "}"
    canon = "{" + ",".join([k + frags[i][2] for k, i in zip(canon_keys, order)]) + "}"
    raw = "[" + ", ".join([h + f[0] + "}" for h, f in zip(raw_heads, frags)]) + "]"
    return config, _sha256((prefix + canon).encode("utf-8")).hexdigest()[:32], raw, None


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
