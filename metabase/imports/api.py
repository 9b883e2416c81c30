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
        count = writer.append(load.table, data)
    else:
        count = sum(writer.append(load.table, batch) for batch in data())
    if load.unique and writer.repeated_keys(load.table, load.unique, load.owner):
        raise InputError(
            f"the input holds {load.table} rows more than once (the same "
            f"{', '.join(load.unique)}); remove the repeated rows"
        )
    return count


def check_owners(batch: ImportBatch) -> None:
    """Refuse two loads that replace the same rows: the second would delete the first's."""
    owners = set()
    for load in batch.loads:
        if load.mode == "replace" and not load.by:
            owner = (load.table, tuple(sorted(load.owner.items())))
            if owner in owners:
                raise InputError(
                    f"{batch.path}: two inputs of this import replace the same "
                    f"{load.table} rows ({dict(load.owner)}); import them one at a time"
                )
            owners.add(owner)


def apply_batch(writer: Writer, batch: ImportBatch) -> dict[str, int]:
    """Apply every load of ``batch`` atomically and record its provenance."""
    check_owners(batch)
    started = utcnow()
    counts: dict[str, int] = {}
    with writer.transaction():
        for load in batch.loads:
            counts[load.table] = counts.get(load.table, 0) + apply_load(writer, load)
        writer.record_import(batch.source, batch.path, started, counts)
        writer.refresh_views()
    return counts
