"""Applying an import to the store: one transaction, provenance, refreshed views."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from metabase.errors import InputError
from metabase.imports.base import ImportBatch, TableLoad
from metabase.store import Writer, utcnow


@dataclass(frozen=True)
class ImportResult:
    source: str
    path: str
    row_counts: dict[str, int]


def check_path(path: Path, expects: str) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if expects == "file" and path.is_dir():
        raise InputError(f"{path} is a directory; this source expects a file")
    if expects == "dir" and not path.is_dir():
        raise InputError(f"{path} is a file; this source expects a directory")
    return path


def apply_load(writer: Writer, load: TableLoad) -> int:
    data = load.data
    if load.mode == "upsert":
        return writer.upsert(load.table, data)
    if load.mode == "replace" and load.by:
        if not isinstance(data, pa.Table):
            raise TypeError("replace with `by` needs a table, not a stream; use `owner`")
        return writer.replace(load.table, data, by=load.by)
    if load.mode == "replace":
        where = " AND ".join(f'"{c}" = ?' for c in load.owner) or "true"
        writer.delete_where(load.table, where, list(load.owner.values()))
    if isinstance(data, pa.Table):
        return writer.append(load.table, data)
    return sum(writer.append(load.table, batch) for batch in data())


def apply_batch(writer: Writer, batch: ImportBatch) -> dict[str, int]:
    """Apply every load of ``batch`` atomically and record its provenance."""
    started = utcnow()
    counts: dict[str, int] = {}
    with writer.transaction():
        for load in batch.loads:
            counts[load.table] = counts.get(load.table, 0) + apply_load(writer, load)
        writer.record_import(batch.source, batch.path, started, counts)
        writer.refresh_views()
    return counts
