"""``metabase import tabrepo-metadata PATH``: TabRepo's task metadata into tasks, datasets,
qualities.

TabRepo (autogluon/tabrepo) ships ``task_metadata*.csv``: one row per OpenML task, a copy of
OpenML's task list (``tid`` task id, ``did`` dataset id, ``name``, ``task_type``,
``estimation_procedure``, ``target_feature``, ...) plus the basic qualities that list carries
(``NumberOfInstances``, ``NumberOfClasses``, ...; columns in OpenML's CamelCase quality names).

PATH is one CSV or a folder searched recursively for ``task_metadata*.csv``. When several files
describe one task the newest snapshot wins. The files carry no dates, so "newest" is: anything
outside ``_history/`` (the current checkout) over anything inside, and among ``_history``
snapshots the one with more tasks (TabRepo's task list only grew: 104, 244, 289 tasks).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa

from metabase.errors import ImportFormatError
from metabase.formats.delimited import read_rows
from metabase.formats.numbers import finite_numbers, positive_ids
from metabase.imports.base import ImportBatch, Importer, TableLoad

SOURCE = "tabrepo"
REQUIRED = ("tid", "did", "name", "task_type", "estimation_procedure", "target_feature")
QUALITY_COLUMN = re.compile(r"^[A-Z][A-Za-z]+$")  # OpenML quality names are CamelCase
# OpenML's task type ids (openml-server/data/sql/task_type.sql).
TASK_TYPE_IDS = {
    "Supervised Classification": 1,
    "Supervised Regression": 2,
    "Learning Curve": 3,
    "Supervised Data Stream Classification": 4,
    "Clustering": 5,
    "Machine Learning Challenge": 6,
    "Survival Analysis": 7,
    "Subgroup Discovery": 8,
    "Multitask Regression": 9,
}


def read_metadata(path: Path) -> list[dict]:
    """Parse and validate one ``task_metadata*.csv`` into task records with their qualities."""
    table = read_rows(
        path
    )  # strict: UTF-8 (a byte-order mark is fine), rectangular, distinct names
    missing = [c for c in REQUIRED if c not in table.header]
    if missing:
        raise ImportFormatError(
            path, f"not a TabRepo task metadata CSV: missing columns {', '.join(missing)}"
        )
    task_ids = positive_ids(path, "tid", table.column("tid"), table.at)
    duplicated = pd.Series(task_ids).duplicated()
    if duplicated.any():  # two rows for one task: which one is right is not ours to guess
        i = int(duplicated.to_numpy().argmax())
        raise ImportFormatError(path, f"{table.at(i)}: task {task_ids[i]} occurs twice")
    dataset_ids = positive_ids(path, "did", table.column("did"), table.at)
    qualities = {
        q: finite_numbers(path, q, table.column(q), table.at)
        for q in table.header
        if QUALITY_COLUMN.match(q)
    }
    index = {name: i for i, name in enumerate(table.header)}

    def text(row: list[str], column: str) -> str | None:
        return row[index[column]] or None if column in index else None

    return [
        {
            "task_id": int(task_ids[i]),
            "dataset_id": int(dataset_ids[i]),
            "name": text(row, "name"),
            "task_type": text(row, "task_type"),
            "status": text(row, "status"),
            "estimation_procedure": text(row, "estimation_procedure"),
            "evaluation_measure": text(row, "evaluation_measures"),
            "target": text(row, "target_feature"),
            "qualities": {q: float(v[i]) for q, v in qualities.items() if not math.isnan(v[i])},
        }
        for i, row in enumerate(table.rows)
    ]


def _age(path: Path, n_tasks: int) -> tuple[int, int]:
    """Sort key: older first, so that later files win."""
    return (0 if "_history" in path.parts else 1, n_tasks)


def _find(path: Path, pattern: str) -> list[Path]:
    if path.is_file():
        return [path]
    found = sorted(p for p in path.rglob(pattern) if p.is_file())
    if not found:
        raise ImportFormatError(path, f"no {pattern} below this folder")
    return found


def build_batch(
    path: Path, source: str = SOURCE, pattern: str = "task_metadata*.csv"
) -> ImportBatch:
    parsed = [(file, read_metadata(file)) for file in _find(path, pattern)]
    parsed.sort(key=lambda item: _age(item[0], len(item[1])))
    tasks: dict[int, dict] = {}
    for _, records in parsed:
        for record in records:
            tasks[record["task_id"]] = record  # newest wins
    rows = list(tasks.values())
    task_table = pa.table(
        {
            "task_id": pa.array([r["task_id"] for r in rows], pa.int64()),
            "dataset_id": pa.array([r["dataset_id"] for r in rows], pa.int64()),
            "task_type": [r["task_type"] for r in rows],
            "task_type_id": pa.array(
                [TASK_TYPE_IDS.get(r["task_type"]) for r in rows], pa.int32()
            ),
            "target": [r["target"] for r in rows],
            "estimation_procedure": [r["estimation_procedure"] for r in rows],
            "evaluation_measure": [r["evaluation_measure"] for r in rows],
            "status": [r["status"] for r in rows],
            "source": [source] * len(rows),
        }
    )
    datasets: dict[int, dict] = {}
    for r in rows:  # a dataset's qualities: from its newest task row
        datasets[r["dataset_id"]] = r
    dataset_table = pa.table(
        {
            "dataset_id": pa.array(list(datasets), pa.int64()),
            "name": [r["name"] for r in datasets.values()],
            "source": [source] * len(datasets),
        }
    )
    quality_rows = [(did, q, v) for did, r in datasets.items() for q, v in r["qualities"].items()]
    quality_table = pa.table(
        {
            "dataset_id": pa.array([d for d, _, _ in quality_rows], pa.int64()),
            "quality": pa.array([q for _, q, _ in quality_rows], pa.string()),
            "value": pa.array([v for _, _, v in quality_rows], pa.float64()),
            "source": pa.array([source] * len(quality_rows), pa.string()),
        }
    )
    return ImportBatch(
        source=source,
        loads=(
            TableLoad("datasets", dataset_table),
            TableLoad("tasks", task_table),
            TableLoad("dataset_qualities", quality_table),
        ),
        path=path,
    )


class TabrepoMetadataImporter(Importer):
    name = "tabrepo-metadata"
    description = (
        "TabRepo task_metadata*.csv: task -> dataset, task type, procedure, target, qualities"
    )
    expects = "any"

    def read(self, path: Path) -> ImportBatch:
        return build_batch(Path(path))
