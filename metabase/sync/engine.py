"""``metabase sync``: OpenML -> the store, incremental and resumable.

Phases: tasks, datasets and qualities (one transaction) -> evaluations and their runs (windowed
keyset lists) -> flows the runs use -> setups of the runs (typed configs; parsed and typed in a
worker process with METABASE_SYNC_PROCESS=1, see ``metabase.openml.procpages``), then one UPDATE
gives runs their setup's pipeline, config and config_hash -> provenance.

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

import json
import logging
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pyarrow as pa

from metabase.openml.lister import Window, id_windows
from metabase.openml.spool import PageSpool, spool_dir
from metabase.store import CONTRACT_TABLES, open_reader, open_writer, reader_waiting, utcnow
from metabase.sync import records
from metabase.sync.plan import Scope, SyncRequest, estimate, measures_in, resolve_scope

log = logging.getLogger(__name__)

ENTITY = "evaluation"
# Test hook: ``phase:n:before|after`` SIGKILLs the process at the n-th write of a phase, inside
# the transaction (before its commit) or right after it. Used by the resume tests only.
CRASH_ENV = "METABASE_SYNC_CRASH_AT"
HOLD_WRITER_S = 30.0  # close the write connection at least this often (and at once for a waiting reader)
YIELD_AFTER_S = 0.5  # ...but hold it this long between closes, so that commits still get done
# Each close checkpoints the store, and a DuckDB checkpoint rewrites the tables' key indexes: with a
# close every 5 s and DuckDB's own checkpoints at 16 MB of log, a 1M-evaluation sync took 46-51 s
# where it takes 37-46 s now. Between closes the write-ahead log may grow this large (30 s of
# writes, in practice) before DuckDB checkpoints on its own; a killed sync replays it on reopening.
CHECKPOINT_THRESHOLD = "1GB"
RANGE_SPAN = 5000  # ids per setup range window
DENSE_GAP = 16  # setup ids further apart than this are not asked as one id range
GROUP_S = 1.0  # commit pending pages at least this often
_STATE_SCHEMA = pa.schema([("entity", pa.string()), ("filter_key", pa.string()), ("high_water", pa.string()),
                           ("done", pa.bool_()), ("updated_at", pa.timestamp("us"))])


class Progress(Protocol):
    def phase(self, name: str, total: int | None) -> None: ...
    def advance(self, units: int = 0, rows: int = 0) -> None: ...
    def done(self) -> None: ...


def _crash_point(phase: str, n: int, when: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if spec and spec == f"{phase}:{n}:{when}":
        os.kill(os.getpid(), signal.SIGKILL)


class NullProgress:
    def phase(self, name, total):
        pass

    def advance(self, units=0, rows=0):
        pass

    def done(self):
        pass


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
        return {"dry_run": self.dry_run, "server": self.server, "added": self.added, "fetched": self.fetched,
                "calls": self.calls, "retries": self.retries, "seconds": round(self.seconds, 3),
                **({"plan": self.plan} if self.plan else {}), **self.extra}


class _StoreSession:
    """The write connection, opened on demand; released when a reader waits for the store
    (:func:`metabase.store.reader_waiting`) and at least every ``HOLD_WRITER_S``."""

    def __init__(self, path) -> None:
        self.path = path
        self.writer = None
        self.opened = 0.0

    def get(self):
        if self.writer is None:
            self.writer = open_writer(self.path)
            self.writer.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
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
        if "sync_state" not in con.tables():
            return {}, set(), set(), set()
        marks = {}
        for key, high in con.execute("SELECT filter_key, high_water FROM sync_state WHERE entity = ?",
                                     [ENTITY]).fetchall():
            mark = json.loads(high or "{}")
            marks[key] = (int(mark.get("pos", 0)), int(mark.get("rows", 0)))
        datasets = {r[0] for r in con.execute("SELECT dataset_id FROM datasets WHERE source = 'openml'").fetchall()}
        qualities = {r[0] for r in con.execute(
            "SELECT DISTINCT dataset_id FROM dataset_qualities WHERE source = 'openml'").fetchall()}
        flows = {r[0] for r in con.execute("SELECT flow_id FROM flows WHERE source = 'openml'").fetchall()}
        return marks, datasets, qualities, flows
    finally:
        con.close()


def _counts(writer) -> dict[str, int]:
    return {t: int(writer.scalar(f"SELECT count(*) FROM {t}")) for t in CONTRACT_TABLES if t != "learning_curves"}


def run_sync(workspace, request: SyncRequest, progress: Progress | None = None, gateway=None) -> SyncResult:
    """Sync what ``request`` asks for from OpenML into the workspace's store."""
    progress = progress or NullProgress()
    gateway = gateway or workspace.gateway()
    gateway.in_flight = request.jobs
    t0 = time.perf_counter()
    started = utcnow()
    path = workspace.store_path
    marks, known_datasets, known_qualities, known_flows = _read_state(path)
    scope = resolve_scope(gateway, request, measures_in(marks))  # raises before any write
    if request.dry_run:
        plan = estimate(scope, marks, known_datasets, known_flows)
        return SyncResult({}, {}, gateway.client.calls, gateway.client.retries, time.perf_counter() - t0,
                          plan=plan, dry_run=True, server=gateway.server)
    store = _StoreSession(path)
    fetched: dict[str, int] = {"spooled_pages": 0}
    skipped: Counter = Counter()  # rows OpenML sent that were not stored, by reason
    try:
        before = _counts(store.get())
        store.close()  # not held while the metadata is fetched
        timings = {}
        for name, phase in (
                ("metadata", lambda: _metadata(gateway, store, scope, known_datasets, known_qualities,
                                               known_flows, progress, fetched)),
                ("evaluations", lambda: _evaluations(gateway, store, scope, request, marks, progress, fetched,
                                                     skipped)),
                ("flows", lambda: _flows(gateway, store, progress, fetched)),
                ("setups", lambda: _setups(gateway, store, request, progress, fetched))):
            t = time.perf_counter()
            phase()
            timings[name] = round(time.perf_counter() - t, 3)
        writer = store.get()
        after = _counts(writer)
        added = {t: after[t] - before[t] for t in after}
        with writer.transaction():
            writer.record_import("openml-sync", gateway.server, started, {**added, "calls": gateway.client.calls})
            _crash_point("finish", 1, "before")
        writer.refresh_views()
    finally:
        store.close()
        progress.done()
    if skipped:
        log.warning("%s", records.skipped_summary(skipped))
    return SyncResult(added, fetched, gateway.client.calls, gateway.client.retries, time.perf_counter() - t0,
                      server=gateway.server,
                      extra={"phase_seconds": timings, "skipped_rows": dict(skipped)})



