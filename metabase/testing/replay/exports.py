"""Readers for the real exports in the OpenML data directory (no XML here, only records).

Every function takes the data directory and returns plain records; the catalog assembles them.
"""

from __future__ import annotations

import csv
import glob
import json
import re
from pathlib import Path

PIMP_ARFF = "openml-pimp/KDD2018/data/arff/random_forest.arff"
PIMP_TASK_QUALITIES = "openml-pimp/KDD2018/data/task_qualities.json"
STUDY_DIR = "openml-aslib/openmlmetadata/output"
QUALITIES_CSV = "qualities/openml_dataset_qualities_2872.csv"
SUPPLEMENT_CSV = "extra/tasks_supplement.csv"
SQL_DIR = "openml-server/data/sql"


def read_arff_rows(path: Path) -> tuple[list[str], list[list[str]], list[str]]:
    """(attribute names, data rows as string lists, header comment lines) of a dense ARFF file.

    The exports here are simple: comma-separated, no quoted commas, no sparse rows.
    """
    names: list[str] = []
    comments: list[str] = []
    rows: list[list[str]] = []
    in_data = False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            if in_data:
                if not line.startswith("%"):
                    rows.append([v.strip().strip("'\"") for v in line.split(",")])
                continue
            if line.startswith("%"):
                comments.append(line.lstrip("% "))
                continue
            head = line.split(None, 2)
            if head[0].upper() == "@ATTRIBUTE":
                names.append(head[1].strip("'\""))
            elif head[0].upper() == "@DATA":
                in_data = True
    return names, rows, comments


def pimp_runs(data_dir: Path) -> tuple[int, list[str], list[dict]]:
    """(flow id, parameter names, rows) of the openml-pimp random-forest export, in file order.

    Each row has the parameter values (strings as written), ``predictive_accuracy`` and
    ``task_id``.
    """
    path = data_dir / PIMP_ARFF
    names, rows, comments = read_arff_rows(path)
    meta = json.loads(comments[0]) if comments and comments[0].startswith("{") else {}
    params = meta.get("col_parameters") or [n for n in names if "__" in n]
    flow_id = int(meta.get("flow_id", 6969))
    records = [dict(zip(names, r)) for r in rows]
    return flow_id, params, records


def pimp_task_qualities(data_dir: Path) -> dict[int, dict[str, float]]:
    path = data_dir / PIMP_TASK_QUALITIES
    if not path.exists():
        return {}
    return {int(k): v for k, v in json.loads(path.read_text()).items()}


_STUDY_FILE = re.compile(r"study_(\d+)_run_evaluations_(\w+)\.arff$")


def study_evaluations(data_dir: Path) -> list[tuple[int, str, list[dict]]]:
    """[(study id, measure, rows)] from the per-study evaluation exports.

    Rows carry ``task_id`` (the files' ``openml_data_id`` column holds task ids, see the data
    README), ``repetition``, ``flow_id``, ``flow_name``, ``value`` and ``status``.
    """
    out = []
    for path in sorted((data_dir / STUDY_DIR).glob("study_*_run_evaluations_*.arff")):
        m = _STUDY_FILE.search(path.name)
        if not m:
            continue
        names, rows, _ = read_arff_rows(path)
        recs = []
        for r in rows:
            flow_id, _, flow_name = r[2].partition("_")
            recs.append(
                {
                    "task_id": int(r[0]),
                    "repetition": int(float(r[1])),
                    "flow_id": int(flow_id),
                    "flow_name": flow_name,
                    "value": None if r[3] in ("?", "") else float(r[3]),
                    "status": r[4] if len(r) > 4 else "ok",
                }
            )
        out.append((int(m.group(1)), m.group(2), recs))
    return out


def dataset_qualities(data_dir: Path) -> tuple[list[str], dict[int, dict]]:
    """(quality names, {dataset id: {"name":, "qualities": {name: float}}}) from the 2019
    export.
    """
    path = data_dir / QUALITIES_CSV
    if not path.exists():
        return [], {}
    out: dict[int, dict] = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        qnames = [c for c in reader.fieldnames if c not in ("Id", "Name", "Runs")]
        for r in reader:
            q = {}
            for k in qnames:
                v = r[k]
                if v not in ("", None):
                    try:
                        q[k] = float(v)
                    except ValueError:
                        pass
            # The export writes names as "credit-g (1)": the number is the dataset version.
            m = re.match(r"^(.*) \((\d+)\)$", r["Name"])
            name, version = (m.group(1), int(m.group(2))) if m else (r["Name"], 1)
            out[int(r["Id"])] = {"name": name, "version": version, "qualities": q}
    return qnames, out


def tabrepo_tasks(data_dir: Path) -> dict[int, dict]:
    """{task id: row} from TabRepo's task metadata; newer snapshots override older ones."""
    out: dict[int, dict] = {}
    files = sorted(
        glob.glob(str(data_dir / "tabrepo" / "**" / "task_metadata*.csv"), recursive=True)
    )
    for f in files:
        with open(f, newline="") as fh:
            for r in csv.DictReader(fh):
                out[int(r["tid"])] = r
    return out


def supplement_tasks(data_dir: Path) -> dict[int, dict]:
    path = data_dir / SUPPLEMENT_CSV
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        return {int(r["tid"]): r for r in csv.DictReader(fh)}


def raw_datasets(data_dir: Path) -> dict[int, dict]:
    """{dataset id: {"name", "path", "format", "target"}} for the raw files in datasets/ and pmlb/.

    datasets/<name>/README.md names the OpenML page (``openml.org/d/<id>``); pmlb folders start
    with the OpenML dataset id. pmlb files are gzip TSV with the target in column ``target``.
    """
    out: dict[int, dict] = {}
    pmlb = data_dir / "pmlb" / "datasets"
    if pmlb.is_dir():
        for d in sorted(pmlb.iterdir()):
            m = re.match(r"^(\d+)_(.+)$", d.name)
            files = list(d.glob("*.tsv.gz"))
            if m and files:
                out[int(m.group(1))] = {
                    "name": m.group(2),
                    "path": files[0],
                    "format": "pmlb",
                    "target": "target",
                }
    root = data_dir / "datasets"
    if root.is_dir():
        for d in sorted(root.iterdir()):
            arff = d / f"{d.name}.arff"
            readme = d / "README.md"
            if not (arff.exists() and readme.exists()):
                continue
            m = re.search(r"openml\.org/d/(\d+)", readme.read_text(errors="replace"))
            if not m:
                continue
            target = None
            fj = d / "features.json"
            if fj.exists():
                feats = json.loads(fj.read_text())
                target = next((k for k, v in feats.items() if v == "target"), None)
            out[int(m.group(1))] = {
                "name": d.name,
                "path": arff,
                "format": "arff",
                "target": target,
            }
    return out


BENCHMARK_SUITES = "tabular-benchmark/src/benchmark_suites_numerical_benchmark.csv"


def benchmark_suites(data_dir: Path) -> list[dict]:
    """[{task_id, dataset_name, suite}] from tabular-benchmark's suite table (Grinsztajn et
    al.).
    """
    path = data_dir / BENCHMARK_SUITES
    if not path.exists():
        return []
    out = []
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            if r.get("task_id"):
                out.append(
                    {
                        "task_id": int(float(r["task_id"])),
                        "dataset_name": r["dataset_name"],
                        "suite": r["suite_name"],
                    }
                )
    return out
