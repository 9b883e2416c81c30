"""The bot's publishing, off its critical path: a thread publishes a batch of stored runs through
:func:`metabase.services.publish.publish` (the outbox: each run once, whatever happens) while the
loop goes on storing results and starting runs.

In one process DuckDB refuses a read-only connection beside a read-write one, so publish reads
through the bot's held writer (:class:`_ReadThroughHeld`); for its writes it opens its own
read-write connection, which DuckDB allows beside the bot's (the same database instance). The
rows the two write never overlap: the bot inserts new runs and updates running jobs, publish
updates the outbox entries and ``openml_run_id`` of runs already stored.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    report: object | None  # the PublishReport, None when publish raised
    marked: int  # jobs marked published
    error: str | None  # why publish raised


class _ReadThroughHeld:
    """The Workspace as publish sees it, its reads going through the bot's held writer."""

    def __init__(self, ws, held) -> None:
        self._ws, self._held = ws, held

    def __getattr__(self, name):
        return getattr(self._ws, name)

    @contextmanager
    def reader(self, *args, **kwargs):
        with self._held() as con:
            yield con


class Publisher:
    """At most one publishing thread at a time; its outcome is collected by :meth:`outcome`."""

    def __init__(self, ws, held) -> None:
        self.ws, self.held = ws, held
        self.thread: threading.Thread | None = None
        self.done: Published | None = None

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, limit: int) -> bool:
        """Publish up to ``limit`` stored runs in the background; False when nothing waits (or a
        batch is under way).
        """
        from metabase.store import bot as store

        if self.busy:
            return False
        with self.held() as con:
            keys = store.to_publish(con, limit)
        if not keys:
            return False
        self.thread = threading.Thread(
            target=self._work, args=(keys,), name="bot-publish", daemon=True
        )
        self.thread.start()
        return True

    def _work(self, keys: list[str]) -> None:
        from metabase.errors import MetabaseError
        from metabase.services.publish import publish
        from metabase.store import bot as store
        from metabase.store import utcnow

        try:
            report = publish(_ReadThroughHeld(self.ws, self.held), run_keys=keys)
        except MetabaseError as exc:
            report, error = None, str(exc)
        except Exception as exc:  # noqa: BLE001 - reported by the loop, never a dead thread
            report, error = None, f"{type(exc).__name__}: {exc}"
        else:
            error = None
        try:
            with self.held() as con, con.transaction():
                marked = store.mark_published(con, utcnow())
        except MetabaseError as exc:  # the next batch marks them
            marked, error = 0, error or str(exc)
        self.done = Published(report, marked, error)

    def outcome(self) -> Published | None:
        """The finished batch's outcome, once; None while it runs or when none ran."""
        if self.busy or self.done is None:
            return None
        done, self.done = self.done, None
        return done

    def wait(self, timeout: float) -> None:
        if self.thread is not None:
            self.thread.join(timeout)