# -- phases ---------------------------------------------------------------------------------
def _metadata(gateway, store, scope: Scope, known_datasets, known_qualities, known_flows, progress, fetched) -> None:
    from metabase.openml.entities import parse_dataset, parse_procedures, parse_qualities

    tasks, inputs, procedures, datasets, qualities = [], [], [], [], []
    dataset_ids: list[int] = []
    if scope.task_list is not None and scope.task_list.num_rows:
        procedures = parse_procedures(gateway.entity_xml("estimationprocedure/list"))
        names = {p["estimation_procedure_id"]: p["name"] for p in procedures}
        tasks = records.tasks_rows(scope.task_list, names)
        inputs = records.task_inputs_rows(scope.task_list)
        dataset_ids = sorted({t["dataset_id"] for t in tasks if t["dataset_id"] is not None})
    need_data = [d for d in dataset_ids if d not in known_datasets]
    need_qual = [d for d in dataset_ids if d not in known_qualities]
    progress.phase("tasks, datasets, qualities", len(need_data) + len(need_qual) + 1)
    for body in gateway.many_xml([f"data/{d}" for d in need_data], not_found_ok=True):
        progress.advance(1, 1)
        if body is not None:
            datasets.append(records.dataset_row(parse_dataset(body)))
    for d, body in zip(need_qual, gateway.many_xml([f"data/qualities/{d}" for d in need_qual], not_found_ok=True)):
        progress.advance(1)
        if body is not None:
            qualities.extend(records.quality_rows(d, parse_qualities(body)))
    flows = [records.flow_row(f) for f in scope.flows if f["flow_id"] not in known_flows]
    writer = store.get()
    with writer.transaction():
        if procedures:
            writer.upsert("estimation_procedures", pa.Table.from_pylist(
                [{**p, "source": records.SOURCE} for p in procedures]))
        if tasks:
            writer.upsert("tasks", pa.Table.from_pylist(tasks))
            writer.upsert("task_inputs", pa.Table.from_pylist(inputs))
        if datasets:
            writer.upsert("datasets", pa.Table.from_pylist(datasets))
        if qualities:
            writer.upsert("dataset_qualities", pa.Table.from_pylist(qualities))
        if flows:
            writer.upsert("flows", pa.Table.from_pylist(flows))
        _crash_point("metadata", 1, "before")
    _crash_point("metadata", 1, "after")
    progress.advance(1)
    fetched.update(tasks=len(tasks), datasets=len(datasets), dataset_qualities=len(qualities), flows=len(flows))


