"""A digest of what the store holds, to prove that a refused input changed nothing.

Per table, the row count and an order-independent sum of row hashes. Bookkeeping that every write
touches by design (the import log, the migration history) is left out.
"""

from __future__ import annotations

from metabase.store.connection import Connection

BOOKKEEPING = ("imports", "schema_migrations", "sync_state")


def table_digests(
    con: Connection, exclude: tuple[str, ...] = BOOKKEEPING
) -> dict[str, tuple[int, int]]:
    """``{table: (rows, sum of row hashes)}`` for every base table but ``exclude``."""
    tables = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND table_schema = 'main' ORDER BY table_name"
    ).fetchall()
    out: dict[str, tuple[int, int]] = {}
    for (name,) in tables:
        if name in exclude:
            continue
        quoted = '"' + name.replace('"', '""') + '"'
        rows, total = con.execute(
            f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {quoted} AS t"
        ).fetchall()[0]
        out[name] = (int(rows), int(total))
    return out
