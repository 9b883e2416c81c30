"""Single-entity XML bodies (task, dataset, qualities, features, flow, setup, run, study)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import ids
from .catalog import TASK_TYPES, Catalog, json_value
from .ids import PREDICTIONS_FILE
from .xmlgen import NS, e, elements, fmt_float

# Production estimation procedures (ids as on openml.org and in the seed SQL).
PROCEDURES = {
    1: ("10-fold Crossvalidation", "crossvalidation", 1, 10, None),
    2: ("5 times 2-fold Crossvalidation", "crossvalidation", 5, 2, None),
    3: ("10 times 10-fold Crossvalidation", "crossvalidation", 10, 10, None),
    6: ("33% Holdout set", "holdout", 1, 1, 33),
}

STUDY_ALIASES = {"OpenML100": 14, "OpenML-CC18": 99}


def task_xml(cat: Catalog, tid: int, root: str) -> str | None:
    t = cat.tasks.get(tid)
    if t is None:
        return None
    name, kind, repeats, folds, pct = PROCEDURES.get(t.estimation_procedure_id, PROCEDURES[1])
    ttype = TASK_TYPES.get(t.ttid, "Supervised Classification")
    measures = "predictive_accuracy" if t.ttid == 1 else "mean_absolute_error"
    tags = "".join(f"    <oml:tag>{e(x)}</oml:tag>\n" for x in t.tags)
    confidence = (
        '      <oml:feature name="confidence.classname" type="numeric"/>\n' if t.ttid == 1 else ""
    )
    return f"""<oml:task {NS}>
  <oml:task_id>{tid}</oml:task_id>
  <oml:task_type_id>{t.ttid}</oml:task_type_id>
  <oml:task_type>{ttype}</oml:task_type>
  <oml:input name="source_data">
    <oml:data_set>
      <oml:data_set_id>{t.data_id}</oml:data_set_id>
      <oml:target_feature>{e(t.target)}</oml:target_feature>
    </oml:data_set>
  </oml:input>
  <oml:input name="estimation_procedure">
    <oml:estimation_procedure>
      <oml:id>{t.estimation_procedure_id}</oml:id>
      <oml:type>{kind}</oml:type>
      <oml:data_splits_url>{root}/api_splits/get/{tid}/Task_{tid}_splits.arff</oml:data_splits_url>
      <oml:parameter name="number_repeats">{repeats}</oml:parameter>
      <oml:parameter name="number_folds">{folds}</oml:parameter>
      <oml:parameter name="percentage">{pct or ""}</oml:parameter>
      <oml:parameter name="stratified_sampling">true</oml:parameter>
    </oml:estimation_procedure>
  </oml:input>
  <oml:input name="cost_matrix">
    <oml:cost_matrix></oml:cost_matrix>
  </oml:input>
  <oml:input name="evaluation_measures">
    <oml:evaluation_measures>
      <oml:evaluation_measure>{measures}</oml:evaluation_measure>
    </oml:evaluation_measures>
  </oml:input>
  <oml:output name="predictions">
    <oml:predictions>
      <oml:format>ARFF</oml:format>
      <oml:feature name="repeat" type="integer"/>
      <oml:feature name="fold" type="integer"/>
      <oml:feature name="row_id" type="integer"/>
{confidence}      <oml:feature name="prediction" type="{"string" if t.ttid == 1 else "numeric"}"/>
    </oml:predictions>
  </oml:output>
{tags}</oml:task>
"""


def dataset_xml(cat: Catalog, did: int, root: str) -> str | None:
    d = cat.datasets.get(did)
    if d is None:
        return None
    url = f"{root}/data/download/{d.file_id}/{e(d.name)}.arff"
    tags = "".join(f"<oml:tag>{e(x)}</oml:tag>" for x in d.tags)
    target = (
        f"<oml:default_target_attribute>{e(d.target)}</oml:default_target_attribute>"
        if d.target
        else ""
    )
    description = e(
        d.description or f"{d.name}, served by the metabase replay server ({d.source})."
    )
    return f"""<oml:data_set_description {NS}>
  <oml:id>{did}</oml:id>
  <oml:name>{e(d.name)}</oml:name>
  <oml:version>{d.version}</oml:version>
  <oml:description>{description}</oml:description>
  <oml:format>ARFF</oml:format>
  <oml:upload_date>{d.upload_date.replace(" ", "T")}</oml:upload_date>
  <oml:licence>Public</oml:licence>
  <oml:url>{url}</oml:url>
  <oml:file_id>{d.file_id}</oml:file_id>
  {target}
  <oml:version_label>{d.version}</oml:version_label>
  {tags}
  <oml:visibility>public</oml:visibility>
  <oml:status>{d.status}</oml:status>
