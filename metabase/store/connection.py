"""Opening the store: one writer, many read-only readers.

DuckDB lets one process open a file read-write, or any number of processes open it read-only, but
not both at once. metabase therefore keeps write connections short (one import or one sync batch
per transaction) and makes readers wait, with back-off, for a writer to finish before they give up
with :class:`StoreLockedError`. An analyst's query sees the store as of the last committed write,
never a half-applied import.
"""

from __future__ import annotations

import random
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import duckdb

from metabase.errors import ReadOnlyError, StoreError, StoreLockedError, StoreNotFoundError
from metabase.store.schema_guard import check_store

# No connection installs or loads an extension on its own: a query naming ``https://...`` or a
# SQLite file given as the store would otherwise download a binary into ~/.duckdb. metabase needs
# only what the duckdb wheel links in (parquet, json, icu).
EXTENSION_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

DEFAULT_READER_WAIT_S = 30.0
WAITING_SUFFIX = ".readers-waiting"  # touched by a reader while a writer holds the lock
WAITING_FRESH_S = 5.0  # a reader touches it at least this often while it waits
# touched by a writer while readers hold the file: new readers hold back until it got in, else
# readers that query every second from a few processes (analysts beside the bot) keep the shared
# lock taken between them and starve the writer (the bot's results)
WRITER_SUFFIX = ".writer-waiting"
WRITER_FRESH_S = 3.0  # a waiting writer touches it at least every 1.5 s
WRITER_YIELD_S = 5.0  # a reader holds back this long at most (a notebook may hold the file)


def waiting_marker(path: Path) -> Path:
    return path.with_name(path.name + WAITING_SUFFIX)


def reader_waiting(path: Path, within_s: float = WAITING_FRESH_S) -> bool:
    """Has a reader asked for the store in the last ``within_s`` seconds? A long writer (a sync)
    checks this between its transactions and closes its connection so that the reader gets in,
    instead of closing every few seconds (each close is a checkpoint).
    """
    try:
        return time.time() - waiting_marker(Path(path)).stat().st_mtime <= within_s
    except OSError:
        return False


def _touch(marker: Path) -> None:
    try:
        marker.touch()
    except OSError:  # a read-only directory: the writer still closes now and then
        pass


def writer_marker(path: Path) -> Path:
    return path.with_name(path.name + WRITER_SUFFIX)


def writer_waiting(path: Path, within_s: float = WRITER_FRESH_S) -> bool:
    """Whether a writer waited for the readers to let go in the last ``within_s`` seconds."""
    try:
        return time.time() - writer_marker(Path(path)).stat().st_mtime <= within_s
    except OSError:
        return False


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def connect(path: Path, *, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    """Connect, retrying with jittered back-off while another process holds the lock."""
    deadline = time.monotonic() + wait_s
    yield_until = min(deadline, time.monotonic() + WRITER_YIELD_S)
    delay = 0.05
    waited = False
    while True:
        if read_only and time.monotonic() < yield_until and writer_waiting(path):
            # a writer waits for the readers to let go: a new reader lets it in first, for a few
            # seconds at most (a reader that holds the file for long, a notebook, keeps it out
            # anyway); the writer then yields to the readers-waiting marker after its write
            time.sleep(0.05 + 0.1 * random.random())
            continue
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=EXTENSION_CONFIG)
            if waited:  # our turn came: the other side need not yield again for us
                _remove_marker(writer_marker(path) if not read_only else waiting_marker(path))
            return con
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise StoreError(f"cannot open store {path}: {_open_failure(exc)}") from exc
            _touch(waiting_marker(path) if read_only else writer_marker(path))
            waited = True
            if time.monotonic() >= deadline:
                if not read_only:  # it gives up: readers need not hold back for it
                    _remove_marker(writer_marker(path))
                pid = re.search(r"PID (\d+)", str(exc))
                raise StoreLockedError(path, f"writer pid {pid.group(1)}" if pid else "") from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)


def _remove_marker(marker: Path) -> None:
    try:
        marker.unlink(missing_ok=True)
    except OSError:  # a read-only directory
        pass


