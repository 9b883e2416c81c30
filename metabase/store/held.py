"""A writer connection held between short writes: :class:`HeldWriter`.

Opening the DuckDB file costs more than writing a run, so a process that writes often (the
runner's sink, the bot) keeps one writer open while writes keep coming, and closes it after
``IDLE_S`` seconds without one (a timer: the next write may be minutes away), after ``HOLD_S``
seconds in all (other writers get their turn), or as soon as a reader waits for the store.
Threads share it under a lock; each ``with held() as con:`` block is the caller's transaction.
A write that fails below SQL (a full disk) is :class:`~metabase.errors.StoreWriteError`.
"""

from __future__ import annotations

import errno
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import duckdb

from metabase.errors import StoreWriteError
from metabase.store.connection import reader_waiting
from metabase.store.writer import open_writer

_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}


class HeldWriter:
    IDLE_S, HOLD_S = 1.0, 5.0

    def __init__(self, path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.con = None
        self.opened = 0.0
        self.timer: threading.Timer | None = None

    @contextmanager
    def __call__(self) -> Iterator:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
            if self.con is None:
                self.con, self.opened = open_writer(self.path), time.monotonic()
            try:
                yield self.con
            except (OSError, duckdb.IOException, duckdb.FatalException) as exc:
                if isinstance(exc, OSError) and exc.errno not in _DISK_ERRNOS:
                    raise  # a network error of a caller, say: not the store's
                # the disk is full, say: the transaction rolled back; a connection that failed to
                # write may be unusable, so the next write opens a fresh one
                self._drop()
                raise StoreWriteError(f"cannot write to the store {self.path}: {exc}") from None
            finally:
                if time.monotonic() - self.opened > self.HOLD_S or reader_waiting(self.path):
                    self.close()
                elif self.con is not None:
                    self.timer = threading.Timer(self.IDLE_S, self.close)
                    self.timer.daemon = True
                    self.timer.start()

    def _drop(self) -> None:
        try:
            self.close()
        except Exception:  # duckdb.Error: an invalidated database may refuse even to close
            self.con = None

    def close(self) -> None:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
            if self.con is not None:
                self.con.close()
                self.con = None
