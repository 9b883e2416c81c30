"""The phases of a sync, in order: metadata, evaluations (with their runs), flows, setups. Each
takes the :class:`~metabase.sync.context.SyncContext` and returns what it fetched, by kind.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import partial

import numpy as np
import pyarrow as pa

from metabase.openml.lister import Window, id_windows
from metabase.openml.spool import PageSpool, spool_dir
from metabase.store import sync_queries, utcnow
from metabase.sync import records
from metabase.sync.context import Batch, SyncContext
from metabase.sync.plan import Scope

ENTITY = "evaluation"  # the sync_state entity of the evaluation windows' marks
RANGE_SPAN = 5000  # ids per setup range window
DENSE_GAP = 16  # setup ids further apart than this are not asked as one id range
_STATE_SCHEMA = pa.schema(
    [
        ("entity", pa.string()),
        ("filter_key", pa.string()),
        ("high_water", pa.string()),
        ("done", pa.bool_()),
        ("updated_at", pa.timestamp("us")),
    ]
)


def metadata(
    ctx: SyncContext, scope: Scope, known_datasets, known_qualities, known_flows
) -> dict[str, int]:
    """Tasks, their estimation procedures and inputs, datasets, qualities and the scope's flows
    that the store lacks, in one transaction.
    """
    from metabase.openml.entities import parse_dataset, parse_procedures, parse_qualities

    gateway, progress = ctx.gateway, ctx.progress
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
    for d, body in zip(
        need_qual, gateway.many_xml([f"data/qualities/{d}" for d in need_qual], not_found_ok=True)
    ):
        progress.advance(1)
        if body is not None:
            qualities.extend(records.quality_rows(d, parse_qualities(body)))
    flows = [records.flow_row(f) for f in scope.flows if f["flow_id"] not in known_flows]
    writer = ctx.store.get()
    with writer.transaction():
        if procedures:
            writer.upsert(
                "estimation_procedures",
                pa.Table.from_pylist([{**p, "source": records.SOURCE} for p in procedures]),
            )
        if tasks:
            writer.upsert("tasks", pa.Table.from_pylist(tasks))
            writer.upsert("task_inputs", pa.Table.from_pylist(inputs))
        if datasets:
            writer.upsert("datasets", pa.Table.from_pylist(datasets))
        if qualities:
            writer.upsert("dataset_qualities", pa.Table.from_pylist(qualities))
        if flows:
            writer.upsert("flows", pa.Table.from_pylist(flows))
        ctx.crash_point("metadata", 1, "before")
    ctx.crash_point("metadata", 1, "after")
    progress.advance(1)
    return {
        "tasks": len(tasks),
        "datasets": len(datasets),
        "dataset_qualities": len(qualities),
        "flows": len(flows),
    }


def _write_evaluation_pages(writer, items: list, skipped: Counter) -> None:
    """Runs, evaluations and each window's last mark of a group of ``evaluation/list`` pages; an
    evaluation repeated across the group's pages is written once (and counted in ``skipped``).
    """
    runs = [r for r, _, _ in items if r.num_rows]
    evaluations = [e for _, e, _ in items if e.num_rows]
    state = {mark["filter_key"]: mark for _, _, mark in items}  # the last mark of each window
    runs, evaluations = _without_published(writer, runs, evaluations)
    if runs:
        writer.upsert_new("runs", pa.concat_tables(runs))  # new on a fresh or incremental sync
    if evaluations:
        unique = records.unique_evaluations(pa.concat_tables(evaluations), skipped)
        writer.replace("evaluations", unique, by=["run_key", "measure"])
    writer.upsert(
        "sync_state", pa.Table.from_pylist(list(state.values()), schema=_STATE_SCHEMA), merge=False
    )


def _without_published(writer, runs: list, evaluations: list) -> tuple[list, list]:
    """Drop the OpenML runs that are local runs published from this store (and their
    evaluations): the local run is that run's one row, its ``openml_run_id`` set.
    """
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


def evaluations(ctx: SyncContext, scope: Scope, marks, skipped: Counter) -> dict[str, int]:
    """Every window's evaluations and their runs, from each window's mark on; rows OpenML sent
    malformed are counted in ``skipped`` by reason, never stored.
    """
    gateway, request = ctx.gateway, ctx.request
    windows = scope.evaluation_windows(keyset=gateway.supports_id_ranges())
    spool = PageSpool(spool_dir(ctx.store.path, "evaluations"), gateway.server)
    ctx.progress.phase("runs and evaluations", len(windows))
    rows = 0
    batch = Batch(ctx, "evaluations", spool, partial(_write_evaluation_pages, skipped=skipped))
    for page in gateway.lister.pages(
        windows, start=marks, max_rows_per_window=request.max_runs, spool=spool
    ):
        runs, evals = records.runs_and_evaluations(
            page.batch, request.since, skipped, dict(page.window.filters).get("function")
        )
        mark = {
            "entity": ENTITY,
            "filter_key": page.window.key,
            "high_water": json.dumps({"pos": page.next_position, "rows": page.rows_after}),
            "done": page.last,
            "updated_at": utcnow(),
        }
        batch.add((runs, evals, mark), page.key, page.batch.num_rows)
        rows += page.batch.num_rows
        ctx.progress.advance(1 if page.last else 0, page.batch.num_rows)
    batch.flush()
    spooled = spool.reused
    spool.clear()
    return {"evaluations": rows, "spooled_pages": spooled}


def flows(ctx: SyncContext) -> dict[str, int]:
    """The flows the stored OpenML runs use and the store lacks."""
    from metabase.openml.entities import parse_flow

    missing = sync_queries.flows_lacking(ctx.store.get())
    ctx.store.close()  # no connection held while fetching
    ctx.progress.phase("flows", len(missing))
    rows = []
    for body in ctx.gateway.many_xml([f"flow/{f}" for f in missing], not_found_ok=True):
        ctx.progress.advance(1, 1)
        if body is not None:
            rows.append(records.flow_row(parse_flow(body)))
    if rows:
        writer = ctx.store.get()
        with writer.transaction():
            writer.upsert("flows", pa.Table.from_pylist(rows))
    return {"flows": len(rows)}


def setup_windows(
    missing: np.ndarray, ranges: bool = True
) -> tuple[list[Window], dict[str, tuple[int, int]]]:
    """Windows for the setups the runs lack (sorted unique ids): dense runs of ids as id ranges
    (keyset pages of 1,000), scattered ids as explicit id lists (about 200 per URL).

    The ids are cut at every gap wider than ``DENSE_GAP``; a piece of at least 400 ids that
    covers at most about twice as many ids as it holds is dense. Vectorised: a sync's setups
    number in the millions.
    """
    missing = np.asarray(missing, dtype=np.int64)
    if not len(missing):
        return [], {}
    bounds = np.concatenate(
        [[0], np.flatnonzero(np.diff(missing) > DENSE_GAP) + 1, [len(missing)]]
    )
    counts = np.diff(bounds)
    spans = missing[bounds[1:] - 1] - missing[bounds[:-1]] + 1
    dense = (
        (counts >= 400) & (spans < 2 * counts + 16)
        if ranges
        else np.zeros(len(counts), dtype=bool)
    )
    windows, start = [], {}
    for piece in np.flatnonzero(dense).tolist():  # ask the range, keep only the ids we lack
        first, last = int(missing[bounds[piece]]), int(missing[bounds[piece + 1] - 1])
        for lo in range(first, last + 1, RANGE_SPAN):  # in spans of a few pages: several in flight
            window = Window("setup", (), key_filter="setup", high=min(last, lo + RANGE_SPAN - 1))
            windows.append(window)
            start[window.key] = (lo, 0)
    scattered = missing[~np.repeat(dense, counts)]
    return windows + id_windows("setup", "setup", scattered.tolist()), start


def _write_setups(writer, results: list) -> None:
    """Setup records (``records.setup_page_records`` results) and their flows' pipelines."""
    if not results:
        return
    setups = pa.concat_tables([t for t, _ in results]) if len(results) > 1 else results[0][0]
    mapped_flows = {k: v for _, m in results for k, v in m.items()}
    writer.upsert_new("setups", setups)  # only setups the runs lack are fetched
    if mapped_flows:
        writer.upsert(
            "flows",
            pa.table(
                {
                    "flow_id": list(mapped_flows),
                    "pipeline": list(mapped_flows.values()),
                    "source": [records.SOURCE] * len(mapped_flows),
                }
            ),
        )


