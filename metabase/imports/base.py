"""What an importer is: a pure reader that turns files into table loads.

An importer never opens the store. ``read(path)`` parses and validates the input and returns an
:class:`ImportBatch`; :func:`metabase.services.imports.import_` applies the batch through the one
writer in a single transaction, so a malformed file or a kill leaves the store as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, Union

import pyarrow as pa

# A table, or a zero-argument callable yielding record batches (for streams too big for memory).
TableData = Union[pa.Table, Callable[[], Iterable[pa.RecordBatch]]]


def frame_table(frame) -> pa.Table:
    """A pandas frame as the Arrow table a load carries (without pandas' index)."""
    return pa.Table.from_pandas(frame, preserve_index=False)


@dataclass(frozen=True)
class TableLoad:
    """Rows for one store table and how they merge with what is there.

    - ``upsert``: insert, merging on the table's natural key (``metabase.store.TABLE_KEYS``).
    - ``replace``: first delete the rows this import owns, then insert. Ownership is either the
      distinct values of the ``by`` columns in ``data`` (``data`` must then be a table) or the
      explicit column values in ``owner`` (works with streams).
    - ``append``: insert as is (only for tables that nothing else writes to).

    ``unique``: with ``owner``, the columns that tell the owned rows apart; an input that repeats
    a row's key is refused (the whole import rolls back) instead of stored twice.
    """

    table: str
    data: TableData
    mode: Literal["upsert", "replace", "append"] = "upsert"
    by: tuple[str, ...] = ()
    owner: Mapping[str, Any] = field(default_factory=dict)
    unique: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportBatch:
    source: str  # provenance written to the tables' ``source`` column and to ``imports``
    loads: tuple[TableLoad, ...]
    path: Path | None = None


class Importer:
    """Base class: subclasses set ``name`` and ``description`` and implement ``read``."""

    name: str = ""
    description: str = ""
    expects: Literal["file", "dir", "any"] = "file"

    def read(self, path: Path) -> ImportBatch:  # pragma: no cover - interface
        raise NotImplementedError