class _Group:
    """Pages waiting for their commit: flushed at ``commit_rows`` rows or after ``GROUP_S``.

    One transaction per page costs a commit each (5x slower at 1,000-row pages), so pages are
    committed in small groups; a kill loses at most the group not yet committed, and with
    ``commit_rows=1`` every page is its own transaction."""

    def __init__(self, commit_rows: int) -> None:
        self.commit_rows = commit_rows
        self.items: list = []
        self.rows = 0
        self.since = 0.0

    def add(self, item, rows: int) -> bool:
        if not self.items:
            self.since = time.monotonic()
        self.items.append(item)
        self.rows += max(1, rows)
        return self.rows >= self.commit_rows or time.monotonic() - self.since >= GROUP_S

    def take(self) -> list:
        items, self.items, self.rows = self.items, [], 0
        return items


def _evaluations(gateway, store, scope: Scope, request: SyncRequest, marks, progress, fetched,
                 skipped: Counter) -> None:
    windows = scope.evaluation_windows(keyset=gateway.supports_id_ranges())
    spool = PageSpool(spool_dir(store.path, "evaluations"), gateway.server)
    progress.phase("runs and evaluations", len(windows))
    rows = 0
    group = _Group(request.commit_rows)
    flushes = 0

    def flush() -> None:
        nonlocal flushes
        items = group.take()
        if not items:
            return
        flushes += 1
        runs = [r for r, _, _, _ in items if r.num_rows]
        evaluations = [e for _, e, _, _ in items if e.num_rows]
        state = {}
        for _, _, mark, _ in items:
            state[mark["filter_key"]] = mark  # the last mark of each window
        writer = store.get()
        with writer.transaction():  # the pages and their marks, all or nothing
            runs, evaluations = _without_published(writer, runs, evaluations)
            if runs:
                writer.upsert_new("runs", pa.concat_tables(runs))  # new on a fresh or incremental sync
            if evaluations:
                unique = records.unique_evaluations(pa.concat_tables(evaluations), skipped)
                writer.replace("evaluations", unique, by=["run_key", "measure"])
            writer.upsert("sync_state", pa.Table.from_pylist(list(state.values()), schema=_STATE_SCHEMA), merge=False)
            _crash_point("evaluations", flushes, "before")
        _crash_point("evaluations", flushes, "after")
        spool.committed(key for *_, key in items)
        store.release_if_due()

    for page in gateway.lister.pages(windows, start=marks, max_rows_per_window=request.max_runs, spool=spool):
        runs, evaluations = records.runs_and_evaluations(page.batch, request.since, skipped,
                                                         dict(page.window.filters).get("function"))
        mark = {"entity": ENTITY, "filter_key": page.window.key,
                "high_water": json.dumps({"pos": page.next_position, "rows": page.rows_after}),
                "done": page.last, "updated_at": utcnow()}
        if group.add((runs, evaluations, mark, page.key), page.batch.num_rows):
            flush()
        rows += page.batch.num_rows
        progress.advance(1 if page.last else 0, page.batch.num_rows)
    flush()
    fetched["evaluations"] = rows
    fetched["spooled_pages"] += spool.reused
    spool.clear()


