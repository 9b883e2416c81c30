"""The one writer: migrations applied on open, bulk Arrow loads, provenance.

Every write in metabase goes through :class:`Writer`. Loads are set-based (Arrow tables registered
with DuckDB and inserted with one statement), never row by row. Idempotence comes from the load
modes: ``upsert`` merges on the table's key, ``replace`` deletes the rows an import owns before it
inserts them again.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

import duckdb

from metabase.errors import StoreError
from metabase.store.catalog import quote_identifier as _quote
from metabase.store.connection import Connection, connect
from metabase.store.schema_guard import check_store

if TYPE_CHECKING:
    import pyarrow as pa

# Natural keys of the contract's tables, used by ``upsert``.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "datasets": ("dataset_id",),
    "dataset_qualities": ("dataset_id", "quality", "source"),
    "task_qualities": ("task_id", "quality", "source"),
    "quality_definitions": ("quality",),
    "estimation_procedures": ("estimation_procedure_id",),
    "evaluation_measures": ("measure",),
    "tasks": ("task_id",),
    "task_inputs": ("task_id", "input"),
    "flows": ("flow_id",),
    "setups": ("setup_id",),
    "runs": ("run_key",),
    "sync_state": ("entity", "filter_key"),
}

WRITER_WAIT_S = 60.0


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("metabase.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name, entry.read_text()))
    return sorted(found)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _as_arrow(data) -> pa.Table:
    import pyarrow as pa  # here: a reader (``recommend``) never needs it

    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    return pa.Table.from_pandas(data, preserve_index=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def write_error(path: Path, exc: BaseException) -> StoreError:
    """One line for a write the file system refused (DuckDB writes ``<store>.wal`` beside the
    store, so a store in a read-only folder opens but cannot commit).
    """
    text = _first_line(exc)
    if "read-only file system" in text.lower() or "permission denied" in text.lower():
        return StoreError(
            f"cannot write the store {path}: its folder or file is not writable "
            f"(DuckDB writes {path.name}.wal beside it): {text}"
        )
    return StoreError(f"cannot write the store {path}: {text}")


class Writer(Connection):
    """The read-write connection. Open it with :func:`open_writer`."""

    @contextmanager
    def transaction(self) -> Iterator["Writer"]:
        """:meth:`Connection.transaction`; a DuckDB error (a failed COMMIT, too) is one
        StoreError.
        """
        try:
            with super().transaction() as con:
                yield con
        except duckdb.Error as exc:
            raise write_error(self.path, exc) from exc

    # -- schema ------------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply pending migrations in order, each in its own transaction. Returns the version."""
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        applied = {
            r[0] for r in self.con.execute("SELECT version FROM schema_migrations").fetchall()
        }
        pending = [m for m in _migrations() if m[0] not in applied]
        for version, name, sql in pending:
            with self.transaction():
                self.con.execute(sql)
                self.con.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, utcnow()]
                )
        if pending:  # a new table may change the data-dependent views; a new store needs them
            self.refresh_views()
        return self.schema_version()

    def schema_version(self) -> int:
        return int(self.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations"))

    # -- bulk loads --------------------------------------------------------------------------
    def _columns(self, table: str) -> list[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
        if not rows:
            raise StoreError(f"no table {table!r} in the store")
        return [r[0] for r in rows]

    @contextmanager
    def _registered(self, data, target: str = "") -> Iterator[tuple[str, list[str]]]:
        """``data`` as a view for one statement. A DuckDB error inside becomes one StoreError that
        names the target table and the first error: after a failed statement DuckDB answers every
        later one (the unregister here, too) with "Current transaction is aborted", which would
        otherwise replace the error that says what is wrong.
        """
        table = _as_arrow(data)
        name = f"_incoming_{id(table)}"
        self.con.register(name, table)
        failed = False
        try:
            yield name, table.column_names
        except duckdb.Error as exc:
            failed = True
            raise StoreError(
                f"cannot write rows into {target or 'the store'}: {_first_line(exc)}"
            ) from exc
        except BaseException:
            failed = True
            raise
        finally:
            try:
                self.con.unregister(name)
            except duckdb.Error:
                if not failed:
                    raise

    def append(self, table: str, data) -> int:
        """Insert all rows (by column name; missing columns get their default)."""
        with self.transaction(), self._registered(data, table) as (view, cols):
            unknown = set(cols) - set(self._columns(table))
            if unknown:
                raise StoreError(f"columns {sorted(unknown)} are not in table {table!r}")
            col_list = ", ".join(_quote(c) for c in cols)
            self.con.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {view}")
            return _as_arrow(data).num_rows

    def upsert(
        self, table: str, data, key: Sequence[str] | None = None, *, merge: bool = True
    ) -> int:
        """Insert rows, updating those whose key exists.

        With ``merge`` (the default) a NULL in the incoming row keeps the stored value, so two
        sources that know different facts about one entity complete each other. Duplicate keys
        within ``data`` keep their last row.
        """
        key = tuple(key or TABLE_KEYS[table])
        with self.transaction(), self._registered(data, table) as (view, cols):
            missing = [k for k in key if k not in cols]
            if missing:
                raise StoreError(f"upsert into {table!r} needs key columns {missing}")
            col_list = ", ".join(_quote(c) for c in cols)
            key_list = ", ".join(_quote(k) for k in key)
            others = [c for c in cols if c not in key]
            if merge:
                sets = ", ".join(
                    f"{_quote(c)} = coalesce(excluded.{_quote(c)}, {table}.{_quote(c)})"
                    for c in others
                )
            else:
                sets = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in others)
            action = f"DO UPDATE SET {sets}" if others else "DO NOTHING"
            self.con.execute(
                f"INSERT INTO {table} ({col_list}) "
                f"SELECT {col_list} FROM (SELECT *, row_number() OVER () AS _rn FROM {view}) "
                f"QUALIFY row_number() OVER (PARTITION BY {key_list} ORDER BY _rn DESC) = 1 "
                f"ON CONFLICT ({key_list}) {action}"
            )
            return _as_arrow(data).num_rows

    def upsert_new(
        self, table: str, data, key: Sequence[str] | None = None, *, merge: bool = True
    ) -> int:
        """:meth:`upsert`'s result, cheaper when the rows are new (a fresh or incremental sync).

        When no key of ``data`` is stored yet and ``data`` holds each key once, the rows are
        inserted plainly (``upsert``'s conflict handling and de-duplication cost ~30% more on a
        growing keyed table); otherwise this is :meth:`upsert`.
        """
        key = tuple(key or TABLE_KEYS[table])
        data = _as_arrow(data)
        if not data.num_rows:
            return 0
        with self.transaction(), self._registered(data, table) as (view, cols):
            missing = [k for k in key if k not in cols]
            if missing:
                raise StoreError(f"upsert into {table!r} needs key columns {missing}")
            key_list = ", ".join(_quote(k) for k in key)
            stored, distinct = self.con.execute(
                f"SELECT (SELECT count(*) FROM {view} SEMI JOIN {table} USING ({key_list})), "
                f"(SELECT count(*) FROM (SELECT DISTINCT {key_list} FROM {view}))"
            ).fetchall()[0]
            if stored == 0 and distinct == data.num_rows:
                col_list = ", ".join(_quote(c) for c in cols)
                self.con.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {view}")
                return data.num_rows
        return self.upsert(table, data, key, merge=merge)

    def replace(self, table: str, data, by: Sequence[str]) -> int:
        """Delete the rows whose ``by`` values occur in ``data``, then insert ``data``.

        This is how tables without a natural key (evaluations, learning curves) stay idempotent:
        an import owns, for example, all evaluations of the runs it brings.
        """
        with self.transaction(), self._registered(data, table) as (view, cols):
            by_list = ", ".join(_quote(c) for c in by)
            self.con.execute(
                f"DELETE FROM {table} WHERE ({by_list}) IN (SELECT DISTINCT {by_list} FROM {view})"
            )
            col_list = ", ".join(_quote(c) for c in cols)
            self.con.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {view}")
            return _as_arrow(data).num_rows

    def repeated_keys(self, table: str, key: Sequence[str], owner: Mapping[str, object]) -> int:
        """How many of the rows of ``table`` that ``owner`` holds repeat another one's ``key``."""
        where = " AND ".join(f"{_quote(c)} = ?" for c in owner) or "true"
        columns = ", ".join(_quote(c) for c in key)
        return int(
            self.con.execute(
                f"SELECT count(*) - count(DISTINCT ({columns})) "
                f"FROM {_quote(table)} WHERE {where}",
                list(owner.values()),
            ).fetchall()[0][0]
        )

    def delete_where(self, table: str, where: str, params: Sequence | None = None) -> None:
        with self.transaction():
            self.con.execute(f"DELETE FROM {table} WHERE {where}", params or [])

    # -- provenance and views ----------------------------------------------------------------
    def record_import(
        self,
        source: str,
        path: str | Path | None,
        started_at: datetime,
        row_counts: Mapping[str, int],
    ) -> None:
        with self.transaction():
            self.con.execute(
                "INSERT INTO imports (source, path, started_at, finished_at, row_counts) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    source,
                    None if path is None else str(path),
                    started_at,
                    utcnow(),
                    json.dumps(dict(row_counts)),
                ],
            )

    def refresh_views(self) -> None:
        """Recreate the wide views whose columns depend on the data (one column per quality)."""
        from metabase.store.views import wide_view_sql

        with self.transaction():
            for sql in wide_view_sql(self):
                self.con.execute(sql)


def open_writer(path: str | Path, wait_s: float = WRITER_WAIT_S) -> Writer:
    """Open (creating if needed) the store read-write and bring its schema up to date."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the store's folder {path.parent}: {exc.strerror or exc}"
        ) from None
    writer = Writer(connect(path, read_only=False, wait_s=wait_s), path, read_only=False)
    try:
        check_store(writer.con, path, writer=True)  # before a migration could touch the file
        writer.migrate()
    except BaseException:
        writer.close()
        raise
    return writer
