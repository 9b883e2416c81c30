"""Fetched list pages kept on disk beside the store until their rows are committed.

The sync commits pages in groups (one transaction per page is 5x slower), so without this a kill
would lose every page of the group not yet committed, and the re-run would fetch them again. The
lister's threads put each page here the moment it has been received and parsed, before anyone
consumes it; the engine tells the spool which pages a commit covered. A re-run finds the pages
the killed run had received but not committed and uses them instead of asking the server again,
so a kill costs at most the one page whose write it interrupted (plus requests still in flight,
whose answers had not arrived).

Layout: ``<store file name>.sync-spool/<phase>/`` holds an ``ORIGIN`` file (the server the pages
came from: pages of another server are thrown away) and append-only segment files of frames
``MAGIC | key length | data length | key | Arrow IPC stream of the page``. A torn frame at the end
of a segment (the kill hit the write) is ignored. Writes go straight to the OS (no user-space
buffer), which is all SIGKILL needs; a power cut may lose pages, which are then fetched again.
Each commit starts a new segment, and a segment whose pages are all committed is deleted, so the
spool holds about one commit group; the keys of committed pages still in a segment are appended
to ``committed.log`` (whole lines only count), so a re-run does not take them for pending ones.
Keys are list calls without the API key (it travels as a
query parameter, never in the call), so no secret is written.

The spool never fails a sync: if the disk refuses a write, it switches itself off and the sync
goes on as before (a kill then re-fetches the uncommitted group).
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
import threading
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa

log = logging.getLogger(__name__)

MAGIC = b"MBSP"
_HEAD = struct.Struct("<4sIQ")  # magic, key bytes, data bytes


def spool_dir(store_path: Path, phase: str) -> Path:
    store_path = Path(store_path)
    return store_path.with_name(f"{store_path.name}.sync-spool") / phase


class PageSpool:
    """Pages keyed by their list call; thread-safe ``put``/``get``; see the module doc."""

    def __init__(self, directory: Path, origin: str) -> None:
        self.directory = Path(directory)
        self.enabled = True
        self.reused = 0  # pages served from disk instead of the server
        self._lock = threading.Lock()
        self._index: dict[
            str, tuple[Path, int, int]
        ] = {}  # key -> (segment, data offset, data bytes)
        self._live: dict[Path, set[str]] = {}  # segment -> keys not yet committed
        self._current: tuple[Path, int] | None = None  # (segment, fd)
        self._next = 0
        try:
            self._open(origin)
        except OSError as exc:
            self._disable(exc)

    # -- opening ------------------------------------------------------------------------------
    def _open(self, origin: str) -> None:
        marker = self.directory / "ORIGIN"
        if self.directory.is_dir() and (not marker.is_file() or marker.read_text() != origin):
            shutil.rmtree(self.directory)  # pages of another server (or an unknown one)
        self.directory.mkdir(parents=True, exist_ok=True)
        if not marker.is_file():
            tmp = marker.with_suffix(".tmp")
            tmp.write_text(origin)
            os.replace(tmp, marker)
        for segment in sorted(self.directory.glob("seg-*.pages"), key=_segment_number):
            self._next = max(self._next, _segment_number(segment) + 1)
            self._live[segment] = self._scan(segment)
        log_path = self.directory / "committed.log"
        if log_path.is_file():
            text = log_path.read_bytes().decode(errors="replace")
            for key in text.split("\n")[:-1]:  # the last item is a torn line or empty
                self._drop(key)
        self._delete_spent()

    def _scan(self, segment: Path) -> set[str]:
        keys = set()
        with open(segment, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            pos = 0
            while pos + _HEAD.size <= size:
                magic, key_len, data_len = _HEAD.unpack(f.read(_HEAD.size))
                end = pos + _HEAD.size + key_len + data_len
                if magic != MAGIC or end > size:
                    break  # a torn (or foreign) tail: the pages before it are whole
                key = f.read(key_len).decode(errors="replace")
                self._drop(key)
                self._index[key] = (segment, pos + _HEAD.size + key_len, data_len)
                keys.add(key)
                f.seek(end)
                pos = end
        return keys

    # -- pages ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._index)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._index)

    def get(self, key: str) -> pa.RecordBatch | None:
        with self._lock:
            where = self._index.get(key)
        if where is None:
            return None
        batch = _read(*where)
        if batch is not None:
            with self._lock:
                self.reused += 1
        return batch

    def put(self, key: str, batch: pa.RecordBatch) -> None:
        if not self.enabled:
            return
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        data = sink.getvalue()
        raw_key = key.encode()
        with self._lock:
            if not self.enabled:
                return
            try:
                if self._current is None:
                    segment = self.directory / f"seg-{self._next}.pages"
                    self._next += 1
                    fd = os.open(segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                    self._current = (segment, fd)
                    self._live[segment] = set()
                segment, fd = self._current
                offset = os.fstat(fd).st_size
                os.write(
                    fd, _HEAD.pack(MAGIC, len(raw_key), data.size) + raw_key + data.to_pybytes()
                )
            except OSError as exc:
                self._disable(exc)
                return
            self._drop(key)
            self._index[key] = (segment, offset + _HEAD.size + len(raw_key), data.size)
            self._live[segment].add(key)

    def pending(self) -> Iterator[tuple[str, pa.RecordBatch]]:
        """Every page not committed yet (readable ones), in no particular order."""
        with self._lock:
            items = list(self._index.items())
        for key, where in items:
            batch = _read(*where)
            if batch is not None:
                with self._lock:
                    self.reused += 1
                yield key, batch

    def committed(self, keys: Iterable[str]) -> None:
        """These pages' rows are in the store: forget them, start a new segment, and delete the
        segments with nothing left to give.
        """
        with self._lock:
            dropped = [key for key in keys if self._drop(key)]
            self._close_current()
            self._delete_spent()
            if dropped and self._live and self.enabled:  # segments that still hold them remain
                try:
                    with open(self.directory / "committed.log", "ab", buffering=0) as f:
                        f.write("".join(f"{key}\n" for key in dropped).encode())
                except OSError as exc:
                    self._disable(exc)

    def clear(self) -> None:
        """The phase is complete: remove the spool (and its parent when empty)."""
        with self._lock:
            self._close_current()
            self._index.clear()
            self._live.clear()
            shutil.rmtree(self.directory, ignore_errors=True)
            try:
                self.directory.parent.rmdir()
            except OSError:
                pass

    # -- internals --------------------------------------------------------------------------------
    def _drop(self, key: str) -> bool:
        where = self._index.pop(key, None)
        if where is None:
            return False
        if where[0] in self._live:
            self._live[where[0]].discard(key)
        return True

    def _delete_spent(self) -> None:
        """Delete the segments with no pending page (never the one being written)."""
        current = self._current[0] if self._current else None
        for segment, live in list(self._live.items()):
            if not live and segment != current:
                del self._live[segment]
                try:
                    segment.unlink()
                except OSError:
                    pass
        if not self._live:
            try:
                (self.directory / "committed.log").unlink()
            except OSError:
                pass

    def _close_current(self) -> None:
        if self._current is not None:
            os.close(self._current[1])
            self._current = None

    def _disable(self, exc: OSError) -> None:
        log.warning("page spool off (%s): a kill will re-fetch the pages not yet committed", exc)
        self.enabled = False
        if self._current is not None:
            try:
                os.close(self._current[1])
            except OSError:
                pass
            self._current = None


def _segment_number(path: Path) -> int:
    try:
        return int(path.stem.split("-", 1)[1])
    except (IndexError, ValueError):
        return -1


def _read(segment: Path, offset: int, size: int) -> pa.RecordBatch | None:
    """One spooled page, or None when it cannot be read back (it is then fetched again)."""
    try:
        with open(segment, "rb") as f:
            f.seek(offset)
            data = f.read(size)
        return pa.ipc.open_stream(data).read_next_batch()
    except (OSError, pa.ArrowException, StopIteration):
        return None
