"""The list endpoints: evaluation, run, setup, task, data and flow lists.

Run-based lists scan their sources (the real runs, then scale mode's synthetic runs) in chunks of
parallel numpy columns. The number of matches per chunk is remembered per filter, so deep offsets
skip whole chunks without recomputing them: paging 1M synthetic evaluations stays fast.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import numpy as np

from . import filters as F
from .xmlgen import NS, e, error, fmt_float, ts

CHUNK = 1 << 14  # small: the chunk holding a page is recomputed per call
NO_RESULTS = {"data": 372, "task": 482, "flow": 500, "run": 512, "evaluation": 542, "setup": 674}
_memo: "OrderedDict[tuple, int]" = OrderedDict()
_MEMO_MAX = 200_000

RUN_FILTERS = {"run": "ids", "task": "ids", "flow": "ids", "setup": "ids", "uploader": "ids",
               "tag": "str", "study": "int", "show_errors": "str"}
EVAL_FILTERS = dict(RUN_FILTERS, function="str", per_fold="str", sort_order="str")
SETUP_FILTERS = {"flow": "ids", "setup": "ids", "tag": "str"}


class ListResult:
    def __init__(self, status: int, body: str):
        self.status, self.body = status, body


def _no_results(entity: str) -> ListResult:
    return ListResult(412, error(NO_RESULTS[entity], "No results",
                                 f"No {entity}s matched the given criteria."))


def _run_mask(state, cols: dict, f: dict) -> np.ndarray:
    m = np.ones(len(cols["run_id"]), dtype=bool)
    for key, col in (("run", "run_id"), ("task", "task_id"), ("flow", "flow_id"), ("setup", "setup_id"),
                     ("uploader", "uploader")):
        if key in f:
            m &= f[key].mask(cols[col])
    if "tag" in f:
        m &= tag_mask(state, f["tag"], cols)
    if "study" in f:
        st = state.studies.get(int(f["study"]))
        runs = np.asarray(sorted(st["runs"]) if st else [], dtype=np.int64)
        m &= np.isin(cols["run_id"], runs)
    return m


def tag_mask(state, tag: str, cols: dict) -> np.ndarray:
    """Run tags: ``openml-pimp``, ``study_<id>`` for the study exports' runs, ``synthetic``."""
    from . import ids
    from .scale import SCALE_RUN

    r = cols["run_id"]
    if tag == "openml-pimp":
        return (r >= ids.PIMP_RUN) & (r < ids.STUDY_RUN)
    if tag == "synthetic":
        return r >= SCALE_RUN
    m = re.fullmatch(r"study_(\d+)", tag)
    if m and int(m.group(1)) in state.studies:
        return np.isin(r, np.asarray(sorted(state.studies[int(m.group(1))]["runs"]), dtype=np.int64))
    return np.zeros(len(r), dtype=bool)


def _scan(state, f: dict, measures: list[str] | None, key: tuple):
    """Yield (cols, row indices, measure) pieces of the page asked for by offset/limit.

    measures None: rows are runs. Otherwise rows are (run, measure) pairs, by run id then measure.
    """
    skip, need = f["offset"], f["limit"]
    low = f["run"].low if "run" in f and f["run"].low is not None else None
    for si, src in enumerate(state.run_sources()):
        start = src.first_index_at_least(low) if low is not None else 0
        if "run" in f and f["run"].values:
            lo = src.first_index_at_least(min(f["run"].values))
            start = max(start, lo)
        n = len(src)
        if start >= n:
            continue
        version = n  # uploads grow the real source: counts are per source length
        c0 = start
        while c0 < n and need > 0:
            c1 = min(c0 + CHUNK, n)
            mk = (key, si, version, c0)
            cnt = _memo.get(mk)
            if cnt is not None and cnt <= skip:
                skip -= cnt
                c0 = c1
                continue
            cols = src.columns(c0, c1)
            idx, ms = _matches(state, cols, f, measures)
            _memo[mk] = len(idx)
            if len(_memo) > _MEMO_MAX:
                _memo.popitem(last=False)
            if len(idx) <= skip:
                skip -= len(idx)
                c0 = c1
                continue
            sel = slice(skip, skip + need)
            take = idx[sel]
            yield cols, take, (ms[sel] if isinstance(ms, list) else ms)
            need -= len(take)
            skip = 0
            c0 = c1