</oml:data_set_description>
"""


def qualities_xml(cat: Catalog, did: int) -> str | None:
    d = cat.datasets.get(did)
    if d is None or not d.qualities:
        return None
    body = "".join(
        f"  <oml:quality>\n    <oml:name>{e(k)}</oml:name>\n"
        f"    <oml:value>{fmt_float(v)}</oml:value>\n  </oml:quality>\n"
        for k, v in sorted(d.qualities.items())
    )
    return f"<oml:data_qualities {NS}>\n{body}</oml:data_qualities>\n"


def flow_xml(cat: Catalog, fid: int) -> str | None:
    f = cat.flows.get(fid)
    if f is None:
        return None
    if getattr(f, "xml", None):
        return f.xml + "\n"
    params = "".join(
        f"  <oml:parameter>\n    <oml:name>{e(n)}</oml:name>\n"
        f"    <oml:data_type>{e(t)}</oml:data_type>\n"
        f"    <oml:default_value>{e(dv)}</oml:default_value>\n"
        "    <oml:description></oml:description>\n  </oml:parameter>\n"
        for n, t, dv in f.parameters
    )
    tags = "".join(f"  <oml:tag>{e(x)}</oml:tag>\n" for x in f.tags)
    return f"""<oml:flow {NS}>
  <oml:id>{fid}</oml:id>
  <oml:uploader>{f.uploader}</oml:uploader>
  <oml:name>{e(f.name)}</oml:name>
  <oml:version>{f.version}</oml:version>
  <oml:external_version>{e(f.external_version)}</oml:external_version>
  <oml:description>{e(f.description)}</oml:description>
  <oml:upload_date>{f.upload_date.replace(" ", "T")}</oml:upload_date>
  <oml:language>{e(f.language)}</oml:language>
  <oml:dependencies>{e(f.dependencies)}</oml:dependencies>
{params}{tags}</oml:flow>
"""


def setup_parameters(cat: Catalog, setup_id: int) -> tuple[int, list[tuple]] | None:
    """(flow id, [(param id, flow id, flow name, name, data type, default, value)]) of a setup."""
    uploaded = getattr(cat, "uploaded_setups", {}).get(setup_id)
    if uploaded is not None:
        return uploaded
    i = setup_id - ids.PIMP_SETUP
    if 0 <= i < len(cat.pimp_values):
        fid = 6969
        flow = cat.flows[fid]
        out = []
        for k, (name, dtype, default) in enumerate(flow.parameters):
            out.append(
                (
                    fid * 1000 + k,
                    fid,
                    flow.name,
                    name,
                    dtype,
                    default,
                    json_value(cat.pimp_values[i][k]),
                )
            )
        return fid, out
    fid = setup_id - ids.STUDY_SETUP
    if fid in cat.flows and 0 < fid < ids.PIMP_SETUP - ids.STUDY_SETUP:
        return fid, []
    return None


@lru_cache(maxsize=8192)
@lru_cache(maxsize=4096)
def _param_head(pid, pfid, fname, name, dtype, default, indent) -> str:
    """Everything of a setup parameter but its value (the same for every setup of a flow)."""
    return (
        f"{indent}  <oml:parameter>\n"
        + elements(
            [
                ("id", pid),
                ("flow_id", pfid),
                ("flow_name", fname),
                ("full_name", f"{fname}(1)_{name}"),
                ("parameter_name", name),
                ("data_type", dtype),
                ("default_value", default),
            ],
            indent + "    ",
        )
        + f"{indent}    <oml:value>"
    )


def setup_body(cat, setup_id: int, params: list[tuple], fid: int, indent: str = "") -> str:
    out = [
        f"{indent}  <oml:setup_id>{setup_id}</oml:setup_id>\n"
        f"{indent}  <oml:flow_id>{fid}</oml:flow_id>\n"
    ]
    for pid, pfid, fname, name, dtype, default, value in params:
        out.append(
            f"{_param_head(pid, pfid, fname, name, dtype, default, indent)}"
            f"{e(value)}</oml:value>\n"
            f"{indent}  </oml:parameter>\n"
        )
    return "".join(out)


def setup_xml_state(state, setup_id: int) -> str | None:
    """A setup's XML through the server state (which knows uploads and scale mode)."""
    found = state.setup_parameters(setup_id)
    if found is None:
        return None
    fid, params = found
    return (
        f"<oml:setup_parameters {NS}>\n"
        f"{setup_body(state, setup_id, params, fid)}</oml:setup_parameters>\n"
    )


