"""``metabase import openml-sql PATH``: the OpenML server's MySQL dumps into the store.

PATH is a folder of dumps (``openml-server/data/sql/``: one ``<table>.sql`` per table) or a single
``.sql``/``.sql.gz`` file holding any number of tables, such as the nightly database snapshot.
Files are parsed by the streaming :class:`~metabase.imports._sqldump.DumpReader`; tables that are
not mapped (runs, evaluations, ... of a full snapshot) are skipped while streaming.

Mapping (OpenML table -> store table):

- ``dataset`` (+ ``dataset_description``, latest version; ``dataset_status``, latest row; no
  status row means OpenML's ``in_preparation``) -> ``datasets``
- ``task`` + ``task_inputs`` (``source_data`` -> dataset id, ``target_feature`` -> target,
  ``estimation_procedure`` -> procedure id and name, ``evaluation_measures``) + ``task_type`` ->
  ``tasks``; ``task_inputs`` -> ``task_inputs``
- ``quality`` -> ``quality_definitions``; ``estimation_procedure`` -> ``estimation_procedures``;
  ``math_function`` (OpenML's evaluation measures; it also lists a few kernels and distances) ->
  ``evaluation_measures``; ``implementation`` -> ``flows``
- ``data_quality`` (a full snapshot has millions of rows) -> ``dataset_qualities``, streamed in a
  second pass as Arrow batches; only the default evaluation engine (id 1).

Beware the id space: ``openml-server/data/sql`` is the server's development seed, and its ids are
not production ids (seed dataset 2 is kr-vs-kp, production dataset 2 is anneal; 80 of its 131
dataset ids are production ids of other datasets). In a store that also holds production ids
(qualities-csv, sync, LCDB, ...) the later import of an id wins. The nightly snapshot of
openml.org is in the production id space.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from metabase.errors import ImportFormatError
from metabase.formats.numbers import INT64_MAX
from metabase.imports._sqldump import DumpError, DumpReader
from metabase.imports.base import ImportBatch, Importer, TableLoad

SOURCE = "openml-sql"
REQUIRED = {
    "dataset": ("did", "name"),
    "dataset_description": ("did", "version", "description"),
    "dataset_status": ("did", "status", "status_date"),
    "task": ("task_id", "ttid"),
    "task_inputs": ("task_id", "input", "value"),
    "task_type": ("ttid", "name"),
    "estimation_procedure": ("id", "ttid", "name"),
    "quality": ("name",),
    "math_function": ("name",),
    "implementation": ("id", "name"),
}
# Keys of the mapped tables, as in OpenML's schema (openml-server/downloads/openml.sql).
PRIMARY_KEYS = {
    "dataset": ("did",),
    "task": ("task_id",),
    "task_inputs": ("task_id", "input"),
    "task_type": ("ttid",),
    "estimation_procedure": ("id",),
    "quality": ("name",),
    "math_function": ("name",),
    "implementation": ("id",),
}
STREAMED = "data_quality"
DEFAULT_ENGINE = 1
BATCH_ROWS = 50_000


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    found = sorted(
        p for p in path.iterdir() if p.name.endswith((".sql", ".sql.gz")) and p.is_file()
    )
    if not found:
        raise ImportFormatError(path, "no .sql or .sql.gz dump files in this folder")
    return found


def _records(path: Path, table: str, columns: list[str], rows: list[tuple]) -> list[dict]:
    missing = [c for c in REQUIRED.get(table, ()) if c not in columns]
    if missing:
        raise ImportFormatError(path, f"table `{table}` lacks columns {', '.join(missing)}")
    return [dict(zip(columns, row)) for row in rows]


def _int(value, what: str, path: Path) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and not value.is_integer():  # never 3.5 -> 3
        raise ImportFormatError(path, f"{what} is not an integer: {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ImportFormatError(path, f"{what} is not an integer: {value!r}") from None
    if abs(number) > INT64_MAX:
        raise ImportFormatError(path, f"{what} is out of the 64-bit range: {value!r}")
    return number


def _id(value, what: str, path: Path) -> int | None:
    """An OpenML id: NULL stays None; anything but a positive integer below 2^63 is refused."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        number = value
    else:  # a quoted id ('12'), as some dump tools write them
        number = int(value) if isinstance(value, str) and value.strip().isdigit() else None
    if number is None or not 0 < number <= INT64_MAX:  # 3.5 (a float) included: never cut to 3
        raise ImportFormatError(
            path, f"{what} is not an id (a positive integer below 2^63): {value!r}"
        )
    return number