def _matches(state, cols: dict, f: dict, measures: list[str] | None):
    """Row indices of a chunk that match, and the measure of each (one name, or a list)."""
    base = _run_mask(state, cols, f)
    if measures is None:
        return np.flatnonzero(base), None
    per = []
    for m in measures:
        v = cols["evals"].get(m)
        if v is not None:
            per.append((np.flatnonzero(base & ~np.isnan(v)), m))
    if not per:
        return np.zeros(0, dtype=np.int64), None
    if len(per) == 1:
        return per[0]
    allidx = np.concatenate([i for i, _ in per])
    allm = np.concatenate([np.full(len(i), k) for k, (i, _) in enumerate(per)])
    order = np.lexsort((allm, allidx))  # by row, then measure
    names = [m for _, m in per]
    return allidx[order], [names[k] for k in allm[order]]


def evaluation_list(state, segments: list[str], cap: int) -> ListResult:
    try:
        f = F.parse(segments, EVAL_FILTERS, 544, 541, cap)
    except F.FilterError as err:
        return ListResult(412, error(err.code, err.message))
    measures = [f["function"]] if "function" in f else sorted(_all_measures(state))
    rows = []
    if "sort_order" in f and "function" in f:
        pieces = _all_pieces(state, f, measures)
        vals = np.concatenate([c["evals"][m][i] for c, i, m in pieces]) if pieces else np.array([])
        order = np.argsort(-vals if f["sort_order"] == "desc" else vals, kind="stable")
        flat = [(c, j, m) for c, i, m in pieces for j in i]
        sel = order[f["offset"]: f["offset"] + f["limit"]]
        for k in sel:
            c, j, m = flat[k]
            rows.append(_eval_row(state, c, j, m))
    else:
        key = ("evaluation",) + tuple((k, repr(v)) for k, v in sorted(f.items()) if k not in ("offset", "limit"))
        for cols, idx, m in _scan(state, f, measures, key):
            rows.extend(_eval_rows(state, cols, idx, m))
    if not rows:
        return _no_results("evaluation")
    return ListResult(200, f"<oml:evaluations {NS}>\n" + "".join(rows) + "</oml:evaluations>\n")


def _all_pieces(state, f, measures):
    g = dict(f, offset=0, limit=1 << 62)
    key = ("evaluation-all",) + tuple((k, repr(v)) for k, v in sorted(f.items()) if k not in ("offset", "limit"))
    return list(_scan(state, g, measures, key))


def _all_measures(state) -> set[str]:
    out = set(state.runs.evals)
    if state.scale is not None:
        out.add("predictive_accuracy")
    return out


def _names(state, fid: int, did: int) -> tuple[str, str]:
    fl = state.flows.get(fid)
    ds = state.datasets.get(did)
    return (fl.name if fl else ""), (ds.name if ds else "")


def _times(epochs) -> list[str]:
    """Vectorised ``YYYY-mm-dd HH:MM:SS`` of epoch seconds."""
    out = np.datetime_as_string(np.asarray(epochs, dtype="datetime64[s]"), unit="s")
    return [t.replace("T", " ") for t in out.tolist()]


def _eval_rows(state, cols, idx, m) -> list[str]:
    """The XML of evaluations ``idx`` of a chunk; ``m`` is one measure or one per row."""
    if len(idx) == 0:
        return []
    measures = m if isinstance(m, list) else [m] * len(idx)
    run, task, setup = (cols[k][idx].tolist() for k in ("run_id", "task_id", "setup_id"))
    flow, data, upl = (cols[k][idx].tolist() for k in ("flow_id", "data_id", "uploader"))
    times = _times(cols["upload_time"][idx])
    names: dict = {}
    out = []
    for k in range(len(idx)):
        key = (flow[k], data[k])
        if key not in names:
            fname, dname = _names(state, *key)
            names[key] = (e(fname), e(dname))
        fname, dname = names[key]
        value = fmt_float(cols["evals"][measures[k]][idx[k]])
        out.append(
            f"  <oml:evaluation>\n    <oml:run_id>{run[k]}</oml:run_id>\n    <oml:task_id>{task[k]}</oml:task_id>\n"
            f"    <oml:setup_id>{setup[k]}</oml:setup_id>\n    <oml:flow_id>{flow[k]}</oml:flow_id>\n"
            f"    <oml:flow_name>{fname}</oml:flow_name>\n    <oml:data_id>{data[k]}</oml:data_id>\n"
            f"    <oml:data_name>{dname}</oml:data_name>\n    <oml:function>{measures[k]}</oml:function>\n"
            f"    <oml:upload_time>{times[k]}</oml:upload_time>\n    <oml:uploader>{upl[k]}</oml:uploader>\n"
            f"    <oml:value>{value}</oml:value>\n  </oml:evaluation>\n"
        )
    return out