def run_xml(cat: Catalog, run_id: int, root: str) -> str | None:
    r = cat.runs
    i = r.index_of(run_id)
    if i is None:
        return None
    tid, fid, sid = int(r.task_id[i]), int(r.flow_id[i]), int(r.setup_id[i])
    flow = cat.flows.get(fid)
    task = cat.tasks.get(tid)
    ds = cat.datasets.get(task.data_id) if task else None
    settings = ""
    found = setup_parameters(cat, sid)
    if found:
        settings = "".join(
            f"  <oml:parameter_setting>\n    <oml:name>{e(p[3])}</oml:name>\n"
            f"    <oml:value>{e(p[6])}</oml:value>\n"
            f"    <oml:component>{p[1]}</oml:component>\n  </oml:parameter_setting>\n"
            for p in found[1]
        )
    evals = "".join(
        f"      <oml:evaluation>\n        <oml:name>{m}</oml:name>\n"
        f"        <oml:value>{fmt_float(v[i])}</oml:value>\n      </oml:evaluation>\n"
        for m, v in sorted(r.evals.items())
        if not np.isnan(v[i])
    )
    dataset = ""
    if ds is not None:
        dataset = (
            f"      <oml:dataset>\n        <oml:did>{ds.data_id}</oml:did>\n"
            f"        <oml:name>{e(ds.name)}</oml:name>\n"
            f"        <oml:url>{root}/data/download/{ds.file_id}/{e(ds.name)}.arff</oml:url>\n"
            "      </oml:dataset>\n"
        )
    return f"""<oml:run {NS}>
  <oml:run_id>{run_id}</oml:run_id>
  <oml:uploader>{int(r.uploader[i])}</oml:uploader>
  <oml:uploader_name>replay</oml:uploader_name>
  <oml:task_id>{tid}</oml:task_id>
  <oml:task_type>Supervised Classification</oml:task_type>
  <oml:task_evaluation_measure>predictive_accuracy</oml:task_evaluation_measure>
  <oml:flow_id>{fid}</oml:flow_id>
  <oml:flow_name>{e(flow.name if flow else "")}</oml:flow_name>
  <oml:setup_id>{sid}</oml:setup_id>
  <oml:setup_string></oml:setup_string>
{settings}  <oml:input_data>
{dataset}  </oml:input_data>
  <oml:output_data>
    <oml:file>
      <oml:did>-1</oml:did>
      <oml:file_id>{run_id}</oml:file_id>
      <oml:name>description</oml:name>
      <oml:url>{root}/data/download/{run_id}/description.xml</oml:url>
    </oml:file>
    <oml:file>
      <oml:did>-1</oml:did>
      <oml:file_id>{PREDICTIONS_FILE + run_id}</oml:file_id>
      <oml:name>predictions</oml:name>
      <oml:url>{root}/data/download/{PREDICTIONS_FILE + run_id}/predictions.arff</oml:url>
    </oml:file>
{evals}  </oml:output_data>
</oml:run>
"""


def study_xml(cat: Catalog, study_id: int) -> str | None:
    tasks = study_tasks(cat, study_id)
    if tasks is None:
        return None
    alias = next((a for a, s in STUDY_ALIASES.items() if s == study_id), f"study_{study_id}")
    data_ids = sorted({cat.tasks[t].data_id for t in tasks if t in cat.tasks})
    data = "".join(f"    <oml:data_id>{d}</oml:data_id>\n" for d in data_ids)
    task = "".join(f"    <oml:task_id>{t}</oml:task_id>\n" for t in tasks)
    description = e(STUDY_SOURCES.get(study_id, "Tasks of the study exports."))
    return f"""<oml:study {NS}>
  <oml:id>{study_id}</oml:id>
  <oml:alias>{alias}</oml:alias>
  <oml:main_entity_type>task</oml:main_entity_type>
  <oml:name>{alias}</oml:name>
  <oml:description>{description}</oml:description>
  <oml:visibility>public</oml:visibility>
  <oml:status>active</oml:status>
  <oml:creation_date>2017-03-24T00:00:00</oml:creation_date>
  <oml:creator>1</oml:creator>
  <oml:data>
{data}  </oml:data>
  <oml:tasks>
{task}  </oml:tasks>
</oml:study>
"""


STUDY_SOURCES = {
    14: "OpenML100: the 100 tasks of openml-pimp's task_qualities.json "
    "(its runs, 47,000 of flow 6969, "
    "cover 94 of them). The openml-aslib study 14 export's runs belong to this study too.",
    99: "OpenML-CC18, partial: the tasks tabular-benchmark's suite table assigns to "
    "'OpenML-CC18 Curated "
    "Classification benchmark', plus task 14951 from extra/tasks_supplement.csv.",
}


def study_tasks(cat: Catalog, study_id: int) -> list[int] | None:
    if study_id == 99:
        return sorted(cat.cc18_tasks) if cat.cc18_tasks else None
    if study_id == 14 and cat.openml100_tasks:
        return sorted(cat.openml100_tasks)
    st = cat.studies.get(study_id)
    return sorted(st["tasks"]) if st else None
