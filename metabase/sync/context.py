"""What the phases of a sync share: one frozen context, and one way to commit pages in groups."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from metabase.sync.plan import SyncRequest

GROUP_S = 1.0  # commit pending pages at least this often


class Progress(Protocol):
    def phase(self, name: str, total: int | None) -> None: ...
    def advance(self, units: int = 0, rows: int = 0) -> None: ...
    def done(self) -> None: ...


class NullProgress:
    def phase(self, name, total):
        pass

    def advance(self, units=0, rows=0):
        pass

    def done(self):
        pass


@dataclass(frozen=True)
class SyncContext:
    """What every phase works with. ``process``: parse and type setup pages in a worker process;
    ``crash_at``: the resume tests' hook, ``phase:n:before|after`` SIGKILLs the sync at the n-th
    write of a phase, inside its transaction (before the commit) or right after it.
    """

    gateway: Any
    store: Any  # the write session: get(), close(), release_if_due()
    request: SyncRequest
    progress: Progress
    process: bool = False
    crash_at: str | None = None

    def crash_point(self, phase: str, n: int, when: str) -> None:
        if self.crash_at and self.crash_at == f"{phase}:{n}:{when}":
            os.kill(os.getpid(), signal.SIGKILL)


class Batch:
    """Pages waiting for their commit, written by ``write(writer, items)`` in one transaction at
    ``commit_rows`` rows or after ``GROUP_S``, then forgotten by the spool.

    One transaction per page costs a commit each (5x slower at 1,000-row pages), so pages are
    committed in small groups; a kill loses at most the group not yet committed, and with
    ``commit_rows=1`` every page is its own transaction.
    """

    def __init__(
        self, ctx: SyncContext, phase: str, spool, write: Callable[[Any, list], None]
    ) -> None:
        self.ctx, self.phase, self.spool, self.write = ctx, phase, spool, write
        self.items: list = []
        self.keys: list[str] = []
        self.idle: list[str] = []  # pages with nothing to write: forgotten at the next flush
        self.rows = 0
        self.since = 0.0
        self.flushes = 0

    def add(self, item, key: str, rows: int) -> None:
        if not self.items:
            self.since = time.monotonic()
        self.items.append(item)
        self.keys.append(key)
        self.rows += max(1, rows)
        if self.rows >= self.ctx.request.commit_rows or time.monotonic() - self.since >= GROUP_S:
            self.flush()

    def skip(self, key: str) -> None:
        self.idle.append(key)

    def flush(self) -> None:
        if not self.items:
            return
        self.flushes += 1
        writer = self.ctx.store.get()
        with writer.transaction():  # the pages and what marks them done, all or nothing
            self.write(writer, self.items)
            self.ctx.crash_point(self.phase, self.flushes, "before")
        self.ctx.crash_point(self.phase, self.flushes, "after")
        self.spool.committed(self.keys + self.idle)
        self.items, self.keys, self.idle, self.rows = [], [], [], 0
        self.ctx.store.release_if_due()