def _float(value, what: str, path: Path) -> float | None:
    """A number, or None for NULL; text that is no number, and inf or nan, are refused."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ImportFormatError(path, f"{what} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise ImportFormatError(path, f"{what} is not finite: {value!r}")
    return number


def _time(value) -> datetime | None:
    if not value or str(value).startswith("0000"):
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _bool(value) -> bool | None:
    if value is None or value == "":
        return None
    return str(value).lower() in ("1", "true")


def _str(value) -> str | None:
    return None if value is None else str(value)


def _table(rows: list[dict], schema: dict[str, pa.DataType], path: Path) -> pa.Table:
    columns = {}
    for column, kind in schema.items():
        try:
            columns[column] = pa.array([r[column] for r in rows], kind)
        except (OverflowError, pa.ArrowInvalid) as exc:  # a 64-bit value for a 32-bit column
            raise ImportFormatError(
                path, f"column {column}: a value does not fit {kind} ({exc})"
            ) from None
    return pa.table(columns)


class _Tables:
    """The mapped tables' rows, gathered from every file of the import."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {t: [] for t in REQUIRED}
        self.streamed_in: list[Path] = []

    def read(self, path: Path) -> None:
        reader = DumpReader(path)
        try:
            for table, columns, rows in reader.batches(REQUIRED):
                self.rows[table].extend(_records(path, table, columns, rows))
        except DumpError as exc:
            raise ImportFormatError(path, str(exc)) from None
        if STREAMED in reader.seen:
            self.streamed_in.append(path)

    def check_keys(self, path: Path) -> None:
        """A primary key twice (one dump, or two files of one import) is refused: which of the two
        rows is right is not ours to guess, and silently keeping the last hides the conflict.
        """
        for table, key in PRIMARY_KEYS.items():
            seen = set()
            for r in self.rows[table]:
                value = tuple(str(r[c]) for c in key)
                if value in seen:
                    shown = ", ".join(f"{c}={v}" for c, v in zip(key, value))
                    raise ImportFormatError(path, f"table `{table}` holds the row {shown} twice")
                seen.add(value)


def _datasets(t: _Tables, path: Path) -> pa.Table:
    descriptions: dict[int, tuple] = {}
    for r in t.rows["dataset_description"]:
        did = _id(r["did"], "dataset_description.did", path)
        key = _int(r["version"], "dataset_description.version", path) or 0
        if did not in descriptions or key >= descriptions[did][0]:
            descriptions[did] = (key, r["description"])
    statuses: dict[int, tuple] = {}
    for r in t.rows["dataset_status"]:
        did = _id(r["did"], "dataset_status.did", path)
        when = str(r["status_date"] or "")
        if did not in statuses or when >= statuses[did][0]:
            statuses[did] = (when, r["status"])
    rows = []
    for r in t.rows["dataset"]:
        did = _id(r["did"], "dataset.did", path)
        rows.append(
            {
                "dataset_id": did,
                "name": _str(r["name"]),
                "version": _int(r.get("version"), "dataset.version", path),
                "status": statuses.get(did, (None, "in_preparation"))[1],
                "format": _str(r.get("format")),
                "default_target": _str(r.get("default_target_attribute")),
                "row_id_attribute": _str(r.get("row_id_attribute")),
                "ignore_attributes": _str(r.get("ignore_attribute")),
                "file_id": _id(r.get("file_id"), "dataset.file_id", path),
                "upload_date": _time(r.get("upload_date")),
                "description": _str(descriptions.get(did, (None, None))[1]),
                "source": SOURCE,
            }
        )
    return _table(
        rows,
        {
            "dataset_id": pa.int64(),
            "name": pa.string(),
            "version": pa.int32(),
            "status": pa.string(),
            "format": pa.string(),
            "default_target": pa.string(),
            "row_id_attribute": pa.string(),
            "ignore_attributes": pa.string(),
            "file_id": pa.int64(),
            "upload_date": pa.timestamp("us"),
            "description": pa.string(),
            "source": pa.string(),
        },
        path,
    )


