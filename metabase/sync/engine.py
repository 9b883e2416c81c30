"""``metabase sync``: OpenML -> the store, incremental and resumable.

Phases (:mod:`metabase.sync.phases`): tasks, datasets and qualities (one transaction) ->
evaluations and their runs (windowed keyset lists) -> flows the runs use -> setups of the runs
(typed configs; optionally parsed and typed in a worker process, see
``metabase.openml.procpages``), then one UPDATE gives runs their setup's pipeline, config and
config_hash -> provenance.

Resumable: evaluation pages are written together with their windows' high-water marks in
``sync_state`` (the next run id to ask for, and the rows had so far), in ONE transaction per group
of pages (``commit_rows`` rows or one second; ``commit_rows=1`` makes every page its own
transaction). Every list page is also put in a spool beside the store the moment it arrives
(``metabase.openml.spool``) and forgotten once committed: a re-run asks again from the stored
marks, takes the pages the killed run had received but not committed from the spool (setup pages
are stored from it before anything is asked), and fetches again at most the page whose spooling
the kill interrupted. Loads are idempotent (runs upsert on ``run_key``, evaluations replace by run
and measure), so it ends with exactly a clean run's rows. Flows and setups are fetched for
whatever runs lack them, and runs without a config are linked to their stored setup at the end,
which makes those phases resumable without marks.

Incremental: the marks stay after a complete sync; OpenML gives new runs higher ids, so the next
sync asks each window only for ids above its mark (one call per window when nothing is new).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from metabase.store import (
    CONTRACT_TABLES,
    open_reader,
    open_writer,
    reader_waiting,
    sync_queries,
    utcnow,
)
from metabase.sync import phases, records
from metabase.sync.context import NullProgress, Progress, SyncContext
from metabase.sync.phases import ENTITY
from metabase.sync.plan import SyncRequest, estimate, measures_in, resolve_scope

log = logging.getLogger(__name__)

HOLD_WRITER_S = (
    30.0  # close the write connection at least this often (and at once for a waiting reader)
)
YIELD_AFTER_S = 0.5  # ...but hold it this long between closes, so that commits still get done
# Each close checkpoints the store (a checkpoint rewrites the tables' key indexes), so the
# write-ahead log may grow this large between closes before DuckDB checkpoints on its own; a
# killed sync replays it on reopening.
CHECKPOINT_THRESHOLD = "1GB"


@dataclass(frozen=True)
class SyncResult:
    added: dict[str, int]
    fetched: dict[str, int]
    calls: int
    retries: int
    seconds: float
    plan: dict | None = None
    dry_run: bool = False
    server: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "server": self.server,
            "added": self.added,
            "fetched": self.fetched,
            "calls": self.calls,
            "retries": self.retries,
            "seconds": round(self.seconds, 3),
            **({"plan": self.plan} if self.plan else {}),
            **self.extra,
        }


class _StoreSession:
    """The write connection, opened on demand; released when a reader waits for the store
    (:func:`metabase.store.reader_waiting`) and at least every ``HOLD_WRITER_S``.
    """

    def __init__(self, path) -> None:
        self.path = path
        self.writer = None
        self.opened = 0.0

    def get(self):
        if self.writer is None:
            self.writer = open_writer(self.path)
            sync_queries.set_checkpoint_threshold(self.writer, CHECKPOINT_THRESHOLD)
            self.opened = time.monotonic()
        return self.writer

    def release_if_due(self) -> None:
        if self.writer is None:
            return
        held = time.monotonic() - self.opened
        if held > HOLD_WRITER_S or (held > YIELD_AFTER_S and reader_waiting(self.path)):
            self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _read_state(path) -> tuple[dict[str, tuple[int, int]], set[int], set[int], set[int]]:
    """(window marks, datasets with openml rows, datasets with openml qualities, flows)."""
    if not path.is_file():
        return {}, set(), set(), set()
    con = open_reader(path)
    try:
        return sync_queries.known(con, ENTITY)
    finally:
        con.close()


def _counts(writer) -> dict[str, int]:
    return sync_queries.counts(writer, [t for t in CONTRACT_TABLES if t != "learning_curves"])


def run_sync(
    path,
    gateway,
    request: SyncRequest,
    progress: Progress | None = None,
    *,
    process: bool = False,
    crash_at: str | None = None,
) -> SyncResult:
    """Sync what ``request`` asks for from OpenML (through ``gateway``) into the store at ``path``;
    ``process`` and ``crash_at`` as :class:`~metabase.sync.context.SyncContext` says.
    """
    progress = progress or NullProgress()
    gateway.in_flight = request.jobs
    t0 = time.perf_counter()
    started = utcnow()
    marks, known_datasets, known_qualities, known_flows = _read_state(path)
    scope = resolve_scope(gateway, request, measures_in(marks))  # raises before any write
    if request.dry_run:
        plan = estimate(scope, marks, known_datasets, known_flows)
        return SyncResult(
            {},
            {},
            gateway.client.calls,
            gateway.client.retries,
            time.perf_counter() - t0,
            plan=plan,
            dry_run=True,
            server=gateway.server,
        )
    ctx = SyncContext(
        gateway, _StoreSession(path), request, progress, process=process, crash_at=crash_at
    )
    fetched: dict[str, int] = {"spooled_pages": 0}
    skipped: Counter = Counter()  # rows OpenML sent that were not stored, by reason
    try:
        before = _counts(ctx.store.get())
        ctx.store.close()  # not held while the metadata is fetched
        timings = {}
        for name, phase in (
            (
                "metadata",
                lambda: phases.metadata(ctx, scope, known_datasets, known_qualities, known_flows),
            ),
            ("evaluations", lambda: phases.evaluations(ctx, scope, marks, skipped)),
            ("flows", lambda: phases.flows(ctx)),
            ("setups", lambda: phases.setups(ctx)),
        ):
            t = time.perf_counter()
            for key, count in phase().items():
                fetched[key] = fetched.get(key, 0) + count
            timings[name] = round(time.perf_counter() - t, 3)
        writer = ctx.store.get()
        after = _counts(writer)
        added = {t: after[t] - before[t] for t in after}
        with writer.transaction():
            writer.record_import(
                "openml-sync", gateway.server, started, {**added, "calls": gateway.client.calls}
            )
            ctx.crash_point("finish", 1, "before")
        writer.refresh_views()
    finally:
        ctx.store.close()
        progress.done()
    if skipped:
        log.warning("%s", records.skipped_summary(skipped))
    return SyncResult(
        added,
        fetched,
        gateway.client.calls,
        gateway.client.retries,
        time.perf_counter() - t0,
        server=gateway.server,
        extra={"phase_seconds": timings, "skipped_rows": dict(skipped)},
    )
