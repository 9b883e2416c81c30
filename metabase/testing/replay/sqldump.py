"""Read the OpenML server's seed database (MySQL ``INSERT`` dumps) with the importer's reader.

The replay server needs only small tables, whole; the streaming reader of ``metabase import
openml-sql`` already parses the dump format (quotes, escapes, NULL, multi-line values), so the
server uses it rather than a second parser.
"""

from __future__ import annotations

from pathlib import Path

from metabase.imports._sqldump import read_tables


def read_table(path: Path) -> tuple[dict, ...]:
    """All rows of the table a dump file is named after, as dicts keyed by column name."""
    path = Path(path)
    columns, rows = read_tables(path, [path.stem]).get(path.stem, ([], []))
    return tuple(dict(zip(columns, row)) for row in rows)
