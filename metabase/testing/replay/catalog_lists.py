"""The list endpoints of the small catalogs: task, data and flow lists (plain Python filtering)."""

from __future__ import annotations

from . import filters as F
from .lists import ListResult, _no_results
from .xmlgen import NS, e, error, fmt_float

_QUALITY_FILTERS = (
    "number_instances",
    "number_features",
    "number_classes",
    "number_missing_values",
)
_QUALITY_NAMES = {
    "number_instances": "NumberOfInstances",
    "number_features": "NumberOfFeatures",
    "number_classes": "NumberOfClasses",
    "number_missing_values": "NumberOfMissingValues",
}
LIST_QUALITIES = (
    "MajorityClassSize",
    "MaxNominalAttDistinctValues",
    "MinorityClassSize",
    "NumberOfClasses",
    "NumberOfFeatures",
    "NumberOfInstances",
    "NumberOfInstancesWithMissingValues",
    "NumberOfMissingValues",
    "NumberOfNumericFeatures",
    "NumberOfSymbolicFeatures",
)


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
    return "".join(
        f'{indent}<oml:quality name="{q}">{fmt_float(ds.qualities[q])}</oml:quality>\n'
        for q in LIST_QUALITIES
        if q in ds.qualities
    )


TASK_FILTERS = {
    "type": "str",
    "tag": "str",
    "status": "str",
    "data_tag": "str",
    "task_id": "ids",
    "data_id": "ids",
    "data_name": "str",
    **{q: "str" for q in _QUALITY_FILTERS},
}


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
        if (
            "tag" in f
            and f["tag"] not in t.tags
            and f["tag"] not in state.entity_tags("task", tid)
        ):
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
            f"    <oml:task_type>{TASK_TYPES.get(t.ttid, 'Supervised Classification')}"
            "</oml:task_type>\n"
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


DATA_FILTERS = {
    "tag": "str",
    "status": "str",
    "data_id": "ids",
    "data_name": "str",
    "data_version": "str",
    "uploader": "ids",
    **{q: "str" for q in _QUALITY_FILTERS},
}


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
        if (
            "tag" in f
            and f["tag"] not in ds.tags
            and f["tag"] not in state.entity_tags("data", did)
        ):
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
        f = F.parse(segments, FLOW_FILTERS, 501, 502, cap, 503)
    except F.FilterError as err:
        return ListResult(412, error(err.code, err.message))
    ids_filter = f.get("flow") or f.get("id")
    out = []
    for fid in sorted(state.flows):
        fl = state.flows[fid]
        if (
            "tag" in f
            and f["tag"] not in fl.tags
            and f["tag"] not in state.entity_tags("flow", fid)
        ):
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
