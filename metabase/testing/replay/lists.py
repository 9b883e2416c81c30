"""The run-based list endpoints: evaluation, run and setup lists (task/data/flow: catalog_lists).

Run-based lists scan their sources (the real runs, then scale mode's synthetic runs) in chunks of
parallel numpy columns. The number of matches per chunk is remembered per filter, so deep offsets
skip whole chunks without recomputing them: paging 1M synthetic evaluations stays fast.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import numpy as np

from . import filters as F
from .scale import ScaleSource
from .xmlgen import NS, e, error, fmt_float, ts

CHUNK = 1 << 14  # small: the chunk holding a page is recomputed per call
NO_RESULTS = {"data": 372, "task": 482, "flow": 500, "run": 512, "evaluation": 542, "setup": 674}
_memo: "OrderedDict[tuple, int]" = OrderedDict()
_MEMO_MAX = 200_000

RUN_FILTERS = {
    "run": "ids",
    "task": "ids",
    "flow": "ids",
    "setup": "ids",
    "uploader": "ids",
    "tag": "str",
    "study": "int",
    "show_errors": "str",
}
EVAL_FILTERS = dict(RUN_FILTERS, function="str", per_fold="str", sort_order="str")
SETUP_FILTERS = {"flow": "ids", "setup": "ids", "tag": "str"}


_NARROWING = ("run", "task", "flow", "setup", "uploader", "tag", "study")


def _too_broad(segments: list[str]) -> bool:
    """No narrowing filter and no limit: the live server refuses (540 / 510)."""
    names = set(segments[::2])
    return not names & set(_NARROWING) and "limit" not in names


class ListResult:
    def __init__(self, status: int, body: str):
        self.status, self.body = status, body


def _no_results(entity: str) -> ListResult:
    return ListResult(
        412, error(NO_RESULTS[entity], "No results", f"No {entity}s matched the given criteria.")
    )


def _run_mask(state, cols: dict, f: dict) -> np.ndarray:
    m = np.ones(len(cols["run_id"]), dtype=bool)
    for key, col in (
        ("run", "run_id"),
        ("task", "task_id"),
        ("flow", "flow_id"),
        ("setup", "setup_id"),
        ("uploader", "uploader"),
    ):
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
    extra = np.isin(r, np.asarray(sorted(state.tagged("run", tag)), dtype=np.int64))
    if tag == "openml-pimp":
        return extra | ((r >= ids.PIMP_RUN) & (r < ids.STUDY_RUN))
    if tag == "synthetic":
        return extra | (r >= SCALE_RUN)
    m = re.fullmatch(r"study_(\d+)", tag)
    if m and int(m.group(1)) in state.studies:
        return extra | np.isin(
            r, np.asarray(sorted(state.studies[int(m.group(1))]["runs"]), dtype=np.int64)
        )
    return extra


def _scan(state, f: dict, measures: list[str] | None, key: tuple):
    """Yield (cols, row indices, measure) pieces of the page asked for by offset/limit.

    measures None: rows are runs. Otherwise rows are (run, measure) pairs, by run id then measure.
    """
    skip, need = f["offset"], f["limit"]
    low = f["run"].low if "run" in f and f["run"].low is not None else None
    high = f["run"].high if "run" in f and f["run"].high is not None else None
    if "run" in f and f["run"].values:
        high = max(f["run"].values)
    # sources that can look a task's runs up directly (scale mode) need not scan the others
    by_task = {"tasks": f["task"].values} if "task" in f and f["task"].values else {}
    for si, src in enumerate(state.run_sources()):
        start = src.first_index_at_least(low) if low is not None else 0
        if "run" in f and f["run"].values:
            lo = src.first_index_at_least(min(f["run"].values))
            start = max(start, lo)
        version = len(src)  # uploads grow the real source: counts are per source length
        n = version
        if high is not None:  # rows are in run id order: none past the highest id asked for
            n = min(n, src.first_index_at_least(high + 1))
        if start >= n:
            continue
        c0 = start
        while c0 < n and need > 0:
            c1 = min(c0 + CHUNK, n)
            mk = (state.token, key, si, version, c0)
            cnt = _memo.get(mk)
            if cnt is not None and cnt <= skip:
                skip -= cnt
                c0 = c1
                continue
            cols = (
                src.columns(c0, c1, **by_task)
                if by_task and isinstance(src, ScaleSource)
                else src.columns(c0, c1)
            )
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
        f = F.parse(segments, EVAL_FILTERS, 544, 541, cap, 545)
    except F.FilterError as err:
        return ListResult(412, error(err.code, err.message))
    if _too_broad(segments):
        return ListResult(
            412,
            error(
                540,
                "Please provide at least task, flow or setup, uploader or run, to "
                "filter results, or limit the number of responses",
            ),
        )
    measures = [f["function"]] if "function" in f else sorted(_all_measures(state))
    rows = []
    if "sort_order" in f and "function" in f:
        pieces = _all_pieces(state, f, measures)
        vals = np.concatenate([c["evals"][m][i] for c, i, m in pieces]) if pieces else np.array([])
        order = np.argsort(-vals if f["sort_order"] == "desc" else vals, kind="stable")
        flat = [(c, j, m) for c, i, m in pieces for j in i]
        sel = order[f["offset"] : f["offset"] + f["limit"]]
        for k in sel:
            c, j, m = flat[k]
            rows.append(_eval_row(state, c, j, m))
    else:
        key = ("evaluation",) + tuple(
            (k, repr(v)) for k, v in sorted(f.items()) if k not in ("offset", "limit")
        )
        for cols, idx, m in _scan(state, f, measures, key):
            rows.extend(_eval_rows(state, cols, idx, m))
    if not rows:
        return _no_results("evaluation")
    return ListResult(200, f"<oml:evaluations {NS}>\n" + "".join(rows) + "</oml:evaluations>\n")


def _all_pieces(state, f, measures):
    g = dict(f, offset=0, limit=1 << 62)
    key = ("evaluation-all",) + tuple(
        (k, repr(v)) for k, v in sorted(f.items()) if k not in ("offset", "limit")
    )
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
            f"  <oml:evaluation>\n    <oml:run_id>{run[k]}</oml:run_id>\n"
            f"    <oml:task_id>{task[k]}</oml:task_id>\n"
            f"    <oml:setup_id>{setup[k]}</oml:setup_id>\n"
            f"    <oml:flow_id>{flow[k]}</oml:flow_id>\n"
            f"    <oml:flow_name>{fname}</oml:flow_name>\n"
            f"    <oml:data_id>{data[k]}</oml:data_id>\n"
            f"    <oml:data_name>{dname}</oml:data_name>\n"
            f"    <oml:function>{measures[k]}</oml:function>\n"
            f"    <oml:upload_time>{times[k]}</oml:upload_time>\n"
            f"    <oml:uploader>{upl[k]}</oml:uploader>\n"
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
        f = F.parse(segments, RUN_FILTERS, 514, 511, cap, 515)
    except F.FilterError as err:
        return ListResult(412, error(err.code, err.message))
    if _too_broad(segments):
        return ListResult(
            412,
            error(
                510,
                "Please provide at least task, flow or setup, uploader or run, to "
                "filter results, or limit the number of responses",
            ),
        )
    key = ("run",) + tuple(
        (k, repr(v)) for k, v in sorted(f.items()) if k not in ("offset", "limit")
    )
    rows = []
    for cols, idx, _ in _scan(state, f, None, key):
        if len(idx) == 0:
            continue
        run, task, setup = (cols[k][idx].tolist() for k in ("run_id", "task_id", "setup_id"))
        flow, upl = cols["flow_id"][idx].tolist(), cols["uploader"][idx].tolist()
        times = _times(cols["upload_time"][idx])
        ttid = [state.tasks[t].ttid if t in state.tasks else 1 for t in task]
        rows.extend(
            f"  <oml:run>\n    <oml:run_id>{run[k]}</oml:run_id>\n"
            f"    <oml:task_id>{task[k]}</oml:task_id>\n"
            f"    <oml:task_type_id>{ttid[k]}</oml:task_type_id>\n"
            f"    <oml:setup_id>{setup[k]}</oml:setup_id>\n"
            f"    <oml:flow_id>{flow[k]}</oml:flow_id>\n"
            f"    <oml:uploader>{upl[k]}</oml:uploader>\n"
            f"    <oml:upload_time>{times[k]}</oml:upload_time>\n"
            "    <oml:error_message></oml:error_message>\n"
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
        from .scale import SCALE_SETUP

        self.s = scale
        self.base = SCALE_SETUP

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
        f = F.parse(segments, SETUP_FILTERS, 671, 672, cap, 675)
    except F.FilterError as err:
        return ListResult(412, error(err.code, err.message))
    if not segments:
        return ListResult(412, error(670, "Please specify at least one filter"))
    from .entities import setup_body

    sources = [_SetupSource(*state.setup_rows())]
    if state.scale is not None:
        sources.append(_ScaleSetups(state.scale))
    skip, need = f["offset"], f["limit"]
    low = f["setup"].low if "setup" in f and f["setup"].low is not None else None
    high = f["setup"].high if "setup" in f and f["setup"].high is not None else None
    if "setup" in f and f["setup"].values:
        low, high = min(f["setup"].values), max(f["setup"].values)
    key = ("setup",) + tuple(
        (k, repr(v)) for k, v in sorted(f.items()) if k not in ("offset", "limit")
    )
    rows = []
    for si, src in enumerate(sources):
        c0 = src.first_index_at_least(low) if low is not None else 0
        n = len(src)
        if high is not None:  # setups are in id order: none past the highest id asked for (an
            n = min(n, src.first_index_at_least(high + 1))  # index, not a scan to the end)
        while c0 < n and need > 0:
            c1 = min(c0 + CHUNK, n)
            mk = (state.token, key, si, n, c0)
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
                m &= np.isin(
                    cols["setup_id"],
                    np.asarray(sorted(state.tagged("setup", f["tag"])), dtype=np.int64),
                ) | (f["tag"] == "synthetic" and si == 1)
            idx = np.flatnonzero(m)
            _memo[mk] = len(idx)
            take = idx[skip : skip + need]
            skip = max(0, skip - len(idx))
            sids = cols["setup_id"][take]
            if isinstance(src, _ScaleSetups):  # synthetic: all of the page's setups at once
                found_all = state.scale.setups(sids - src.base)
            else:
                found_all = [state.setup_parameters(int(sid)) for sid in sids.tolist()]
            for sid, fid, found in zip(sids.tolist(), cols["flow_id"][take].tolist(), found_all):
                fid, params = found if found else (fid, [])
                rows.append(
                    "  <oml:setup>\n"
                    + setup_body(state, sid, params, fid, "  ")
                    + "  </oml:setup>\n"
                )
            need -= len(take)
            c0 = c1
    if not rows:
        return _no_results("setup")
    return ListResult(200, f"<oml:setups {NS}>\n" + "".join(rows) + "</oml:setups>\n")