def _eval_row(state, cols, j, m) -> str:
    fid, did = int(cols["flow_id"][j]), int(cols["data_id"][j])
    fname, dname = _names(state, fid, did)
    return (
        "  <oml:evaluation>\n"
        f"    <oml:run_id>{cols['run_id'][j]}</oml:run_id>\n"
        f"    <oml:task_id>{cols['task_id'][j]}</oml:task_id>\n"
        f"    <oml:setup_id>{cols['setup_id'][j]}</oml:setup_id>\n"
        f"    <oml:flow_id>{fid}</oml:flow_id>\n"
        f"    <oml:flow_name>{e(fname)}</oml:flow_name>\n"
        f"    <oml:data_id>{did}</oml:data_id>\n"
        f"    <oml:data_name>{e(dname)}</oml:data_name>\n"
        f"    <oml:function>{m}</oml:function>\n"
        f"    <oml:upload_time>{ts(cols['upload_time'][j])}</oml:upload_time>\n"
        f"    <oml:uploader>{cols['uploader'][j]}</oml:uploader>\n"
        f"    <oml:value>{fmt_float(cols['evals'][m][j])}</oml:value>\n"
        "  </oml:evaluation>\n"
    )


def run_list(state, segments: list[str], cap: int) -> ListResult:
    try:
        f = F.parse(segments, RUN_FILTERS, 514, 511, cap)
    except F.FilterError as err:
        return ListResult(412, error(err.code, err.message))
    key = ("run",) + tuple((k, repr(v)) for k, v in sorted(f.items()) if k not in ("offset", "limit"))
    rows = []
    for cols, idx, _ in _scan(state, f, None, key):
        if len(idx) == 0:
            continue
        run, task, setup = (cols[k][idx].tolist() for k in ("run_id", "task_id", "setup_id"))
        flow, upl = cols["flow_id"][idx].tolist(), cols["uploader"][idx].tolist()
        times = _times(cols["upload_time"][idx])
        rows.extend(
            f"  <oml:run>\n    <oml:run_id>{run[k]}</oml:run_id>\n    <oml:task_id>{task[k]}</oml:task_id>\n"
            f"    <oml:task_type_id>1</oml:task_type_id>\n    <oml:setup_id>{setup[k]}</oml:setup_id>\n"
            f"    <oml:flow_id>{flow[k]}</oml:flow_id>\n    <oml:uploader>{upl[k]}</oml:uploader>\n"
            f"    <oml:upload_time>{times[k]}</oml:upload_time>\n    <oml:error_message></oml:error_message>\n"
            "    <oml:run_details></oml:run_details>\n  </oml:run>\n"
            for k in range(len(idx))
        )
    if not rows:
        return _no_results("run")
    return ListResult(200, f"<oml:runs {NS}>\n" + "".join(rows) + "</oml:runs>\n")


class _SetupSource:
    def __init__(self, sid: np.ndarray, fid: np.ndarray):
        self.sid, self.fid = sid, fid

    def __len__(self):
        return len(self.sid)

    def columns(self, a, b):
        return {"setup_id": self.sid[a:b], "flow_id": self.fid[a:b]}

    def first_index_at_least(self, v):
        return int(np.searchsorted(self.sid, v))


class _ScaleSetups:
    def __init__(self, scale):
        self.s = scale

    def __len__(self):
        return len(self.s)

    def columns(self, a, b):
        c = self.s.columns(a, b)
        return {"setup_id": c["setup_id"], "flow_id": c["flow_id"]}

    def first_index_at_least(self, v):
        from .scale import SCALE_SETUP

        return int(min(max(v - SCALE_SETUP, 0), len(self.s)))


