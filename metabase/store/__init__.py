"""The DuckDB store: the only module that imports duckdb.

- :func:`open_writer` opens the single read-write connection and applies migrations.
- :func:`open_reader` opens a read-only connection (analysts, notebooks, recommenders);
  :func:`reader_waiting` tells a long writer that a reader waits for its turn.
"""

from metabase.store.connection import Connection, open_reader, reader_waiting
from metabase.store.writer import TABLE_KEYS, Writer, open_writer, utcnow

CONTRACT_TABLES = (
    "datasets",
    "dataset_qualities",
    "tasks",
    "flows",
    "setups",
    "runs",
    "evaluations",
    "learning_curves",
)

__all__ = [
    "CONTRACT_TABLES",
    "Connection",
    "TABLE_KEYS",
    "Writer",
    "open_reader",
    "open_writer",
    "reader_waiting",
    "utcnow",
]
