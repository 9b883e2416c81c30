"""``metabase import lcdb PATH``: the Learning Curve Database (LCDB 0.1) into ``learning_curves``.

PATH is the ``lcdb/lcdb/`` folder (all four ``database-<metric>.csv.gz`` files, plus
``datasets.csv``) or one of those files. ``openmlid`` is an OpenML **dataset** id.

The curve files are large (6.2M rows together), so they are streamed: pyarrow's incremental CSV
reader yields record batches of a few MB, each is reshaped to the store's columns and appended.
Parsing memory stays bounded by the block size, not by the file (DuckDB itself holds the
uncommitted rows of the one transaction until it commits: about 1 GB for all of LCDB). Because a
stream can only be validated while it is written, any parse error (a truncated gzip, a short row, a
non-number) is raised as :class:`ImportFormatError` from inside the stream; the import's single
transaction then rolls back.

Measure names: LCDB's ``accuracy`` is OpenML's ``predictive_accuracy``. Its ``auc`` is computed
for binary datasets only (every AUC dataset that ``datasets.csv`` describes has 2 classes), where
it is the plain ROC AUC, OpenML's ``area_under_roc_curve``. ``logloss`` and ``f1`` have no OpenML
measure known to match (OpenML's ``f_measure`` is a class-weighted mean) and keep LCDB-derived
names, ``log_loss`` and ``f1``. Row counts: 1,953,371 each for accuracy and logloss, 1,151,985
each for auc and f1 (6,210,712 together).
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from metabase.errors import ImportFormatError
from metabase.formats.delimited import check_header
from metabase.formats.numbers import check_finite, positive_ids
from metabase.imports.base import ImportBatch, Importer, TableLoad

SOURCE = "lcdb"
MEASURES = {
    "accuracy": "predictive_accuracy",
    "auc": "area_under_roc_curve",
    "logloss": "log_loss",
    "f1": "f1",
}
CURVE_COLUMNS: dict[str, pa.DataType] = {
    "openmlid": pa.int64(),
    "learner": pa.string(),
    "size_train": pa.int64(),
    "size_test": pa.int64(),
    "outer_seed": pa.int32(),
    "inner_seed": pa.int32(),
    "traintime": pa.float64(),
    "score_train": pa.float64(),
    "score_valid": pa.float64(),
    "score_test": pa.float64(),
}
REQUIRED = ("openmlid", "learner", "size_train")  # a curve point without these is meaningless
SCORES = (
    "traintime",
    "score_train",
    "score_valid",
    "score_test",
)  # empty is missing; inf/NaN refused
CURVE_FILE = re.compile(r"^database-(?P<metric>[a-z0-9]+)\.csv(\.gz)?$")
QUALITIES_FILE = "datasets.csv"
BLOCK_SIZE = 8 << 20  # bytes of (uncompressed) CSV per record batch

# What pyarrow, gzip and zlib raise on malformed or truncated input.
_PARSE_ERRORS = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    EOFError,
    OSError,
    zlib.error,
    UnicodeDecodeError,
)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _open(path: Path) -> pacsv.CSVStreamingReader:
    # Only an empty cell is missing: pyarrow's default would also read "NaN", "NA", "null", ...
    # as missing, hiding values that are wrong rather than absent.
    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE),
        convert_options=pacsv.ConvertOptions(
            column_types=CURVE_COLUMNS, strings_can_be_null=False, null_values=[""]
        ),
    )


def _check_header(path: Path) -> None:
    """Fail before anything is written when the file is not an LCDB curve file, or holds no rows
    (the import replaces all curves of the measure: an empty file would delete them).
    """
    if path.is_dir():
        raise ImportFormatError(path, "is a directory; expected an LCDB curve file")
    try:
        reader = _open(path)
    except _PARSE_ERRORS as exc:
        raise ImportFormatError(path, f"not a readable LCDB curve CSV: {_one_line(exc)}") from None
    try:
        names = reader.schema.names
        if names != list(CURVE_COLUMNS):
            raise ImportFormatError(
                path,
                f"unexpected header {','.join(names)[:200]}; expected {','.join(CURVE_COLUMNS)}",
            )
        has_rows = any(batch.num_rows for batch in reader)  # stops at the first non-empty batch
    except _PARSE_ERRORS as exc:
        raise ImportFormatError(path, f"not a readable LCDB curve CSV: {_one_line(exc)}") from None
    finally:
        reader.close()
    if not has_rows:
        raise ImportFormatError(path, "no data rows")


def _line(first_row: int, mask: pa.Array) -> int:
    """The file line of the first row where ``mask`` holds (rows follow the header, 1-based)."""
    return first_row + pc.index(mask, True).as_py() + 2


def _check_values(batch: pa.RecordBatch, path: Path, first_row: int) -> None:
    for name in REQUIRED:
        column = batch.column(name)
        if column.null_count:
            raise ImportFormatError(
                path, f"line {_line(first_row, pc.is_null(column))}: empty {name}"
            )
    ids = batch.column("openmlid")
    bad = pc.less_equal(ids, 0)
    if pc.any(bad).as_py():
        value = ids[pc.index(bad, True).as_py()].as_py()
        raise ImportFormatError(
            path, f"line {_line(first_row, bad)}: openmlid {value} is not a dataset id"
        )
    for name in SCORES:
        column = batch.column(name)
        bad = pc.invert(pc.is_finite(column)).fill_null(False)
        if pc.any(bad).as_py():
            value = column[pc.index(bad, True).as_py()].as_py()
            raise ImportFormatError(
                path, f"line {_line(first_row, bad)}: {name} is not finite: {value}"
            )


def _reshape(batch: pa.RecordBatch, measure: str, path: Path, first_row: int) -> pa.RecordBatch:
    _check_values(batch, path, first_row)
    n = batch.num_rows
    return pa.RecordBatch.from_arrays(
        [
            batch.column("openmlid"),
            batch.column("learner"),
            batch.column("size_train"),
            batch.column("size_test"),
            batch.column("outer_seed"),
            batch.column("inner_seed"),
            pa.repeat(measure, n),
            batch.column("score_train"),
            batch.column("score_valid"),
            batch.column("score_test"),
            batch.column("traintime"),
            pa.repeat(SOURCE, n),
        ],
        names=[
            "dataset_id",
            "learner",
            "size_train",
            "size_test",
            "outer_seed",
            "inner_seed",
            "measure",
            "score_train",
            "score_valid",
            "score_test",
            "traintime",
            "source",
        ],
    )


def stream_curves(path: Path, measure: str) -> Iterator[pa.RecordBatch]:
    """Yield ``learning_curves`` batches from one LCDB file; malformed input raises mid-stream."""
    seen = 0
    try:
        reader = _open(path)
        for batch in reader:
            yield _reshape(batch, measure, path, seen)
            seen += batch.num_rows
    except _PARSE_ERRORS as exc:
        raise ImportFormatError(path, f"malformed after {seen:,} rows: {_one_line(exc)}") from None
    if not seen:  # checked before the import too; a file emptied since must not delete the curves
        raise ImportFormatError(path, "no data rows")


def read_qualities(path: Path) -> pa.Table:
    """``datasets.csv``: one row per dataset, one column per OpenML quality -> long form."""
    if path.is_dir():
        raise ImportFormatError(path, "is a directory; expected LCDB's datasets.csv")
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(null_values=[""]))
    except _PARSE_ERRORS as exc:
        raise ImportFormatError(path, f"not a readable CSV: {_one_line(exc)}") from None
    names = table.column_names
    check_header(path, names)
    if names[:2] != ["openmlid", "Name"]:
        raise ImportFormatError(
            path, f"expected the header to start with openmlid,Name, got {','.join(names[:2])}"
        )
    if not table.num_rows:
        raise ImportFormatError(path, "no data rows")
    ids = table.column("openmlid")
    if not pa.types.is_integer(ids.type) or ids.null_count:
        raise ImportFormatError(path, "column openmlid must hold integer dataset ids")
    ids = pa.array(positive_ids(path, "openmlid", ids.to_numpy(), _csv_line), pa.int64())
    if len(pc.unique(ids)) != len(ids):
        raise ImportFormatError(path, "a dataset id occurs in two rows")
    parts = []
    for quality in names[2:]:
        values = table.column(quality)
        if not (
            pa.types.is_integer(values.type)
            or pa.types.is_floating(values.type)
            or pa.types.is_null(values.type)
        ):
            raise ImportFormatError(path, f"quality column {quality} is not numeric")
        values = values.cast(pa.float64())
        check_finite(path, quality, values.to_numpy(zero_copy_only=False), _csv_line)
        part = pa.table(
            {
                "dataset_id": ids,
                "quality": pa.repeat(quality, table.num_rows),
                "value": values,
            }
        )
        parts.append(part.filter(pc.is_valid(part.column("value"))))
    long = (
        pa.concat_tables(parts)
        if parts
        else pa.table({"dataset_id": [], "quality": [], "value": []})
    )
    return long.append_column("source", pa.repeat(SOURCE, long.num_rows))


def _csv_line(i: int) -> str:
    return f"line {i + 2}"


def _curve_load(path: Path, metric: str) -> TableLoad:
    try:
        measure = MEASURES[metric]
    except KeyError:
        raise ImportFormatError(
            path, f"unknown LCDB metric {metric!r}; known: {', '.join(MEASURES)}"
        ) from None
    _check_header(path)
    return TableLoad(
        "learning_curves",
        lambda: stream_curves(path, measure),
        mode="replace",
        owner={"source": SOURCE, "measure": measure},
        unique=("dataset_id", "learner", "size_train", "size_test", "outer_seed", "inner_seed"),
    )


class LcdbImporter(Importer):
    name = "lcdb"
    description = "LCDB 0.1 learning curves (database-*.csv.gz) and datasets.csv qualities"
    expects = "any"

    def read(self, path: Path) -> ImportBatch:
        path = Path(path)
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        loads, metrics = [], {}
        for file in files:
            match = CURVE_FILE.match(file.name)
            if match:
                # each file replaces all curves of its measure: two files of one metric would
                # leave only the second one's rows
                if match["metric"] in metrics:
                    raise ImportFormatError(
                        path,
                        f"{metrics[match['metric']]} and {file.name} both hold the "
                        f"{match['metric']} curves; keep one of them",
                    )
                metrics[match["metric"]] = file.name
                loads.append(_curve_load(file, match["metric"]))
            elif file.name == QUALITIES_FILE:
                loads.append(TableLoad("dataset_qualities", read_qualities(file), mode="upsert"))
            elif not path.is_dir():
                raise ImportFormatError(
                    file, "not an LCDB file; expected database-<metric>.csv.gz or datasets.csv"
                )
        if not loads:
            raise ImportFormatError(
                path, "no LCDB files (database-<metric>.csv.gz, datasets.csv) in this folder"
            )
        return ImportBatch(source=SOURCE, loads=tuple(loads), path=path)
