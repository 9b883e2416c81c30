"""The meta-dataset interchange format (DESIGN.md): a directory with two Parquet files.

- ``runs.parquet``: ``task_id`` (int64), ``pipeline`` (string), ``config`` (string, a JSON object
  of hyperparameter name to value), ``score`` (float64, higher is better).
- ``tasks.parquet``: ``task_id`` (int64), ``dataset_id`` (nullable int64), then one float64 column
  per meta-feature, named with OpenML quality names where one exists.

Pure: pandas and pyarrow only. ``read`` validates, so every consumer (import, evaluate) gets the
same clear errors for a malformed directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from metabase.errors import ImportFormatError, InputError, as_import_errors
from metabase.formats.numbers import check_finite, positive_ids

RUNS_FILE = "runs.parquet"
TASKS_FILE = "tasks.parquet"
RUN_COLUMNS = ("task_id", "pipeline", "config", "score")


@dataclass(frozen=True)
class MetaDataset:
    runs: pd.DataFrame  # task_id, pipeline, config (JSON text), score; optional extra columns
    tasks: pd.DataFrame  # task_id, dataset_id, meta-feature columns

    @property
    def meta_features(self) -> list[str]:
        return [c for c in self.tasks.columns if c not in ("task_id", "dataset_id")]

    @property
    def task_ids(self) -> list[int]:
        return sorted(int(t) for t in self.runs["task_id"].unique())

    def configs(self) -> pd.Series:
        """The parsed configurations (dicts), aligned with ``runs``."""
        return pd.Series(
            [json.loads(c) for c in self.runs["config"]], index=self.runs.index, dtype=object
        )


def _typed_runs(runs: pd.DataFrame) -> pd.DataFrame:
    runs = runs.copy()
    runs["task_id"] = runs["task_id"].astype("int64")
    runs["pipeline"] = runs["pipeline"].astype("string")
    runs["config"] = runs["config"].astype("string")
    runs["score"] = runs["score"].astype("float64")
    return runs


def _typed_tasks(tasks: pd.DataFrame) -> pd.DataFrame:
    tasks = tasks.copy()
    tasks["task_id"] = tasks["task_id"].astype("int64")
    if "dataset_id" not in tasks:
        tasks["dataset_id"] = pd.NA
    tasks["dataset_id"] = tasks["dataset_id"].astype("Int64")
    for column in tasks.columns:
        if column not in ("task_id", "dataset_id"):
            tasks[column] = pd.to_numeric(tasks[column], errors="coerce").astype("float64")
    front = ["task_id", "dataset_id"]
    return tasks[front + [c for c in tasks.columns if c not in front]]


def write(meta: MetaDataset, directory: str | Path) -> Path:
    """Write ``runs.parquet`` and ``tasks.parquet`` (each atomically, through a temp file)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in (
        (RUNS_FILE, _typed_runs(meta.runs)),
        (TASKS_FILE, _typed_tasks(meta.tasks)),
    ):
        tmp = directory / (name + ".tmp")
        frame.to_parquet(tmp, index=False)
        tmp.replace(directory / name)
    return directory


def read(directory: str | Path) -> MetaDataset:
    """Read and validate a meta-dataset directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(
            f"{directory}: not a meta-dataset directory (expected {RUNS_FILE} and {TASKS_FILE})"
        )
    frames = {}
    for name in (RUNS_FILE, TASKS_FILE):
        path = directory / name
        if path.is_dir():
            raise ImportFormatError(path, "is a directory; expected a Parquet file")
        if not path.is_file():
            raise ImportFormatError(directory, f"missing {name}")
        try:
            frames[name] = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise ImportFormatError(path, f"unreadable Parquet ({exc})") from exc
    runs, tasks = frames[RUNS_FILE], frames[TASKS_FILE]
    missing = [c for c in RUN_COLUMNS if c not in runs.columns]
    if missing:
        raise ImportFormatError(directory / RUNS_FILE, f"missing columns {missing}")
    if "task_id" not in tasks.columns:
        raise ImportFormatError(directory / TASKS_FILE, "missing column 'task_id'")
    with as_import_errors():
        _check_values(directory, runs, tasks)  # before typing: 3.5 must not become task 3
    try:
        runs = _typed_runs(runs)
        tasks = _typed_tasks(tasks)
    except (TypeError, ValueError) as exc:
        raise ImportFormatError(directory, f"wrong column types ({exc})") from exc
    with as_import_errors():
        _check_finite(directory, runs, tasks)  # after typing: a text "inf" is infinite too
    bad = [i for i, text in enumerate(runs["config"]) if _not_a_json_object(text)]
    if bad:
        row = bad[0]
        raise ImportFormatError(
            directory / RUNS_FILE,
            f"row {row}: config is not a JSON object (NaN and Infinity are not JSON values)",
        )
    if tasks["task_id"].duplicated().any():
        raise ImportFormatError(directory / TASKS_FILE, "duplicate task_id")
    return MetaDataset(runs=runs.reset_index(drop=True), tasks=tasks.reset_index(drop=True))


def _not_json_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def _not_a_json_object(text) -> bool:
    try:
        return not isinstance(json.loads(text, parse_constant=_not_json_constant), dict)
    except (TypeError, ValueError):
        return True


def _row(i: int) -> str:
    return f"row {i}"


def _check_values(directory: Path, runs: pd.DataFrame, tasks: pd.DataFrame) -> None:
    """Ids are positive integers (never 3.5 -> 3), and a meta-feature column holds numbers: text
    would silently become missing.
    """
    runs_path, tasks_path = directory / RUNS_FILE, directory / TASKS_FILE
    positive_ids(runs_path, "task_id", runs["task_id"], _row)
    positive_ids(tasks_path, "task_id", tasks["task_id"], _row)
    if "dataset_id" in tasks:
        known = tasks["dataset_id"].notna().to_numpy()
        positive_ids(
            tasks_path,
            "dataset_id",
            tasks["dataset_id"][known],
            lambda i: _row(int(known.nonzero()[0][i])),
        )
    for column in tasks.columns:
        values = tasks[column]
        if (
            column not in ("task_id", "dataset_id")
            and values.dtype.kind not in "fiub"
            and values.notna().any()
        ):
            raise ImportFormatError(
                tasks_path,
                f"meta-feature column {column!r} holds {values.dtype} values, not numbers",
            )


def _check_finite(directory: Path, runs: pd.DataFrame, tasks: pd.DataFrame) -> None:
    """Scores and meta-features: NaN is missing; inf and -inf are refused."""
    check_finite(directory / RUNS_FILE, "score", runs["score"].to_numpy(dtype="float64"), _row)
    for column in tasks.columns:
        if column not in ("task_id", "dataset_id"):
            check_finite(
                directory / TASKS_FILE, column, tasks[column].to_numpy(dtype="float64"), _row
            )