def setup_list(state, segments: list[str], cap: int) -> ListResult:
    try:
        f = F.parse(segments, SETUP_FILTERS, 671, 672, cap)
    except F.FilterError as err:
        return ListResult(412, error(err.code, err.message))
    from .entities import setup_body

    sources = [_SetupSource(*state.setup_rows())]
    if state.scale is not None:
        sources.append(_ScaleSetups(state.scale))
    skip, need = f["offset"], f["limit"]
    low = f["setup"].low if "setup" in f and f["setup"].low is not None else None
    if "setup" in f and f["setup"].values:
        low = min(f["setup"].values)
    key = ("setup",) + tuple((k, repr(v)) for k, v in sorted(f.items()) if k not in ("offset", "limit"))
    rows = []
    for si, src in enumerate(sources):
        c0 = src.first_index_at_least(low) if low is not None else 0
        n = len(src)
        while c0 < n and need > 0:
            c1 = min(c0 + CHUNK, n)
            mk = (key, si, n, c0)
            cnt = _memo.get(mk)
            if cnt is not None and cnt <= skip:
                skip -= cnt
                c0 = c1
                continue
            cols = src.columns(c0, c1)
            m = np.ones(c1 - c0, dtype=bool)
            for k, col in (("setup", "setup_id"), ("flow", "flow_id")):
                if k in f:
                    m &= f[k].mask(cols[col])
            if "tag" in f:
                m &= tag_mask(state, f["tag"], {"run_id": np.zeros(c1 - c0, dtype=np.int64)}) if f["tag"] != "synthetic" else (si == 1)
            idx = np.flatnonzero(m)
            _memo[mk] = len(idx)
            take = idx[skip: skip + need]
            skip = max(0, skip - len(idx))
            for j in take:
                sid = int(cols["setup_id"][j])
                found = state.setup_parameters(sid)
                fid, params = found if found else (int(cols["flow_id"][j]), [])
                rows.append("  <oml:setup>\n" + setup_body(state, sid, params, fid, "  ") + "  </oml:setup>\n")
            need -= len(take)
            c0 = c1
    if not rows:
        return _no_results("setup")
    return ListResult(200, f"<oml:setups {NS}>\n" + "".join(rows) + "</oml:setups>\n")


# ---------------------------------------------------------------- small catalogs (python lists)
_QUALITY_FILTERS = ("number_instances", "number_features", "number_classes", "number_missing_values")
_QUALITY_NAMES = {"number_instances": "NumberOfInstances", "number_features": "NumberOfFeatures",
                  "number_classes": "NumberOfClasses", "number_missing_values": "NumberOfMissingValues"}
LIST_QUALITIES = ("MajorityClassSize", "MaxNominalAttDistinctValues", "MinorityClassSize", "NumberOfClasses",
                  "NumberOfFeatures", "NumberOfInstances", "NumberOfInstancesWithMissingValues",
                  "NumberOfMissingValues", "NumberOfNumericFeatures", "NumberOfSymbolicFeatures")


def _range_ok(value, spec: str) -> bool:
    if value is None:
        return False
    if ".." in spec:
        lo, hi = spec.split("..", 1)
        return (not lo or value >= float(lo)) and (not hi or value <= float(hi))
    return value == float(spec)


def _quality_ok(ds, f) -> bool:
    for k in _QUALITY_FILTERS:
        if k in f and not _range_ok(ds.qualities.get(_QUALITY_NAMES[k]) if ds else None, f[k]):
            return False
    return True


def _qualities_xml(ds, indent="    ") -> str:
    if ds is None:
        return ""
    return "".join(f'{indent}<oml:quality name="{q}">{fmt_float(ds.qualities[q])}</oml:quality>\n'
                   for q in LIST_QUALITIES if q in ds.qualities)


TASK_FILTERS = {"type": "str", "tag": "str", "status": "str", "data_tag": "str", "task_id": "ids",
                "data_id": "ids", "data_name": "str", **{q: "str" for q in _QUALITY_FILTERS}}


def task_list(state, segments: list[str], cap: int) -> ListResult:
    try:
        f = F.parse(segments, TASK_FILTERS, 480, 481, cap)
    except F.FilterError as err:
        return ListResult(412, error(err.code, err.message))
    from .catalog import TASK_TYPES

    out = []
    for tid in sorted(state.tasks):
        t = state.tasks[tid]
        ds = state.datasets.get(t.data_id)
        if "type" in f and str(t.ttid) != f["type"]:
            continue
        if "status" in f and f["status"] not in (t.status, "all"):
            continue
        if "tag" in f and f["tag"] not in t.tags:
            continue
        if "task_id" in f and not f["task_id"].contains(tid):
            continue
        if "data_id" in f and not f["data_id"].contains(t.data_id):
            continue
        if "data_name" in f and (ds is None or ds.name != f["data_name"]):
            continue
        if "data_tag" in f and (ds is None or f["data_tag"] not in ds.tags):
            continue
        if not _quality_ok(ds, f):
            continue
        out.append((tid, t, ds))
    page = out[F.page(len(out), f)]
    if not page:
        return _no_results("task")
    body = []
    for tid, t, ds in page:
        body.append(
            "  <oml:task>\n"
            f"    <oml:task_id>{tid}</oml:task_id>\n"
            f"    <oml:task_type_id>{t.ttid}</oml:task_type_id>\n"
            f"    <oml:task_type>{TASK_TYPES.get(t.ttid, 'Supervised Classification')}</oml:task_type>\n"
            f"    <oml:did>{t.data_id}</oml:did>\n"
            f"    <oml:name>{e(ds.name if ds else '')}</oml:name>\n"
            f"    <oml:status>{t.status}</oml:status>\n"
            "    <oml:format>ARFF</oml:format>\n"
            f'    <oml:input name="estimation_procedure">{t.estimation_procedure_id}</oml:input>\n'
            f'    <oml:input name="source_data">{t.data_id}</oml:input>\n'
            f'    <oml:input name="target_feature">{e(t.target)}</oml:input>\n'
            + _qualities_xml(ds)
            + "".join(f"    <oml:tag>{e(x)}</oml:tag>\n" for x in t.tags)
            + "  </oml:task>\n"
        )
    return ListResult(200, f"<oml:tasks {NS}>\n" + "".join(body) + "</oml:tasks>\n")


