"""JSON texts and hashes of typed setups, written without ``json.dumps`` (pure: Arrow in and out).

A setup of a flow outside the catalogue keeps its parameters typed generically; its ``config`` is
``json.dumps(typed, sort_keys=True)``, its ``config_hash`` ``pipelines.hash_text(f"flow-{id}",
typed)`` and its ``parameters`` ``json.dumps`` of the raw names and values. Those texts are built
here from their pieces: each distinct value's JSON once (:func:`_fragments`), a whole page's setups
with Arrow kernels (:func:`lean_rows`), byte-identical to the general path in
:mod:`metabase.sync.records` (which calls these and falls back to it setup by setup).
"""

from __future__ import annotations

import json
import re
from hashlib import sha256 as _sha256

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metabase.store.keys import FLOW_KEY_PREFIX, flow_key

_MATCHES: dict[tuple, bool] = {}


def matches_catalogue(flow_name: str | None, flow_id: int) -> bool:
    """Is the flow a catalogue pipeline at all? Asked once per flow and process (the catalogue
    does not change while a sync runs; asking per page cost ~0.3 ms a flow and page).
    """
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


_MISSING = object()
_FRAGMENTS: dict = {}  # raw value -> (its JSON string, typed JSON, canonical JSON) or None
_SHAPES: dict = {}  # (flow, names, component flows) -> how its configs are laid out, or None
_encode_str = json.encoder.encode_basestring_ascii  # json.dumps' own C encoder (ensure_ascii)
_INF = float("inf")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?").fullmatch
_FRACTION = re.compile(r"[.eE]").search


def _cached_fragments(value):
    """:func:`_fragments`, remembered per distinct value (OpenML setups repeat their values)."""
    f = _FRAGMENTS.get(value, _MISSING)
    if f is _MISSING:
        f = _fragments(value)
        if len(_FRAGMENTS) >= 100_000:  # bounded (~25 MB): synthetic values never repeat
            _FRAGMENTS.clear()
        _FRAGMENTS[value] = f
    return f


def json_string(value) -> str:
    """A string as ``json.dumps`` writes it; None as null."""
    return "null" if value is None else _encode_str(value)


def _fragments(value):
    """(raw JSON, typed JSON, canonical JSON) of one parameter value, or None when it is not a
    scalar that the lean path writes exactly as json.dumps / canonical_json would.
    """
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
    return json_string(value), text, canon


def _shape(flow_id, names: list, pflows: list):
    """Per flow and parameter list: the key order and the constant JSON pieces of its configs;
    None unless every parameter belongs to the flow itself and names are unique and given.
    """
    if not all(names) or len(set(names)) != len(names):  # "" or None: keyed by full name
        return None
    if any(f is not None and f != flow_id for f in pflows):
        return None
    order = sorted(range(len(names)), key=lambda i: names[i])
    keys = [_encode_str(n) for n in names]
    return (
        order,
        [keys[i] + ": " for i in order],
        [keys[i] + ":" for i in order],
        ['{"name": ' + keys[i] + ', "value": ' for i in range(len(names))],
        flow_key(flow_id) + "\n",
    )


def lean_unmapped(flow_id, names, values, pflows) -> tuple[str, str, str, None] | None:
    """(config JSON, config_hash, raw parameters JSON, None) of a setup of one flow with unique
    scalar parameters, byte-identical to ``json.dumps(typed_parameters(...), sort_keys=True)``,
    ``pipelines.hash_text(f"flow-{flow_id}", ...)`` and ``json.dumps(raw)``; None otherwise.

    The layout is worked out once per flow and parameter list, and each distinct value's JSON
    once (OpenML setups repeat both), so a setup costs a few string joins and one sha256.
    """
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
        f = _cached_fragments(value)
        if f is None:
            return None
        frags.append(f)
    order, cfg_keys, canon_keys, raw_heads, prefix = shape
    config = "{" + ", ".join([k + frags[i][1] for k, i in zip(cfg_keys, order)]) + "}"
    canon = "{" + ",".join([k + frags[i][2] for k, i in zip(canon_keys, order)]) + "}"
    raw = "[" + ", ".join([h + f[0] + "}" for h, f in zip(raw_heads, frags)]) + "]"
    return config, _sha256((prefix + canon).encode("utf-8")).hexdigest()[:32], raw, None


