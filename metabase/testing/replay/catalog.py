"""The replay server's in-memory catalog, built once per data directory from the real exports.

Ids are production OpenML ids. Sources and their precedence (first wins for an id):

* tasks: TabRepo task metadata, ``extra/tasks_supplement.csv`` (its tasks override), the suite
  table of tabular-benchmark (task id + dataset name, matched to the lowest production dataset id
  of that name), then the OpenML100 tasks of ``openml-pimp/.../task_qualities.json`` whose dataset
  is found by matching 5 qualities (instances, features, classes, missing values, numeric
  features) against the dataset qualities export (lowest id among equal matches), then the seed
  SQL. Recorded task XML in ``openml-python/`` is served as recorded and overrides all of these.
* datasets: the qualities export (names, versions, qualities), the raw files in ``datasets/`` and
  ``pmlb/``, TabRepo, then the seed SQL.
* the seed SQL (``openml-server/data/sql``) is the TEST server's database: its dataset and task
  ids are not production ids. Its rows are served only under ids no production source uses; its
  descriptions and default targets are attached to production datasets of the same name and
  version. Its estimation procedures, measures and quality names are used as they are.

A task whose dataset no export names (5 OpenML100 tasks) gets a placeholder dataset
``1_000_000 + task id`` called ``unknown-dataset-of-task-<id>``, with the task's qualities.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import exports, ids
from .sqldump import read_table

TASK_TYPES = {1: "Supervised Classification", 2: "Supervised Regression"}
PLACEHOLDER_DATASET = 1_000_000


@dataclass
class Task:
    task_id: int
    data_id: int
    target: str
    ttid: int = 1
    estimation_procedure_id: int = 1
    status: str = "active"
    tags: tuple = ()
    source: str = ""


@dataclass
class Dataset:
    data_id: int
    name: str
    version: int = 1
    target: str | None = None
    status: str = "active"
    upload_date: str = "2014-04-06 23:19:24"
    description: str = ""
    raw: dict | None = None  # {"path", "format", "target"} where a data file exists
    qualities: dict = field(default_factory=dict)
    tags: tuple = ()
    source: str = ""

    @property
    def file_id(self) -> int:
        return self.data_id


@dataclass
class Flow:
    flow_id: int
    name: str
    version: int = 1
    external_version: str = ""
    description: str = ""
    upload_date: str = "2017-03-24 14:26:38"
    uploader: int = 1
    parameters: tuple = ()  # (name, data_type, default_value JSON string)
    tags: tuple = ()
    language: str = "English"
    dependencies: str = ""
    xml: str = ""  # an uploaded flow is served as uploaded, plus the server's fields


class RunTable:
    """Runs as parallel numpy columns sorted by run id, with one evaluation per (run, measure).

    Column arrays make list filtering a few vectorised comparisons, even for 100k runs.
    """

    def __init__(self, run_id, task_id, flow_id, setup_id, upload_time, data_id, evals):
        order = np.argsort(run_id, kind="stable")
        self.run_id = np.asarray(run_id, dtype=np.int64)[order]
        self.task_id = np.asarray(task_id, dtype=np.int64)[order]
        self.flow_id = np.asarray(flow_id, dtype=np.int64)[order]
        self.setup_id = np.asarray(setup_id, dtype=np.int64)[order]
        self.upload_time = np.asarray(upload_time, dtype=np.int64)[order]
        self.data_id = np.asarray(data_id, dtype=np.int64)[order]
        self.uploader = np.ones(len(self.run_id), dtype=np.int64)
        # evals: {measure: float array aligned with the unsorted input (NaN = no value)}
        self.evals = {m: np.asarray(v, dtype=np.float64)[order] for m, v in evals.items()}

    def __len__(self):
        return len(self.run_id)

    def index_of(self, run_id: int) -> int | None:
        i = int(np.searchsorted(self.run_id, run_id))
        return i if i < len(self.run_id) and self.run_id[i] == run_id else None


class Catalog:
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.tasks: dict[int, Task] = {}
        self.datasets: dict[int, Dataset] = {}
        self.flows: dict[int, Flow] = {}
        self.studies: dict[int, dict] = {}
        self.pimp_params: list[str] = []
        self.pimp_values: list[list[str]] = []  # per pimp row, parameter values as exported
        self.quality_names: list[str] = []
        self.cc18_tasks: set[int] = set()
        self.openml100_tasks: set[int] = set()
        self._load()

    # ---------------------------------------------------------------- loading
    def _load(self) -> None:
        d = self.data_dir
        qnames, dq = exports.dataset_qualities(d)
        self.quality_names = qnames
        for did, rec in dq.items():
            self.datasets[did] = Dataset(
                did,
                rec["name"],
                rec["version"],
                qualities=rec["qualities"],
                source="qualities-export",
            )
        self._load_seed_datasets()
        for did, raw in exports.raw_datasets(d).items():
            ds = self.datasets.get(did) or Dataset(did, raw["name"], source="raw-file")
            ds.raw = raw
            ds.target = ds.target or raw["target"]
            self.datasets[did] = ds
        self._load_tasks(dq)
        self._load_runs()
        for task in self.tasks.values():
            raw = self.datasets[task.data_id].raw
            if raw and raw["format"] == "pmlb":  # PMLB renamed every target column to "target"
                task.target = raw["target"]
                self.datasets[task.data_id].target = raw["target"]
        for tid in self.openml100_tasks:  # suite tags, as on openml.org
            self.tasks[tid].tags = tuple(self.tasks[tid].tags) + ("OpenML100", "study_14")
        for tid in self.cc18_tasks:
            self.tasks[tid].tags = tuple(self.tasks[tid].tags) + ("OpenML-CC18", "study_99")

    def _load_seed_datasets(self) -> None:
        sql = self.data_dir / exports.SQL_DIR
        if not (sql / "dataset.sql").exists():
            return
        descr = {r["did"]: r["description"] for r in read_table(sql / "dataset_description.sql")}
        for r in read_table(sql / "dataset.sql"):
            did = r["did"]
            same_name = [
                d
                for d in self.datasets.values()
                if d.name == r["name"] and d.version == int(r["version"])
            ]
            for ds in same_name:  # the seed's description of a production dataset, matched by name
                ds.target = ds.target or r["default_target_attribute"]
                ds.description = ds.description or descr.get(did) or ""
            if did in self.datasets:
                continue
            self.datasets[did] = Dataset(
                did,
                r["name"],
                int(r["version"]),
                r["default_target_attribute"],
                upload_date=str(r["upload_date"]),
                description=descr.get(did) or "",
                source="seed-sql",
            )

    def _add_task(self, task: Task) -> None:
        if task.task_id not in self.tasks:
            self.tasks[task.task_id] = task
            if task.data_id not in self.datasets:
                self.datasets[task.data_id] = Dataset(
                    task.data_id,
                    f"unknown-dataset-of-task-{task.task_id}",
                    target=task.target,
                    source="placeholder",
                )
            ds = self.datasets[task.data_id]
            ds.target = ds.target or task.target

    def _load_tasks(self, dq: dict) -> None:
        d = self.data_dir
        for tid, r in exports.tabrepo_tasks(d).items():
            did = int(r["did"])
            if did not in self.datasets:
                self.datasets[did] = Dataset(
                    did, r["name"], target=r["target_feature"], source="tabrepo"
                )
            ttid = 2 if "Regression" in r.get("task_type", "") else 1
            self._add_task(
                Task(
                    tid,
                    did,
                    r["target_feature"],
                    ttid,
                    _procedure_id(r["estimation_procedure"]),
                    source="tabrepo",
                )
            )
        for tid, r in exports.supplement_tasks(d).items():
            self.tasks.pop(tid, None)  # the supplement is the curated fact for its tasks
            self._add_task(
                Task(
                    tid,
                    int(r["did"]),
                    r["target_feature"],
                    1,
                    _procedure_id(r["estimation_procedure"]),
                    source="supplement",
                )
            )
        self._load_benchmark_suites()
        pimp_q = exports.pimp_task_qualities(d)
        self.openml100_tasks = set(pimp_q)
        for tid, did in _match_tasks_by_qualities(pimp_q, dq).items():
            target = self.datasets[did].target if did in self.datasets else None
            self._add_task(Task(tid, did, target or "class", source="pimp-quality-match"))
        self._load_seed_tasks()

    def _load_benchmark_suites(self) -> None:
        """Tasks of tabular-benchmark's suite table; its dataset names are matched to dataset
        ids.
        """
        by_name: dict[str, int] = {}
        for did in sorted(self.datasets, reverse=True):
            if self.datasets[did].source != "seed-sql":  # seed ids are the test server's
                by_name[self.datasets[did].name] = did  # lowest id wins for a repeated name
        for r in exports.benchmark_suites(self.data_dir):
            tid = r["task_id"]
            if "CC18" in r["suite"] and "New" not in r["suite"]:
                self.cc18_tasks.add(tid)
            did = by_name.get(r["dataset_name"])
            if did is not None:
                self._add_task(
                    Task(
                        tid, did, self.datasets[did].target or "class", source="tabular-benchmark"
                    )
                )
        self.cc18_tasks.update(t for t, task in self.tasks.items() if task.source == "supplement")

    def _load_seed_tasks(self) -> None:
        sql = self.data_dir / exports.SQL_DIR
        if not (sql / "task.sql").exists():
            return
        inputs: dict[int, dict] = {}
        for r in read_table(sql / "task_inputs.sql"):
            inputs.setdefault(r["task_id"], {})[r["input"]] = r["value"]
        for r in read_table(sql / "task.sql"):
            inp = inputs.get(r["task_id"], {})
            if "source_data" not in inp:
                continue
            self._add_task(
                Task(
                    r["task_id"],
                    int(inp["source_data"]),
                    inp.get("target_feature") or "class",
                    r["ttid"],
                    int(inp.get("estimation_procedure") or 1),
                    source="seed-sql",
                )
            )

    def _load_runs(self) -> None:
        d = self.data_dir
        run_id, task_id, flow_id, setup_id, t_up, acc = [], [], [], [], [], []
        evals: dict[str, list] = {"predictive_accuracy": acc}
        if (d / exports.PIMP_ARFF).exists():
            fid, params, rows = exports.pimp_runs(d)
            self.pimp_params = params
            self.flows[fid] = pimp_flow(fid, params)
            for i, r in enumerate(rows):
                run_id.append(ids.PIMP_RUN + i)
                setup_id.append(ids.PIMP_SETUP + i)
                task_id.append(int(float(r["task_id"])))
                flow_id.append(fid)
                t_up.append(ids.PIMP_TIME + i * 60)
                acc.append(float(r["predictive_accuracy"]))
                self.pimp_values.append([r[p] for p in params])
        study_runs: dict[tuple, int] = {}
        extra: list[tuple[int, str, float]] = []  # (row index, measure, value)
        for study, measure, rows in exports.study_evaluations(d):
            for r in rows:
                key = (r["task_id"], r["flow_id"], r["repetition"])
                if key not in study_runs:
                    study_runs[key] = -1
                if r["value"] is not None:
                    extra.append((key, measure, r["value"]))
                self.flows.setdefault(
                    r["flow_id"],
                    Flow(
                        r["flow_id"],
                        r["flow_name"],
                        upload_date="2016-01-01 00:00:00",
                        description=f"Flow {r['flow_name']} as named in the study exports.",
                    ),
                )
                st = self.studies.setdefault(study, {"tasks": set(), "runs": set()})
                st["tasks"].add(r["task_id"])
                st["runs"].add(key)
        base = len(run_id)
        for j, key in enumerate(sorted(study_runs)):
            study_runs[key] = base + j
            run_id.append(ids.STUDY_RUN + j)
            task_id.append(key[0])
            flow_id.append(key[1])
            setup_id.append(ids.STUDY_SETUP + key[1])
            t_up.append(ids.STUDY_TIME + j * 60)
            acc.append(np.nan)
        n = len(run_id)
        for key, measure, value in extra:
            if measure not in evals:
                evals[measure] = [np.nan] * n
            evals[measure][study_runs[key]] = value
        for st in self.studies.values():
            st["runs"] = {ids.STUDY_RUN + study_runs[k] - base for k in st["runs"]}
        task_q = exports.pimp_task_qualities(d)
        for tid in set(task_id) | set(task_q):
            if tid not in self.tasks:
                self._add_task(Task(tid, PLACEHOLDER_DATASET + tid, "class", source="run-export"))
            ds = self.datasets[self.tasks[tid].data_id]
            if ds.source == "placeholder" and tid in task_q:
                ds.qualities = {
                    k: float(v) for k, v in task_q[tid].items() if v is not None and v == v
                }
        data_id = [self.tasks[t].data_id for t in task_id]
        self.runs = RunTable(run_id, task_id, flow_id, setup_id, t_up, data_id, evals)
        self.pimp_tasks = sorted(set(task_id[:base]))


def _procedure_id(name: str) -> int:
    """Production estimation procedure ids of the procedures the exports name."""
    name = (name or "").lower()
    if "10 times 10" in name:
        return 3
    if "5 times 2" in name:
        return 2
    if "33%" in name or "holdout" in name:
        return 6
    return 1


_FINGERPRINT = (
    "NumberOfInstances",
    "NumberOfFeatures",
    "NumberOfClasses",
    "NumberOfMissingValues",
    "NumberOfNumericFeatures",
)


def _match_tasks_by_qualities(
    task_q: dict[int, dict], dataset_q: dict[int, dict]
) -> dict[int, int]:
    index: dict[tuple, list[int]] = {}
    for did, rec in dataset_q.items():
        q = rec["qualities"]
        if all(k in q for k in _FINGERPRINT):
            index.setdefault(tuple(q[k] for k in _FINGERPRINT), []).append(did)
    out = {}
    for tid, q in task_q.items():
        try:
            fp = tuple(float(q[k]) for k in _FINGERPRINT)
        except (KeyError, TypeError, ValueError):
            continue
        if fp in index:
            out[tid] = min(index[fp])
    return out


# sklearn defaults of the random forest pipeline's parameters, JSON-encoded as sklearn flows are.
_PIMP_DEFAULTS = {
    "bootstrap": "true",
    "criterion": '"gini"',
    "max_depth": "null",
    "max_features": '"auto"',
    "max_leaf_nodes": "null",
    "min_samples_leaf": "1",
    "min_samples_split": "2",
    "min_weight_fraction_leaf": "0.0",
    "n_estimators": "10",
    "strategy": '"mean"',
}


def pimp_flow(flow_id: int, params: list[str]) -> Flow:
    return Flow(
        flow_id,
        "sklearn.pipeline.Pipeline(columntransformer=sklearn.compose.ColumnTransformer,"
        "randomforestclassifier=sklearn.ensemble.RandomForestClassifier)",
        external_version="openml-pimp-export",
        description="Imputation + random forest pipeline of the openml-pimp KDD2018 export "
        "(reconstructed by the replay server: parameters named as the export's columns).",
        upload_date="2017-11-01 00:00:00",
        parameters=tuple(
            (p, "option", _PIMP_DEFAULTS.get(p.rsplit("__", 1)[-1], "null")) for p in params
        ),
        tags=("openml-pimp", "OpenML100"),
        dependencies="sklearn>=0.19",
    )


def json_value(raw: str) -> str:
    """An exported parameter value as OpenML's sklearn flows store it: JSON text."""
    if raw in ("True", "False"):
        return raw.lower()
    if raw in ("None", "?"):
        return "null"
    try:
        float(raw)
        return raw
    except ValueError:
        return json.dumps(raw)


@lru_cache(maxsize=4)
def load_catalog(data_dir: str) -> Catalog:
    """One parsed catalog per data directory per process (tests start many servers), kept on
    disk between processes (see ``diskcache``).
    """
    from .diskcache import load_or_build

    return load_or_build(Path(data_dir), lambda: Catalog(Path(data_dir)))
