"""The starter knowledge base as a DuckDB file in the user's cache, built once.

Loading the starter's Parquet files into an in-memory store costs every process about a third of
a second; opening a DuckDB file read-only costs a few milliseconds. So the first use builds
``<cache>/metabase/starter-<key>.db`` (``<cache>``: ``$XDG_CACHE_HOME``, else ``~/.cache``) and
later processes open it read-only.

- The key is a digest of the starter's files and of the schema version this code migrates to: a
  new starter or a new schema gets a new file, and the old ones are removed.
- The file is written under a name of its own (process id and a random part) and renamed into
  place, so a reader never sees half a file and two first calls at once each write their own and
  the last rename wins, whole.
- A file that cannot be opened as a store, or that is shorter than its blocks say (a partial
  copy), is reported in one log line and rebuilt.
- The suffix is ``.db``, not ``.duckdb``: this is a cache, never a store a user keeps.

:func:`open_cached` returns None where the cache cannot be written (a read-only home, say): the
caller then loads the starter into memory, as before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path

from metabase.errors import MetabaseError

log = logging.getLogger(__name__)

PREFIX = "starter-"
SUFFIX = ".db"
_checked: set[Path] = set()  # cache files this process has opened and found whole


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "metabase"


def content_key(data: Path, tables: list[str]) -> str:
    """A digest of the starter's manifest and table files, and of the schema version."""
    from metabase.store.schema_guard import latest_known_version

    digest = hashlib.blake2b(digest_size=10)
    digest.update(f"schema {latest_known_version()}\n".encode())
    for name in ["manifest.json", *sorted(f"{t}.parquet" for t in tables)]:
        digest.update(name.encode() + b"\n")
        digest.update((data / name).read_bytes())
    return digest.hexdigest()


def cache_path(data: Path, tables: list[str]) -> Path:
    return cache_dir() / f"{PREFIX}{content_key(data, tables)}{SUFFIX}"


def open_cached(data: Path, tables: list[str], build):
    """A read-only connection to the cached starter, built first when there is none (``build``
    fills a new store's writer); None when the cache cannot be written.
    """
    path = cache_path(data, tables)
    if path.exists():
        try:
            return _open_whole(path)
        except Exception as exc:  # noqa: BLE001 - any damage (DuckDB's own errors too): rebuild
            reason = " ".join(str(exc).split())  # one line, whatever DuckDB said
            log.warning("the starter cache %s is unusable (%s): rebuilding it", path, reason)
            _checked.discard(path)
            path.unlink(missing_ok=True)
    try:
        _build(path, build)
    except (OSError, MetabaseError) as exc:
        log.info("cannot cache the starter in %s (%s): loading it into memory", path.parent, exc)
        return None
    return _open_whole(path)


def _open_whole(path: Path):
    """Open ``path`` read-only and check, once per process, that it is as long as DuckDB's own
    block count says (DuckDB opens a truncated file and fails only on reading a missing block).
    """
    from metabase.errors import StoreError
    from metabase.store import open_reader
    from metabase.store.snapshot import file_bytes_needed

    con = open_reader(path, wait_s=0)
    if path in _checked:
        return con
    try:
        expected = file_bytes_needed(con)
        size = path.stat().st_size
        if size < expected:
            raise StoreError(f"{size:,} bytes where its blocks need {expected:,}: a partial file")
    except BaseException:
        con.close()
        raise
    _checked.add(path)
    return con


def _build(path: Path, build) -> None:
    """Write the cache under a name of its own, then rename it into place; remove older ones."""
    from metabase.store import open_writer
    from metabase.store.snapshot import checkpoint

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        writer = open_writer(partial, wait_s=0)
        try:
            build(writer)
            checkpoint(writer)
        finally:
            writer.close()
        partial.chmod(0o444)  # nothing writes to it again: it is replaced, never changed
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
        Path(str(partial) + ".wal").unlink(missing_ok=True)
    for old in path.parent.glob(f"{PREFIX}*{SUFFIX}"):
        if old != path:
            old.unlink(missing_ok=True)
