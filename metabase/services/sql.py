"""The analysts' service: ``Workspace.sql`` and ``Workspace.info`` (so ``metabase sql``, ``metabase
info`` and notebooks) go through here.

Every function opens the store read-only for the duration of one call and closes it again, so an
analyst never holds the file longer than a query (DuckDB lets one process write *or* many read;
an open reader keeps the writer out). While a writer is busy, opening waits with back-off for up to
``wait_s`` seconds and then raises :class:`~metabase.errors.StoreLockedError`. Because an import
holds the write lock from before its transaction starts until after it commits (or rolls back), a
reader that gets in sees the store as of the last finished import: never half of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

from metabase.store import catalog
from metabase.store import named_queries as nq

NamedQuery = nq.NamedQuery


@dataclass(frozen=True)
class TableCount:
    name: str
    rows: int


@dataclass(frozen=True)
class ImportRecord:
    source: str
    path: str | None
    started_at: datetime
    finished_at: datetime
    row_counts: dict[str, int]


@dataclass(frozen=True)
class StoreInfo:
    path: Path
    size_bytes: int
    schema_version: int
    migrations: tuple[str, ...]
    tables: tuple[TableCount, ...]
    views: tuple[str, ...]
    imports: tuple[ImportRecord, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": str(self.path),
            "size_bytes": self.size_bytes,
            "schema_version": self.schema_version,
            "migrations": list(self.migrations),
            "tables": {t.name: t.rows for t in self.tables},
            "views": list(self.views),  # listed without counts: the wide views are costly
            "imports": [
                {
                    "source": i.source,
                    "path": i.path,
                    "started_at": i.started_at.isoformat(),
                    "finished_at": i.finished_at.isoformat(),
                    "row_counts": i.row_counts,
                }
                for i in self.imports
            ],
        }


def named_queries() -> list[NamedQuery]:
    return nq.list_queries()


def named_query(name: str) -> NamedQuery:
    return nq.get_query(name)


def run_sql(
    ws,
    sql: str,
    params: Mapping[str, Any] | None = None,
    wait_s: float | None = None,
    allow_files: Sequence[str | Path] = (),
):
    """Run one read-only statement; ``params`` bind ``$name`` placeholders. A pandas DataFrame.

    String values are typed by their text (``3`` is an int, ``0.5`` a float, ``'3'`` the string).
    The statement reads the store only; with ``allow_files`` it may also read the files inside
    those folders (``read_csv``, ``read_parquet``, ``glob``, ...).
    """
    typed = {k: nq.guess(v) if isinstance(v, str) else v for k, v in (params or {}).items()}
    files = bool(allow_files)
    nq.check_read_only(sql, files)  # refuse before waiting for a lock
    with ws.reader(wait_s, allow_files=allow_files, starter=False) as con:
        return nq.run(con, sql, typed, files)


def run_named(ws, name: str, params: Mapping[str, Any] | None = None, wait_s: float | None = None):
    """Run a named query (``metabase sql --list``); string parameters take the declared types."""
    query = nq.get_query(name)
    bound = nq.bind(query, params or {})
    with ws.reader(wait_s, starter=False) as con:
        return nq.run(con, query.sql, bound)


def store_info(ws, wait_s: float | None = None) -> StoreInfo:
    """Row count per table, imports with their times, schema version and path."""
    path = Path(ws.store_path)
    with ws.reader(wait_s, starter=False) as con:
        tables = tuple(TableCount(name, rows) for name, rows in catalog.table_counts(con))
        views = tuple(catalog.view_names(con))
        migrations = catalog.migrations(con)
        imports = tuple(ImportRecord(*row) for row in catalog.imports(con))
    return StoreInfo(
        path=path,
        size_bytes=path.stat().st_size,
        schema_version=max((v for v, _ in migrations), default=0),
        migrations=tuple(name for _, name in migrations),
        tables=tables,
        views=views,
        imports=imports,
    )


__all__ = [
    "ImportRecord",
    "NamedQuery",
    "StoreInfo",
    "TableCount",
    "named_queries",
    "named_query",
    "run_named",
    "run_sql",
    "store_info",
]