def _open_failure(exc: Exception) -> str:
    text = str(exc)
    extension = re.search(r'Extension "([\w-]+)" is an existing extension', text)
    if extension:  # DuckDB recognised another database format (SQLite, say)
        return (
            f"it is not a DuckDB database (reading it would need DuckDB's {extension.group(1)} "
            "extension, which metabase does not install)"
        )
    return text


class Connection:
    """A thin wrapper over a DuckDB connection that knows whether it may write."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only
        self._in_transaction = False

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator["Connection"]:
        """All-or-nothing: a failure (or a kill) inside leaves the store as it was."""
        self._require_writer()
        if self._in_transaction:  # nested: the outer transaction decides
            yield self
            return
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield self
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._in_transaction = False

    # -- reading -----------------------------------------------------------------------------
    def execute(self, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        except duckdb.InvalidInputException as exc:
            if self.read_only and "read-only" in str(exc).lower():
                raise ReadOnlyError(
                    "the store is opened read-only; this statement writes. "
                    "Use `metabase import`/`sync` to change the store"
                ) from exc
            raise

    def df(self, sql: str, params: object = None):
        """Run a query and return a pandas DataFrame."""
        return self.execute(sql, params).df()

    def arrow(self, sql: str, params: object = None):
        """Run a query and return a pyarrow Table."""
        # a relation converts without the extra copy a DB-API result makes
        relation = self.con.sql(sql, params=params) if params is not None else self.con.sql(sql)
        to_arrow = getattr(relation, "to_arrow_table", None) or relation.arrow  # duckdb 2.x / 1.x
        return to_arrow()

    def scalar(self, sql: str, params: object = None):
        rows = self.execute(
            sql, params
        ).fetchall()  # all of it: a pending result blocks register()
        return rows[0][0] if rows else None

    def tables(self) -> list[str]:
        return [
            r[0]
            for r in self.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
            ).fetchall()
        ]

    def _require_writer(self) -> None:
        if self.read_only:
            raise ReadOnlyError("the store is opened read-only")


def _literal_list(items: Sequence[str]) -> str:
    return "[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]"


def _confine(con: duckdb.DuckDBPyConnection, allow_files: Sequence[str]) -> None:
    """Keep a reader inside the store: no files, URLs, Python variables or extensions, except
    reads inside the folders ``allow_files``; then lock the settings so no query can undo this.

    The settings belong to the database instance, which DuckDB shares between the connections
    one process holds to one file, so a second reader finds them already made.
    """
    current = con.execute(
        "SELECT current_setting('enable_external_access'), "
        "current_setting('allowed_directories'), "
        "current_setting('temp_directory')"
    ).fetchone()
    if current[0] is False:  # another reader in this process confined the instance already
        temp = current[2].rstrip("/") + "/"
        if set(current[1]) - {temp} != set(allow_files):
            raise StoreError(
                "this process already reads the store with other --allow-files "
                "folders; close that reader first"
            )
        return
    # allowed_directories may be set only while external access is still on
    if allow_files:
        con.execute(f"SET allowed_directories = {_literal_list(allow_files)}")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def allowed_folders(folders: Sequence[str | Path]) -> tuple[str, ...]:
    """The absolute, resolved forms of ``folders`` with a trailing separator, as DuckDB matches
    ``allowed_directories`` by prefix (``/data`` would also open ``/data-private``).
    """
    return tuple(sorted({str(Path(f).expanduser().resolve()).rstrip("/") + "/" for f in folders}))


def open_reader(
    path: str | Path, wait_s: float = DEFAULT_READER_WAIT_S, allow_files: Sequence[str | Path] = ()
) -> Connection:
    """A read-only connection for analysts, notebooks and the recommenders.

    It reads the store and nothing else: no file, URL or extension, unless ``allow_files`` names
    folders whose files (and subfolders) it may read.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreNotFoundError(path)
    try:
        con = connect(path, read_only=True, wait_s=wait_s)
    except (StoreLockedError, KeyboardInterrupt):
        # giving up: the writer need not yield for this reader (one still waiting touches the
        # marker again within a second)
        _remove_marker(waiting_marker(path))
        raise
    try:
        check_store(con, path, writer=False)
        _confine(con, allowed_folders(allow_files))
    except BaseException:
        con.close()
        raise
    return Connection(con, path, read_only=True)