def _flows(gateway, store, progress, fetched) -> None:
    from metabase.openml.entities import parse_flow

    writer = store.get()
    missing = [r[0] for r in writer.execute(
        "SELECT DISTINCT flow_id FROM runs WHERE source = 'openml' AND flow_id IS NOT NULL "
        "AND flow_id NOT IN (SELECT flow_id FROM flows) ORDER BY 1").fetchall()]
    store.close()  # no connection held while fetching
    progress.phase("flows", len(missing))
    rows = []
    for body in gateway.many_xml([f"flow/{f}" for f in missing], not_found_ok=True):
        progress.advance(1, 1)
        if body is not None:
            rows.append(records.flow_row(parse_flow(body)))
    if rows:
        writer = store.get()
        with writer.transaction():
            writer.upsert("flows", pa.Table.from_pylist(rows))
    fetched["flows"] = fetched.get("flows", 0) + len(rows)


def setup_windows(missing: np.ndarray, ranges: bool = True) -> tuple[list[Window], dict[str, tuple[int, int]]]:
    """Windows for the setups the runs lack (sorted unique ids): dense runs of ids as id ranges
    (keyset pages of 1,000), scattered ids as explicit id lists (about 200 per URL).

    The ids are cut at every gap wider than ``DENSE_GAP``; a piece of at least 400 ids that
    covers at most about twice as many ids as it holds is dense. Vectorised: a sync's setups
    number in the millions."""
    missing = np.asarray(missing, dtype=np.int64)
    if not len(missing):
        return [], {}
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(missing) > DENSE_GAP) + 1, [len(missing)]])
    counts = np.diff(bounds)
    spans = missing[bounds[1:] - 1] - missing[bounds[:-1]] + 1
    dense = (counts >= 400) & (spans < 2 * counts + 16) if ranges else np.zeros(len(counts), dtype=bool)
    windows, start = [], {}
    for piece in np.flatnonzero(dense).tolist():  # ask the range, keep only the ids we lack
        first, last = int(missing[bounds[piece]]), int(missing[bounds[piece + 1] - 1])
        for lo in range(first, last + 1, RANGE_SPAN):  # in spans of a few pages: several in flight
            window = Window("setup", (), key_filter="setup", high=min(last, lo + RANGE_SPAN - 1))
            windows.append(window)
            start[window.key] = (lo, 0)
    scattered = missing[~np.repeat(dense, counts)]
    return windows + id_windows("setup", "setup", scattered.tolist()), start


_MISSING_SETUPS = ("SELECT DISTINCT setup_id FROM runs WHERE source = 'openml' AND setup_id IS NOT NULL "
                   "AND setup_id NOT IN (SELECT setup_id FROM setups) ORDER BY 1")


def _setups(gateway, store, request: SyncRequest, progress, fetched) -> None:
    spool = PageSpool(spool_dir(store.path, "setups"), gateway.server)
    writer = store.get()
    missing = writer.execute(_MISSING_SETUPS).fetchnumpy()["setup_id"]  # sorted
    flow_names = dict(writer.execute("SELECT flow_id, name FROM flows").fetchall())
    count = 0
    if len(spool):  # pages a killed sync received but did not commit: store them first
        results = [records.setup_page_records(batch, missing, flow_names)
                   for _, batch in spool.pending()]
        _store_setups(writer, [r for r in results if r is not None], 0)
        spool.committed(spool.keys())
        count = sum(r[0].num_rows for r in results if r is not None)
        missing = writer.execute(_MISSING_SETUPS).fetchnumpy()["setup_id"]
    store.close()
    wanted = missing.astype(np.int64)
    windows, start = setup_windows(wanted, ranges=bool(len(wanted)) and gateway.supports_id_ranges())
    progress.phase("setups", len(windows))
    group = _Group(request.commit_rows)
    flushes = 0
    idle: list[str] = []  # pages with no setup we lack: nothing to commit, forgotten at a flush

    def flush() -> None:
        nonlocal flushes
        items = group.take()
        if not items:
            return
        flushes += 1
        _store_setups(store.get(), [result for result, _ in items], flushes)
        spool.committed([key for _, key in items] + idle)
        idle.clear()
        store.release_if_due()

    if _use_process(len(missing)):
        # parsing and typing pages is most of this phase's work: a child process can do it on
        # another core while this one writes; id-range pages are filtered to the wanted ids there
        from metabase.openml.procpages import process_pages

        stream = ((item.page, item.result) for item in process_pages(
            gateway, windows, start=start, transform=records.setup_page_records,
            transform_args=(wanted, flow_names), spool_directory=spool.directory))
    else:
        stream = ((page, records.setup_page_records(page.batch, wanted if page.window.key_filter else None,
                                                     flow_names))
                  for page in gateway.lister.pages(windows, start=start, spool=spool))
    for page, result in stream:
        rows = 0
        if result is not None:
            rows = result[0].num_rows
            if group.add((result, page.key), rows):
                flush()
        else:
            idle.append(page.key)
        count += rows
        progress.advance(1 if page.last else 0, rows)
    flush()
    _link_runs(store)
    fetched["setups"] = count
    fetched["spooled_pages"] += spool.reused
    spool.clear()


