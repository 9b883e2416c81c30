"""Is this DuckDB file a metabase store this code may use? Checked on every open, before anything.

A ``--store`` that points at someone's own DuckDB database must never receive metabase's
migrations (20 tables and views added to it), and a store written by a newer metabase must not be
read or written with an older schema in mind. Both are refused with one line before any statement
that could change the file runs.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from metabase.errors import StoreError

HISTORY_TABLE = "schema_migrations"


def latest_known_version() -> int:
    """The number of the last migration this code ships."""
    folder = resources.files("metabase.store") / "migrations"
    versions = [
        int(e.name[:3])
        for e in folder.iterdir()
        if e.name.endswith(".sql") and e.name[:3].isdigit()
    ]
    return max(versions, default=0)


def _user_objects(con) -> int:
    """Tables and views of the opened database itself (not DuckDB's catalogue, not temporary)."""
    return int(
        con.execute(
            "SELECT (SELECT count(*) FROM duckdb_tables() "
            "WHERE database_name = current_database() "
            "        AND NOT internal AND NOT temporary) "
            "     + (SELECT count(*) FROM duckdb_views() WHERE database_name = current_database() "
            "        AND NOT internal AND NOT temporary)"
        ).fetchall()[0][0]
    )


def _has_history(con) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = ?",
            [HISTORY_TABLE],
        ).fetchall()[0][0]
    )


def check_store(con, path: Path, *, writer: bool) -> None:
    """Raise :class:`StoreError` unless ``con`` is a metabase store (or, for a writer, an empty
    database it may initialise) whose schema is not newer than this code's.
    """
    if not _has_history(con):
        if writer and _user_objects(con) == 0:
            return  # a new, empty file: the writer creates the schema
        what = "holds tables but no" if _user_objects(con) else "has no"
        raise StoreError(
            f"{path} is a DuckDB database that {what} metabase schema history; "
            "it is not a metabase store, so it is left untouched: "
            "give --store a metabase store or a new file"
        )
    stored = con.execute(f"SELECT coalesce(max(version), 0) FROM {HISTORY_TABLE}").fetchall()[0][0]
    known = latest_known_version()
    if int(stored) > known:
        raise StoreError(
            f"the store {path} has schema version {stored}, "
            f"newer than this metabase knows ({known}): "
            "upgrade metabase to use it"
        )