def _study(state, sid):
    if sid == 14 and state.openml100_tasks:
        return state.openml100_tasks
    st = state.studies.get(sid)
    return st["tasks"] if st else set()


DATA_FILTERS = {"tag": "str", "status": "str", "data_id": "ids", "data_name": "str", "data_version": "str",
                "uploader": "ids", **{q: "str" for q in _QUALITY_FILTERS}}


def data_list(state, segments: list[str], cap: int) -> ListResult:
    try:
        f = F.parse(segments, DATA_FILTERS, 370, 371, cap)
    except F.FilterError as err:
        return ListResult(412, error(err.code, err.message))
    out = []
    for did in sorted(state.datasets):
        ds = state.datasets[did]
        if "status" in f and f["status"] not in (ds.status, "all"):
            continue
        if "tag" in f and f["tag"] not in ds.tags:
            continue
        if "data_id" in f and not f["data_id"].contains(did):
            continue
        if "data_name" in f and ds.name != f["data_name"]:
            continue
        if "data_version" in f and str(ds.version) != f["data_version"]:
            continue
        if not _quality_ok(ds, f):
            continue
        out.append(ds)
    page = out[F.page(len(out), f)]
    if not page:
        return _no_results("data")
    body = [
        "  <oml:dataset>\n"
        f"    <oml:did>{ds.data_id}</oml:did>\n"
        f"    <oml:name>{e(ds.name)}</oml:name>\n"
        f"    <oml:version>{ds.version}</oml:version>\n"
        f"    <oml:status>{ds.status}</oml:status>\n"
        "    <oml:format>ARFF</oml:format>\n"
        f"    <oml:file_id>{ds.file_id}</oml:file_id>\n"
        + _qualities_xml(ds)
        + "  </oml:dataset>\n"
        for ds in page
    ]
    return ListResult(200, f"<oml:data {NS}>\n" + "".join(body) + "</oml:data>\n")


FLOW_FILTERS = {"tag": "str", "uploader": "ids", "flow": "ids", "id": "ids"}


def flow_list(state, segments: list[str], cap: int) -> ListResult:
    try:
        f = F.parse(segments, FLOW_FILTERS, 501, 502, cap)
    except F.FilterError as err:
        return ListResult(412, error(err.code, err.message))
    ids_filter = f.get("flow") or f.get("id")
    out = []
    for fid in sorted(state.flows):
        fl = state.flows[fid]
        if "tag" in f and f["tag"] not in fl.tags:
            continue
        if "uploader" in f and not f["uploader"].contains(fl.uploader):
            continue
        if ids_filter is not None and not ids_filter.contains(fid):
            continue
        out.append(fl)
    page = out[F.page(len(out), f)]
    if not page:
        return _no_results("flow")
    body = [
        "  <oml:flow>\n"
        f"    <oml:id>{fl.flow_id}</oml:id>\n"
        f"    <oml:full_name>{e(fl.name)}({fl.version})</oml:full_name>\n"
        f"    <oml:name>{e(fl.name)}</oml:name>\n"
        f"    <oml:version>{fl.version}</oml:version>\n"
        f"    <oml:external_version>{e(fl.external_version)}</oml:external_version>\n"
        f"    <oml:uploader>{fl.uploader}</oml:uploader>\n"
        "  </oml:flow>\n"
        for fl in page
    ]
    return ListResult(200, f"<oml:flows {NS}>\n" + "".join(body) + "</oml:flows>\n")