def _task_inputs(t: _Tables, path: Path) -> tuple[pa.Table, dict[int, dict[str, str]]]:
    rows, by_task = [], {}
    for r in t.rows["task_inputs"]:
        task_id = _id(r["task_id"], "task_inputs.task_id", path)
        value = _str(r["value"])
        rows.append(
            {"task_id": task_id, "input": _str(r["input"]), "value": value, "source": SOURCE}
        )
        by_task.setdefault(task_id, {})[str(r["input"])] = value
    table = _table(
        rows,
        {"task_id": pa.int64(), "input": pa.string(), "value": pa.string(), "source": pa.string()},
        path,
    )
    return table, by_task


def _tasks(t: _Tables, inputs: dict[int, dict[str, str]], path: Path) -> pa.Table:
    type_names = {
        _int(r["ttid"], "task_type.ttid", path): _str(r["name"]) for r in t.rows["task_type"]
    }
    procedures = {
        _int(r["id"], "estimation_procedure.id", path): _str(r["name"])
        for r in t.rows["estimation_procedure"]
    }
    ttids = {
        _id(r["task_id"], "task.task_id", path): _id(r["ttid"], "task.ttid", path)
        for r in t.rows["task"]
    }
    rows = []
    for task_id in sorted(set(ttids) | set(inputs)):
        given = inputs.get(task_id, {})
        ttid = ttids.get(task_id)
        procedure = _int(
            given.get("estimation_procedure"), f"task {task_id} estimation_procedure", path
        )
        rows.append(
            {
                "task_id": task_id,
                "dataset_id": _id(given.get("source_data"), f"task {task_id} source_data", path),
                "task_type": type_names.get(ttid),
                "task_type_id": ttid,
                "target": given.get("target_feature"),
                "estimation_procedure": procedures.get(procedure),
                "estimation_procedure_id": procedure,
                "evaluation_measure": given.get("evaluation_measures") or None,
                "source": SOURCE,
            }
        )
    return _table(
        rows,
        {
            "task_id": pa.int64(),
            "dataset_id": pa.int64(),
            "task_type": pa.string(),
            "task_type_id": pa.int32(),
            "target": pa.string(),
            "estimation_procedure": pa.string(),
            "estimation_procedure_id": pa.int64(),
            "evaluation_measure": pa.string(),
            "source": pa.string(),
        },
        path,
    )


def _definitions(t: _Tables, path: Path) -> dict[str, pa.Table]:
    out = {}
    if t.rows["quality"]:
        out["quality_definitions"] = _table(
            [
                {
                    "quality": _str(r["name"]),
                    "description": _str(r.get("description")),
                    "source": SOURCE,
                }
                for r in t.rows["quality"]
            ],
            {"quality": pa.string(), "description": pa.string(), "source": pa.string()},
            path,
        )
    if t.rows["estimation_procedure"]:
        out["estimation_procedures"] = _table(
            [
                {
                    "estimation_procedure_id": _int(r["id"], "estimation_procedure.id", path),
                    "task_type_id": _int(r["ttid"], "estimation_procedure.ttid", path),
                    "name": _str(r["name"]),
                    "type": _str(r.get("type")),
                    "repeats": _int(r.get("repeats"), "estimation_procedure.repeats", path),
                    "folds": _int(r.get("folds"), "estimation_procedure.folds", path),
                    "percentage": _float(
                        r.get("percentage"), "estimation_procedure.percentage", path
                    ),
                    "stratified": _bool(r.get("stratified_sampling")),
                    "source": SOURCE,
                }
                for r in t.rows["estimation_procedure"]
            ],
            {
                "estimation_procedure_id": pa.int64(),
                "task_type_id": pa.int32(),
                "name": pa.string(),
                "type": pa.string(),
                "repeats": pa.int32(),
                "folds": pa.int32(),
                "percentage": pa.float64(),
                "stratified": pa.bool_(),
                "source": pa.string(),
            },
            path,
        )
    if t.rows["math_function"]:
        out["evaluation_measures"] = _table(
            [
                {
                    "measure": _str(r["name"]),
                    "description": _str(r.get("description")),
                    "higher_is_better": _bool(r.get("higherIsBetter")),
                    "source": SOURCE,
                }
                for r in t.rows["math_function"]
            ],
            {
                "measure": pa.string(),
                "description": pa.string(),
                "higher_is_better": pa.bool_(),
                "source": pa.string(),
            },
            path,
        )
    if t.rows["implementation"]:
        out["flows"] = _table(
            [
                {
                    "flow_id": _id(r["id"], "implementation.id", path),
                    "name": _str(r["name"]),
                    "version": _str(r.get("version")),
                    "external_version": _str(r.get("external_version")),
                    "full_name": _str(r.get("fullName")),
                    "upload_date": _time(r.get("uploadDate")),
                    "source": SOURCE,
                }
                for r in t.rows["implementation"]
            ],
            {
                "flow_id": pa.int64(),
                "name": pa.string(),
                "version": pa.string(),
                "external_version": pa.string(),
                "full_name": pa.string(),
                "upload_date": pa.timestamp("us"),
                "source": pa.string(),
            },
            path,
        )
    return out


