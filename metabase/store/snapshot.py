"""Whole tables out of the store and an in-memory store: what the starter knowledge base needs.

- :func:`table_rows` reads one table with its rows in a fixed order (the table's key, then every
  column), so that a snapshot written from two equal stores is equal row for row.
- :func:`snapshot_tables` names the tables of a store that hold knowledge and have rows; the
  bookkeeping tables (``imports``, ``sync_state``, ``schema_migrations``) are never part of one.
- :func:`open_memory_writer` opens a store that lives in memory only, with the schema the
  migrations give a file store; :func:`memory_reader` hands out read-only connections to it.
- :func:`load_tables` appends whole tables from Parquet files to a new store, in one
  transaction with its provenance (DuckDB reads the files itself: about 2.5 times as fast as
  going through Arrow and the writer's merge).
- :func:`has_runs` tells a store that has learnt something from one that has not.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import duckdb

from metabase.errors import ReadOnlyError
from metabase.store.connection import Connection
from metabase.store.writer import TABLE_KEYS, Writer, utcnow

if TYPE_CHECKING:
    import pyarrow as pa

# Tables a snapshot may hold, in the order a loader applies them.
KNOWLEDGE_TABLES = (
    "quality_definitions",
    "estimation_procedures",
    "evaluation_measures",
    "datasets",
    "dataset_qualities",
    "tasks",
    "task_inputs",
    "task_qualities",
    "flows",
    "setups",
    "runs",
    "evaluations",
    "learning_curves",
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def snapshot_tables(con: Connection) -> list[str]:
    """The knowledge tables of ``con`` that hold at least one row, in :data:`KNOWLEDGE_TABLES`
    order.
    """
    present = set(con.tables())
    return [
        t
        for t in KNOWLEDGE_TABLES
        if t in present
        and con.execute(f"SELECT EXISTS (SELECT 1 FROM {_quote(t)})").fetchall()[0][0]
    ]


def table_rows(con: Connection, table: str) -> pa.Table:
    """Every row of ``table`` as Arrow, ordered by its key and then by all columns."""
    if table not in KNOWLEDGE_TABLES:
        raise ValueError(f"{table!r} is not a knowledge table")
    columns = [
        c
        for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]
    key = list(TABLE_KEYS.get(table, ()))
    order = ", ".join(_quote(c) for c in key + [c for c in columns if c not in key])
    return con.arrow(f"SELECT * FROM {_quote(table)} ORDER BY {order}")


def load_tables(
    writer: Writer, files: Mapping[str, Path], source: str, path: str | Path
) -> dict[str, int]:
    """Append each table's rows from its Parquet file (columns by name), record the import and
    refresh the views, all in one transaction. Meant for a new store: nothing is merged.
    """
    unknown = sorted(set(files) - set(KNOWLEDGE_TABLES))
    if unknown:
        raise ValueError(f"not knowledge tables: {unknown}")
    started = utcnow()
    counts = {}
    with writer.transaction():
        for table in (t for t in KNOWLEDGE_TABLES if t in files):
            counts[table] = int(
                writer.execute(
                    f"INSERT INTO {_quote(table)} BY NAME SELECT * FROM read_parquet(?)",
                    [str(files[table])],
                ).fetchall()[0][0]
            )
        writer.record_import(source, path, started, counts)
        writer.refresh_views()
    return counts


def has_runs(con: Connection) -> bool:
    """Whether the store holds at least one run."""
    return bool(con.execute("SELECT EXISTS (SELECT 1 FROM runs)").fetchall()[0][0])


def open_memory_writer(label: str | Path = ":memory:") -> Writer:
    """A writer on a new in-memory store, migrated like a file store (``label`` names it in
    messages). It lives as long as the returned connection and the readers made from it.
    """
    writer = Writer(duckdb.connect(":memory:"), Path(label), read_only=False)
    writer.migrate()
    return writer


class _MemoryReader(Connection):
    """A read-only connection to an in-memory store. DuckDB cannot open an in-memory database
    read-only, so this connection refuses every statement that is not a read, as a read-only
    file store would (:class:`ReadOnlyError`).
    """

    READS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})

    def execute(self, sql: str, params: object = None):
        if any(s.type not in self.READS for s in self.con.extract_statements(sql)):
            raise ReadOnlyError(
                "the starter knowledge base is read-only; this statement writes. "
                "Use `metabase init`, then `metabase import`/`sync`, for a store of your own"
            )
        return super().execute(sql, params)


def memory_reader(writer: Writer) -> Connection:
    """A read-only connection to ``writer``'s in-memory store."""
    return _MemoryReader(writer.con.cursor(), writer.path, read_only=True)


def knowledge_summary(con: Connection) -> dict:
    """What a store knows, in the figures a one-line description needs."""
    runs, run_tasks = con.execute("SELECT count(*), count(DISTINCT task_id) FROM runs").fetchall()[
        0
    ]
    pipelines = [
        p
        for (p,) in con.execute(
            "SELECT DISTINCT coalesce(pipeline, 'flow-' || CAST(flow_id AS VARCHAR)) AS p "
            "FROM runs ORDER BY p"
        ).fetchall()
    ]
    tasks = con.execute("SELECT count(*) FROM tasks").fetchall()[0][0]
    with_qualities = con.execute(
        "SELECT count(DISTINCT task_id) FROM task_qualities_long"
    ).fetchall()[0][0]
    return {
        "runs": int(runs),
        "tasks_with_runs": int(run_tasks),
        "pipelines": pipelines,
        "tasks": int(tasks),
        "tasks_with_qualities": int(with_qualities),
    }


def checkpoint(con: Connection) -> None:
    """Write everything into the database file itself (no write-ahead log beside it)."""
    con.execute("CHECKPOINT")


def file_bytes_needed(con: Connection) -> int:
    """How long the database file must be for every block DuckDB's header counts (its three
    headers of 4 KiB, then the blocks): DuckDB opens a truncated file and fails only on reading
    a missing block.
    """
    block_size, blocks = con.execute(
        "SELECT block_size, total_blocks FROM pragma_database_size()"
    ).fetchall()[0]
    return 3 * 4096 + int(block_size) * int(blocks)
