"""Endpoints built from the seed SQL and the raw files: measures, procedures, flow/exists,
features, run descriptions (real, synthetic, uploaded), downloads and splits.
"""

from __future__ import annotations

from pathlib import Path

from . import datafiles, entities, exports
from .ids import PREDICTIONS_FILE
from .sqldump import read_table
from .xmlgen import NS, e, fmt_float


class Extras:
    def __init__(self, data_dir: Path, recorded):
        self.data_dir = Path(data_dir)
        self.recorded = recorded

    def _sql(self, name: str) -> tuple:
        path = self.data_dir / exports.SQL_DIR / name
        return read_table(path) if path.exists() else ()

    # --------------------------------------------------------------- small catalogs
    def measures_xml(self) -> str:
        names = sorted(
            r["name"]
            for r in self._sql("math_function.sql")
            if r["functionType"] == "EvaluationFunction"
        )
        body = "".join(f"    <oml:measure>{e(n)}</oml:measure>\n" for n in names)
        return (
            f"<oml:evaluation_measures {NS}>\n  <oml:measures>\n{body}  </oml:measures>\n"
            "</oml:evaluation_measures>\n"
        )

    def quality_names_xml(self) -> str:
        names = sorted(
            r["name"] for r in self._sql("quality.sql") if r.get("type") == "DataQuality"
        )
        body = "".join(f"  <oml:quality>{e(n)}</oml:quality>\n" for n in names)
        return f"<oml:data_qualities_list {NS}>\n{body}</oml:data_qualities_list>\n"

    def procedures_xml(self) -> str:
        rows = []
        for r in self._sql("estimation_procedure.sql"):
            fields = [
                ("id", r["id"]),
                ("ttid", r["ttid"]),
                ("name", r["name"]),
                ("type", r["type"]),
                ("repeats", r["repeats"]),
                ("folds", r["folds"]),
                ("percentage", r["percentage"]),
                ("stratified_sampling", r["stratified_sampling"]),
            ]
            rows.append(
                "<oml:estimationprocedure>\n"
                + "".join(f"<oml:{k}>{e(v)}</oml:{k}>\n" for k, v in fields if v is not None)
                + "</oml:estimationprocedure>\n"
            )
        return (
            f"<oml:estimationprocedures {NS}>\n" + "".join(rows) + "</oml:estimationprocedures>\n"
        )

    def flow_exists(self, state, parts: list[str]) -> str:
        name = parts[0] if parts else ""
        version = parts[1] if len(parts) > 1 else ""
        found = 0
        for fid, fl in state.flows.items():
            if fl.name == name and version in (fl.external_version, str(fl.version)):
                found = fid
                break
        return f"<oml:flow_exists {NS}>\n  <oml:id>{found}</oml:id>\n</oml:flow_exists>\n"

    # --------------------------------------------------------------- data
    @staticmethod
    def nominal_target(state, did: int) -> str | None:
        ds = state.datasets.get(did)
        if ds is None or ds.raw is None:
            return None
        if ds.raw["format"] != "pmlb":
            return None
        classif = any(t.ttid == 1 for t in state.tasks.values() if t.data_id == did)
        return ds.raw["target"] if classif else None

    def features_xml(self, state, did: int) -> str | None:
        ds = state.datasets.get(did)
        if ds is None:
            return None
        if ds.raw is None:
            return datafiles.stub_features_xml(ds.target) if ds.target else None
        return datafiles.features_xml(
            ds.raw, ds.target or ds.raw["target"], self.nominal_target(state, did)
        )

    def download(self, state, file_id: int) -> bytes | None:
        path = self.recorded.files.get(file_id)
        if path is not None:
            return path.read_bytes()
        if file_id in state.uploaded_files:
            return state.uploaded_files[file_id]
        if file_id >= PREDICTIONS_FILE:
            return None  # no predictions in the exports
        if file_id >= 10_000_000:  # run description files carry the run's id as file id
            text = self.run_xml(state, file_id, "")
            return text.encode("utf-8") if text else None
        ds = state.datasets.get(file_id)
        if ds is None or ds.raw is None:
            return None
        return datafiles.arff_bytes(ds.raw, ds.name, self.nominal_target(state, file_id))

    def splits(self, state, task_id: int) -> bytes | None:
        path = self.recorded.splits.get(task_id)
        if path is not None:
            return path.read_bytes()
        t = state.tasks.get(task_id)
        ds = state.datasets.get(t.data_id) if t else None
        if ds is None or ds.raw is None:
            return None
        _, _, repeats, folds, pct = entities.PROCEDURES.get(
            t.estimation_procedure_id, entities.PROCEDURES[1]
        )
        labels = datafiles.target_values(ds.raw, t.target, self.nominal_target(state, ds.data_id))
        return datafiles.generated_splits(
            task_id, labels, repeats, folds, pct, stratify=t.ttid == 1
        )

    # --------------------------------------------------------------- runs
    def run_xml(self, state, run_id: int, root: str) -> str | None:
        if run_id in state.uploaded_runs:
            return state.uploaded_runs[run_id]
        if state.scale is not None:
            k = state.scale.index_of_run(run_id)
            if k is not None:
                return _synthetic_run_xml(state, k, root)
        return entities.run_xml(state, run_id, root)


def _synthetic_run_xml(state, k: int, root: str) -> str:
    c = state.scale.columns(k, k + 1)
    fid, sid = int(c["flow_id"][0]), int(c["setup_id"][0])
    fid2, params = state.scale.setup(sid)
    settings = "".join(
        f"  <oml:parameter_setting>\n    <oml:name>{p[3]}</oml:name>\n"
        f"    <oml:value>{p[6]}</oml:value>\n"
        f"    <oml:component>{fid}</oml:component>\n  </oml:parameter_setting>\n"
        for p in params
    )
    pred_file = PREDICTIONS_FILE + int(c["run_id"][0])
    return f"""<oml:run {NS}>
  <oml:run_id>{int(c["run_id"][0])}</oml:run_id>
  <oml:uploader>{int(c["uploader"][0])}</oml:uploader>
  <oml:uploader_name>SYNTHETIC (replay scale mode)</oml:uploader_name>
  <oml:task_id>{int(c["task_id"][0])}</oml:task_id>
  <oml:task_type>Supervised Classification</oml:task_type>
  <oml:flow_id>{fid}</oml:flow_id>
  <oml:flow_name>{e(state.flows[fid].name)}</oml:flow_name>
  <oml:setup_id>{sid}</oml:setup_id>
  <oml:setup_string></oml:setup_string>
{settings}  <oml:tag>synthetic</oml:tag>
  <oml:input_data>
  </oml:input_data>
  <oml:output_data>
    <oml:file>
      <oml:did>-1</oml:did>
      <oml:file_id>{int(c["run_id"][0])}</oml:file_id>
      <oml:name>description</oml:name>
      <oml:url>{root}/data/download/{int(c["run_id"][0])}/description.xml</oml:url>
    </oml:file>
    <oml:file>
      <oml:did>-1</oml:did>
      <oml:file_id>{pred_file}</oml:file_id>
      <oml:name>predictions</oml:name>
      <oml:url>{root}/data/download/{pred_file}/predictions.arff</oml:url>
    </oml:file>
      <oml:evaluation>
        <oml:name>predictive_accuracy</oml:name>
        <oml:value>{fmt_float(c["evals"]["predictive_accuracy"][0])}</oml:value>
      </oml:evaluation>
  </oml:output_data>
</oml:run>
"""
