"""``metabase import openml-study-arff PATH``: OpenML study exports
(joaquinvanschoren/openml-aslib).

PATH is one file or the ``openmlmetadata/output/`` folder. Files, by name:

- ``study_<id>_run_evaluations_<measure>.arff``: one row per OpenML run of the study: the task id
  (the column is called ``openml_data_id`` or ``openml_task_id``, but holds **task** ids in both),
  ``repetition``, ``algorithm`` (``<flow id>_<flow name>``), the measure and ``runstatus``.
- ``study_<id>_metafeatures.arff``: OpenML qualities per task id -> ``task_qualities``.
- ``study_<id>_joint.arff``: the join of the two above by task id, so it adds nothing. In this
  snapshot it is also cut off inside its header (no ``@DATA``). Folder imports skip joint files;
  naming one explicitly is refused with that explanation.

The exports carry no OpenML run ids, so runs are keyed
``openml-study:<study>:<task>:<flow>:<repetition>`` and cannot coincide with synced ``openml:<id>``
runs. Two measure files of one study describe the same runs (same keys, one evaluation each).
Runs keep their status; a run that did not finish (``runstatus`` other than ``ok``) is written with
the value 0 in the export, a placeholder rather than a score, so its evaluation value is NULL.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from metabase.errors import ImportFormatError
from metabase.formats.numbers import check_finite, positive_ids
from metabase.imports._arff import ArffHeader, read_arff
from metabase.imports._configs import flow_pipeline
from metabase.imports.base import ImportBatch, Importer, TableLoad, frame_table

log = logging.getLogger(__name__)

SOURCE = "openml-study-arff"
RUNS_FILE = re.compile(r"^study_(?P<study>\d+)_run_evaluations_(?P<measure>\w+)\.arff$")
QUALITIES_FILE = re.compile(r"^study_(?P<study>\d+)_metafeatures\.arff$")
JOINT_FILE = re.compile(r"^study_(?P<study>\d+)_joint\w*\.arff$")
TASK_COLUMNS = ("openml_task_id", "openml_data_id")  # both hold task ids
ALGORITHM = re.compile(r"^(?P<flow_id>\d+)_(?P<flow_name>.+)$")


def _task_column(path: Path, header: ArffHeader) -> str:
    for name in TASK_COLUMNS:
        if name in header.names:
            return name
    raise ImportFormatError(path, f"no task id column (expected one of {list(TASK_COLUMNS)})")


def _task_ids(path: Path, column: pd.Series) -> pd.Series:
    return pd.Series(positive_ids(path, "task id", column), index=column.index)


def read_run_evaluations(
    path: Path, study: int, measure: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """-> (runs with flow_name, evaluations) of one run-evaluations file."""
    header, data = read_arff(path)
    task_column = _task_column(path, header)
    structural = ["repetition", "algorithm", "runstatus", *TASK_COLUMNS]
    if measure in structural:  # the file name would make ids or repetitions into scores
        raise ImportFormatError(
            path,
            f"the file name names measure {measure!r}, which is the "
            f"{measure} column, not an evaluation",
        )
    needed = ["repetition", "algorithm", measure, "runstatus"]
    missing = [c for c in needed if c not in header.names]
    if missing:
        raise ImportFormatError(
            path, f"missing columns {missing} (the measure is taken from the file name)"
        )
    if header.attribute(measure).kind != "numeric":
        raise ImportFormatError(path, f"measure column {measure!r} is not NUMERIC")
    if data.empty:
        raise ImportFormatError(path, "no data rows")
    tasks = _task_ids(path, data[task_column])
    algorithm = data["algorithm"].str.extract(ALGORITHM)
    bad = algorithm["flow_id"].isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise ImportFormatError(
            path,
            f"data row {row + 1}: algorithm {data['algorithm'].iloc[row]!r} "
            "is not <flow id>_<flow name>",
        )
    flow_ids = pd.Series(
        positive_ids(path, "algorithm's flow id", algorithm["flow_id"]), index=data.index
    )
    # a missing repetition is the first one; 1.5 or 0 would collide with or invent one
    repetition = pd.Series(
        positive_ids(path, "repetition", data["repetition"].fillna(1)), index=data.index
    )
    keys = (
        "openml-study:"
        + str(study)
        + ":"
        + tasks.astype(str)
        + ":"
        + flow_ids.astype(str)
        + ":"
        + repetition.astype(str)
    )
    if keys.duplicated().any():
        raise ImportFormatError(path, f"run {keys[keys.duplicated()].iloc[0]} occurs twice")
    status = data["runstatus"].astype("string")
    runs = pd.DataFrame(
        {
            "run_key": keys,
            "task_id": tasks,
            "flow_id": flow_ids,
            "flow_name": algorithm["flow_name"].astype("string"),
            "source": SOURCE,
            "status": status,
        }
    )
    finished = (status == "ok").to_numpy(dtype=bool, na_value=False)
    # a finished run has its score (every real study export has): a missing one (? or nan) is
    # damage, as in openml-pimp; non-ok rows hold a placeholder, not a score
    check_finite(
        path,
        measure,
        data[measure].to_numpy(dtype="float64")[finished],
        lambda i: f"data row {int(finished.nonzero()[0][i]) + 1}",
        allow_nan=False,
    )
    value = data[measure].where(status == "ok")
    evaluations = pd.DataFrame(
        {"run_key": keys, "measure": measure, "value": value, "source": SOURCE}
    )
    return runs, evaluations


def read_metafeatures(path: Path) -> pd.DataFrame:
    """-> long task qualities (task_id, quality, value) of one metafeatures file."""
    header, data = read_arff(path)
    task_column = _task_column(path, header)
    if data.empty:
        raise ImportFormatError(path, "no data rows")
    qualities = [
        a.name
        for a in header.attributes
        if a.kind == "numeric" and a.name not in (task_column, "repetition")
    ]
    text = [a.name for a in header.attributes if a.kind != "numeric" and a.name != task_column]
    if text:  # said, not silently dropped: a quality is a number
        log.warning(
            "%s: %d non-numeric attribute(s) are not meta-features and are skipped: %s",
            path,
            len(text),
            ", ".join(text),
        )
    for quality in qualities:
        check_finite(path, quality, data[quality].to_numpy())
    frame = data[qualities].assign(task_id=_task_ids(path, data[task_column]))
    frame = frame.drop_duplicates("task_id", keep="last")  # a later repetition supersedes
    long = frame.melt(id_vars="task_id", var_name="quality", value_name="value").dropna(
        subset=["value"]
    )
    return long.assign(source=SOURCE).astype({"quality": "string"})


def _files(path: Path) -> list[Path]:
    if path.is_file():
        if JOINT_FILE.match(path.name):
            raise ImportFormatError(
                path,
                "a joint file only repeats the run evaluations and metafeatures "
                "files; import those (or the whole folder) instead",
            )
        if not (RUNS_FILE.match(path.name) or QUALITIES_FILE.match(path.name)):
            raise ImportFormatError(
                path,
                "expected study_<id>_run_evaluations_<measure>.arff or "
                "study_<id>_metafeatures.arff",
            )
        return [path]
    files = sorted(
        p for p in path.iterdir() if RUNS_FILE.match(p.name) or QUALITIES_FILE.match(p.name)
    )
    folders = [p for p in files if p.is_dir()]
    if folders:
        raise ImportFormatError(folders[0], "is a directory; expected an ARFF file")
    if not files:
        raise ImportFormatError(
            path,
            "no study_<id>_run_evaluations_<measure>.arff or "
            "study_<id>_metafeatures.arff files in this folder",
        )
    return files


class StudyArffImporter(Importer):
    name = SOURCE
    description = "OpenML study exports: run evaluations per flow and task, metafeatures per task"
    expects = "any"

    def read(self, path: Path) -> ImportBatch:
        runs, evaluations, qualities = [], [], []
        for file in _files(path):
            match = RUNS_FILE.match(file.name)
            if match:
                r, e = read_run_evaluations(file, int(match["study"]), match["measure"])
                runs.append(r)
                evaluations.append(e)
            else:
                qualities.append(read_metafeatures(file))
        loads, task_ids = [], set()
        if runs:
            all_runs = pd.concat(runs, ignore_index=True).drop_duplicates("run_key", keep="last")
            flows = all_runs.drop_duplicates("flow_id", keep="last")[["flow_id", "flow_name"]]
            flows = flows.rename(columns={"flow_name": "name"}).assign(source=SOURCE)
            flows["pipeline"] = pd.array(
                [flow_pipeline(int(f), n) for f, n in zip(flows["flow_id"], flows["name"])],
                dtype="string",
            )
            loads += [
                TableLoad("flows", frame_table(flows)),
                TableLoad("runs", frame_table(all_runs.drop(columns="flow_name"))),
                TableLoad(
                    "evaluations",
                    frame_table(pd.concat(evaluations, ignore_index=True)),
                    mode="replace",
                    by=("run_key", "measure"),
                ),
            ]
            task_ids |= set(all_runs["task_id"].tolist())
        if qualities:
            long = pd.concat(qualities, ignore_index=True).drop_duplicates(
                ["task_id", "quality"], keep="last"
            )
            loads.append(TableLoad("task_qualities", frame_table(long)))
            task_ids |= set(long["task_id"].tolist())
        tasks = pd.DataFrame({"task_id": sorted(task_ids), "source": SOURCE})
        loads.insert(0, TableLoad("tasks", frame_table(tasks)))
        return ImportBatch(source=SOURCE, loads=tuple(loads), path=path)
