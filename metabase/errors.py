"""The one root of metabase's errors.

The library raises these and never prints or exits; the CLI turns them into one line on stderr and
exit code 1. Subclasses carry the fields a caller may want to act on.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


class MetabaseError(Exception):
    """Root of every error metabase raises on purpose."""


class StoreError(MetabaseError):
    """The store cannot be opened, migrated or written."""


class StoreWriteError(StoreError):
    """A write to the store failed below SQL (the disk is full, the file went away)."""


class StoreNotFoundError(StoreError):
    """No store exists at the given path."""

    def __init__(self, path: object) -> None:
        self.path = path
        super().__init__(
            f"no store at {path}: run `metabase init` (seeded with the starter knowledge base), "
            "`metabase import ...` or `metabase sync` to create one"
        )


class StoreLockedError(StoreError):
    """Another process holds the store's write lock."""

    def __init__(self, path: object, detail: str = "") -> None:
        self.path = path
        super().__init__(
            f"the store {path} is locked by another process that is writing to it; "
            f"try again when it finishes{': ' + detail if detail else ''}"
        )


class ReadOnlyError(StoreError):
    """A write was attempted through a read-only connection."""


class InputError(MetabaseError):
    """A user-supplied file, id or option is invalid."""


class DataFormatError(InputError):
    """A data file (ARFF, CSV, ...) is malformed; names the file and, where known, the line and
    the column (a name, or a 1-based position).
    """

    def __init__(
        self, path: object, reason: str, line: int | None = None, column: str | int | None = None
    ) -> None:
        self.path, self.reason, self.line, self.column = path, reason, line, column
        where = [f"line {line}"] if line is not None else []
        if column is not None:
            where.append(f"column {column!r}" if isinstance(column, str) else f"column {column}")
        super().__init__(f"{path}: {', '.join(where) + ': ' if where else ''}{reason}")


class ImportFormatError(DataFormatError):
    """A file given to an importer does not have the expected format."""


@contextmanager
def as_import_errors() -> Iterator[None]:
    """Report the shared data readers' :class:`DataFormatError` as an :class:`ImportFormatError`
    (same message), so that a caller can tell a bad import file from other bad input.
    """
    try:
        yield
    except ImportFormatError:
        raise
    except DataFormatError as exc:
        raise ImportFormatError(exc.path, exc.reason, exc.line, exc.column) from None


class NotFoundError(MetabaseError):
    """An entity (task, dataset, flow, run, pipeline) does not exist."""


class OpenMLError(MetabaseError):
    """Talking to OpenML failed (after retries where retrying makes sense)."""


class ConfigError(InputError):
    """A configuration is not valid in a pipeline's search space."""