def _store_setups(writer, results: list, flushes: int) -> None:
    """Setup records (``records.setup_page_records`` results) and their flows' pipelines, in one
    transaction."""
    if not results:
        return
    setups = pa.concat_tables([t for t, _ in results]) if len(results) > 1 else results[0][0]
    mapped_flows = {k: v for _, m in results for k, v in m.items()}
    with writer.transaction():  # the setups and their flows' pipelines, together
        writer.upsert_new("setups", setups)  # only setups the runs lack are fetched
        if mapped_flows:
            writer.upsert("flows", pa.table({"flow_id": list(mapped_flows),
                                             "pipeline": list(mapped_flows.values()),
                                             "source": [records.SOURCE] * len(mapped_flows)}))
        _crash_point("setups", flushes, "before")
    _crash_point("setups", flushes, "after")


PROCESS_ENV = "METABASE_SYNC_PROCESS"  # 1: parse and type setup pages in a worker process


def _use_process(setups: int) -> bool:
    """Opt-in: measured on a loaded 2-core machine (server, sync and other work sharing the cores),
    a worker process did not beat the threads (its start, pickling and the extra process cost
    as much as the second core gave); on a machine with idle cores it can pay off."""
    return os.environ.get(PROCESS_ENV) == "1" and setups > 0


def _link_runs(store) -> None:
    """Runs without a config take their setup's pipeline, config and config_hash.

    One set-based UPDATE over the whole phase: updating the runs of each group of setups as they
    came rewrote rows scattered over the whole table again and again (runs are stored in task
    order, setup pages come in id order), which made the phase grow super-linearly. A kill before
    this commits leaves runs without configs; the next sync finds them here (``config IS NULL``),
    so it still ends with a clean run's rows. Runs added later for setups already known (an
    incremental sync) are linked the same way."""
    writer = store.get()
    with writer.transaction():
        writer.execute(
            "UPDATE runs SET config = s.config, config_hash = s.config_hash, "
            "pipeline = coalesce(s.pipeline, runs.pipeline) FROM setups s "
            "WHERE runs.source = 'openml' AND runs.config IS NULL AND runs.setup_id = s.setup_id")
        _crash_point("link", 1, "before")


def _without_published(writer, runs: list, evaluations: list) -> tuple[list, list]:
    """Drop the OpenML runs that are local runs published from this store (and their
    evaluations): the local run is that run's one row, its ``openml_run_id`` set."""
    import pyarrow.compute as pc

    from metabase.store.outbox import published_ids

    ids = {i for t in runs for i in t.column("openml_run_id").to_pylist() if i is not None}
    mine = published_ids(writer, ids)
    if not mine:
        return runs, evaluations
    keys = pa.array([f"openml:{i}" for i in sorted(mine)])
    runs = [t.filter(pc.invert(pc.is_in(t.column("run_key"), keys))) for t in runs]
    evaluations = [t.filter(pc.invert(pc.is_in(t.column("run_key"), keys))) for t in evaluations]
    return [t for t in runs if t.num_rows], [t for t in evaluations if t.num_rows]