def setups(ctx: SyncContext) -> dict[str, int]:
    """The setups the stored OpenML runs use and the store lacks (typed configs), then the runs
    linked to them.
    """
    gateway = ctx.gateway
    spool = PageSpool(spool_dir(ctx.store.path, "setups"), gateway.server)
    writer = ctx.store.get()
    missing = sync_queries.setups_lacking(writer)  # sorted
    flow_names = sync_queries.flow_names(writer)
    count = 0
    if len(spool):  # pages a killed sync received but did not commit: store them first
        results = [
            r
            for r in (
                records.setup_page_records(batch, missing, flow_names)
                for _, batch in spool.pending()
            )
            if r is not None
        ]
        with writer.transaction():
            _write_setups(writer, results)
        spool.committed(spool.keys())
        count = sum(r[0].num_rows for r in results)
        missing = sync_queries.setups_lacking(writer)
    ctx.store.close()
    wanted = missing.astype(np.int64)
    windows, start = setup_windows(
        wanted, ranges=bool(len(wanted)) and gateway.supports_id_ranges()
    )
    ctx.progress.phase("setups", len(windows))
    batch = Batch(ctx, "setups", spool, _write_setups)
    if ctx.process and len(missing):
        # parsing and typing pages is most of this phase's work: a child process can do it on
        # another core while this one writes; id-range pages are filtered to the wanted ids there
        from metabase.openml.procpages import process_pages

        stream = (
            (item.page, item.result)
            for item in process_pages(
                gateway,
                windows,
                start=start,
                transform=records.setup_page_records,
                transform_args=(wanted, flow_names),
                spool_directory=spool.directory,
            )
        )
    else:
        stream = (
            (
                page,
                records.setup_page_records(
                    page.batch, wanted if page.window.key_filter else None, flow_names
                ),
            )
            for page in gateway.lister.pages(windows, start=start, spool=spool)
        )
    for page, result in stream:
        rows = 0
        if result is not None:
            rows = result[0].num_rows
            batch.add(result, page.key, rows)
        else:
            batch.skip(page.key)
        count += rows
        ctx.progress.advance(1 if page.last else 0, rows)
    batch.flush()
    _link_runs(ctx)
    spooled = spool.reused
    spool.clear()
    return {"setups": count, "spooled_pages": spooled}


def _link_runs(ctx: SyncContext) -> None:
    """Runs without a config take their setup's pipeline, config and config_hash, in one
    set-based UPDATE over the whole phase (runs are stored in task order and setups come in id
    order, so updating per group of setups would rewrite scattered rows again and again).

    A kill before this commits leaves runs without configs; the next sync finds them here
    (``config IS NULL``), so it still ends with a clean run's rows. Runs added later for setups
    already known (an incremental sync) are linked the same way.
    """
    writer = ctx.store.get()
    with writer.transaction():
        sync_queries.link_runs_to_setups(writer)
        ctx.crash_point("link", 1, "before")
