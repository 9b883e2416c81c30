"""What the store holds: its relations, their sizes, its migrations and imports, and a key of its
state. Named functions over a connection (read-only ones suffice).
"""

from __future__ import annotations

import json
from datetime import datetime

from metabase.errors import StoreError


def quote_identifier(name: str) -> str:
    """``name`` as a DuckDB identifier (double-quoted, inner quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def has_relation(con, name: str) -> bool:
    """Whether a table or view of that name exists (e.g. ``task_qualities_wide``, which the
    first refresh of the views creates).
    """
    return bool(
        con.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name])
    )


def row_count(con, table: str) -> int:
    return int(con.scalar(f"SELECT count(*) FROM {quote_identifier(table)}"))


def table_counts(con) -> list[tuple[str, int]]:
    """(table, rows) of every base table, by name."""
    return [(name, row_count(con, name)) for name in con.tables()]


def view_names(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_type = 'VIEW' ORDER BY table_name"
        ).fetchall()
    ]


def migrations(con) -> list[tuple[int, str]]:
    """(version, file name) of each applied migration, in order."""
    return [
        (int(v), n)
        for v, n in con.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        ).fetchall()
    ]


def require_schema(con, version: int) -> None:
    """Raise :class:`StoreError` when the store predates migration ``version``: a read-only
    connection cannot upgrade it, the next write does.
    """
    have = con.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations")
    if have < version:
        raise StoreError(
            f"the store {con.path} has schema version {have}, this metabase needs {version}: "
            "any write upgrades it (`metabase import ...` or `metabase sync ...`)"
        )


def imports(con) -> list[tuple[str, str | None, datetime, datetime, dict]]:
    """(source, path, started_at, finished_at, row counts) of each import and sync, oldest
    first.
    """
    return [
        (source, path, started, finished, json.loads(counts) if counts else {})
        for source, path, started, finished, counts in con.execute(
            "SELECT source, path, started_at, finished_at, row_counts FROM imports "
            "ORDER BY finished_at, import_id"
        ).fetchall()
    ]


def store_state(con) -> str:
    """A key that changes whenever an import, sync or run changes what a model would learn from."""
    parts = [con.scalar("SELECT coalesce(max(import_id), 0) FROM imports")]
    tables = set(con.tables())
    for table in ("runs", "evaluations", "task_qualities", "dataset_qualities"):
        if table in tables:
            parts.append(row_count(con, table))
    return "-".join(str(p) for p in parts)


def training_state(con, task_id: int) -> str:
    """:func:`store_state` without the task's own runs, evaluations and qualities: the key of
    what a model trained on every other task learned from, which the task's new runs (a ``tune``
    storing its trials) leave unchanged. Empty when there is none (as for a missing store).
    """
    tables = set(con.tables())
    parts = [con.scalar("SELECT coalesce(max(import_id), 0) FROM imports")]
    if "runs" in tables:
        parts.append(con.scalar("SELECT count(*) FROM runs WHERE task_id <> ?", [task_id]))
    if {"runs", "evaluations"} <= tables:
        sql = "SELECT count(*) FROM evaluations e JOIN runs r USING (run_key) WHERE r.task_id <> ?"
        parts.append(con.scalar(sql, [task_id]))
    if "task_qualities" in tables:
        sql = "SELECT count(*) FROM task_qualities WHERE task_id <> ?"
        parts.append(con.scalar(sql, [task_id]))
    if "dataset_qualities" in tables:
        parts.append(row_count(con, "dataset_qualities"))
    return "-".join(str(p) for p in parts) if any(parts) else ""