# a JSON integer whose int() repr is itself, or a JSON decimal whose float repr is itself (no
# trailing zero, not small enough for an exponent, and, with at most 16 characters, at most 15
# significant digits, which a double keeps exactly)
_CLEAN_NUMBER = (
    r"^(?:0|-?[1-9][0-9]*|-?(?:0\.0{0,3}[1-9](?:[0-9]*[1-9])?|[1-9][0-9]*\.[0-9]*[1-9]))$"
)


def lean_rows(batch: pa.RecordBatch, flow_names: dict[int, str], matches: dict):
    """(rows, config, config_hash, parameters, pipeline) of the page's lean setups (one flow
    outside the catalogue, unique named parameters of that flow, values :func:`_value_fragments`
    vouches for), all at once with Arrow kernels: each parameter's ``"name": value`` piece, put
    in name order per setup and joined; None when there are none.
    """
    n = batch.num_rows
    flows = batch.column("flow_id")
    plist = batch.column("parameter")
    if flows.null_count or [f.name for f in plist.type.value_type] != list(PARAMETER_FIELDS):
        return None
    offsets = plist.offsets.to_numpy()
    offsets = offsets - offsets[0]  # a sliced page starts inside its values
    lengths = np.diff(offsets)
    items = plist.flatten()
    names, values, pflow = (
        items.field("parameter_name"),
        items.field("value"),
        items.field("flow_id"),
    )
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
            matches[flow_id] = matches_catalogue(name, flow_id)
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
            joined = pc.binary_join_element_wise(
                pa.array(heads, pa.string()).take(take), column, tail, ""
            )
            return pa.ListArray.from_arrays(
                list_offsets, joined.take(pa.array(order)) if order is not None else joined
            )

        config = pieces([k + ": " for k in keys], text, order=perm)
        canonical = pieces([k + ":" for k in keys], canon, order=perm)
        parameters = pieces(['{"name": ' + k + ', "value": ' for k in keys], raw, "}")
    else:
        config = canonical = parameters = pa.ListArray.from_arrays(
            list_offsets, pa.array([], pa.string())
        )
    config = pc.binary_join_element_wise("{", pc.binary_join(config, ", "), "}", "")
    parameters = pc.binary_join_element_wise("[", pc.binary_join(parameters, ", "), "]", "")
    canonical = pc.binary_join_element_wise(
        FLOW_KEY_PREFIX,
        pc.cast(flows, pa.string()),
        "\n{",
        pc.binary_join(canonical, ","),
        "}",
        "",
    )
    rows = np.flatnonzero(~bad)
    if len(rows) < n:
        keep = pa.array(~bad)
        config, canonical, parameters = (a.filter(keep) for a in (config, canonical, parameters))
    return rows, config, _hashes(canonical), parameters, pa.nulls(len(rows), pa.string())


_HEX = None


def _hashes(payloads: pa.Array) -> pa.Array:
    """The first 32 hex digits of each payload's sha256 (``pipelines.hash_text``), as a string
    column: the digests are hex-coded by numpy, not one Python string each.
    """
    global _HEX
    if _HEX is None:
        _HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    m = len(payloads)
    digests = np.frombuffer(
        b"".join([_sha256(p).digest()[:16] for p in pc.cast(payloads, pa.binary()).to_pylist()]),
        dtype=np.uint8,
    )
    hexed = np.empty(m * 32, dtype=np.uint8)
    hexed[0::2] = _HEX[digests >> 4]
    hexed[1::2] = _HEX[digests & 15]
    return pa.StringArray.from_buffers(
        m, pa.py_buffer(np.arange(0, m * 32 + 1, 32, dtype=np.int32)), pa.py_buffer(hexed)
    )


PARAMETER_FIELDS = (
    "id",
    "flow_id",
    "flow_name",
    "full_name",
    "parameter_name",
    "data_type",
    "default_value",
    "value",
)


def _value_fragments(values: pa.Array, wanted, total: int):
    """(raw JSON, typed JSON, canonical JSON) string columns of the parameter values at the
    ``wanted`` positions (others: whatever), and a mask of the positions the lean path can write
    (None when all). Plain numbers are their own texts (Arrow kernels); other values go through
    :func:`_fragments` once per distinct value.
    """
    clean = pc.fill_null(
        pc.and_(
            pc.match_substring_regex(values, _CLEAN_NUMBER),
            pc.less_equal(pc.binary_length(values), 16),
        ),
        False,
    )
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
            found.append(_cached_fragments(value))
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