def stream_data_quality(files: list[Path]) -> Iterator[pa.RecordBatch]:
    """Second pass: ``data_quality`` rows as ``dataset_qualities`` batches, never all at once."""
    for path in files:
        try:
            for _, columns, rows in DumpReader(path).batches([STREAMED], batch_rows=BATCH_ROWS):
                missing = [c for c in ("data", "quality", "value") if c not in columns]
                if missing:
                    raise ImportFormatError(
                        path, f"table `{STREAMED}` lacks columns {', '.join(missing)}"
                    )
                i_data, i_q, i_v = (
                    columns.index("data"),
                    columns.index("quality"),
                    columns.index("value"),
                )
                i_e = (
                    columns.index("evaluation_engine_id")
                    if "evaluation_engine_id" in columns
                    else None
                )
                keep = [
                    r
                    for r in rows
                    if i_e is None or _int(r[i_e], "evaluation_engine_id", path) == DEFAULT_ENGINE
                ]
                values = [_float(r[i_v], "data_quality.value", path) for r in keep]
                kept = [(r, v) for r, v in zip(keep, values) if v is not None]
                yield pa.RecordBatch.from_pydict(
                    {
                        "dataset_id": pa.array(
                            [_id(r[i_data], "data_quality.data", path) for r, _ in kept],
                            pa.int64(),
                        ),
                        "quality": pa.array([_str(r[i_q]) for r, _ in kept], pa.string()),
                        "value": pa.array([v for _, v in kept], pa.float64()),
                        "source": pa.repeat(SOURCE, len(kept)),
                    }
                )
        except DumpError as exc:
            raise ImportFormatError(path, str(exc)) from None


def build_batch(path: Path) -> ImportBatch:
    tables = _Tables()
    files = _files(path)
    for file in files:
        tables.read(file)
    tables.check_keys(path)
    loads = []
    if tables.rows["dataset"]:
        loads.append(TableLoad("datasets", _datasets(tables, path)))
    for name, table in _definitions(tables, path).items():
        loads.append(TableLoad(name, table))
    inputs, by_task = _task_inputs(tables, path)
    if tables.rows["task"] or tables.rows["task_inputs"]:
        loads.append(TableLoad("tasks", _tasks(tables, by_task, path)))
    if inputs.num_rows:
        loads.append(TableLoad("task_inputs", inputs))
    if tables.streamed_in:
        streamed = list(tables.streamed_in)
        loads.append(
            TableLoad(
                "dataset_qualities",
                lambda: stream_data_quality(streamed),
                mode="replace",
                owner={"source": SOURCE},
            )
        )
    if not loads:
        raise ImportFormatError(
            path, f"no OpenML tables ({', '.join(sorted(REQUIRED))}, {STREAMED}) in this dump"
        )
    return ImportBatch(source=SOURCE, loads=tuple(loads), path=path)


class OpenmlSqlImporter(Importer):
    name = "openml-sql"
    description = "OpenML server MySQL dumps (INSERT INTO ... VALUES), streamed"
    expects = "any"

    def read(self, path: Path) -> ImportBatch:
        return build_batch(Path(path))
