"""What a sync will fetch: the request, its scope resolved against OpenML, and the windows.

Scope resolution happens before anything is written: an unknown task, flow or suite raises
:class:`NotFoundError` and the store stays as it was.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from metabase.errors import InputError, NotFoundError
from metabase.openml.lister import Window, id_chunks

log = logging.getLogger(__name__)

DEFAULT_MEASURES = ("predictive_accuracy",)


@dataclass(frozen=True)
class SyncRequest:
    """``metabase sync``'s options. ``max_runs`` caps the runs taken per task and measure."""

    suite: str | None = None
    tasks: tuple[int, ...] = ()
    flows: tuple[int, ...] = ()
    measures: tuple[str, ...] = DEFAULT_MEASURES
    since: datetime | None = None
    max_runs: int | None = None
    dry_run: bool = False
    jobs: int = 4
    commit_rows: int = 50_000  # rows per transaction (1: every page its own transaction)

    def __post_init__(self) -> None:
        if not (self.suite or self.tasks or self.flows):
            raise InputError(
                "nothing to sync: give --suite, --tasks or --flows "
                "(e.g. `metabase sync --suite OpenML100`)"
            )
        if self.max_runs is not None and self.max_runs < 1:
            raise InputError("--max-runs must be a positive number")
        if not self.measures:
            raise InputError("--measures needs at least one OpenML measure name")
        if self.commit_rows < 1:
            raise InputError("--commit-rows must be a positive number")
        if not 1 <= self.jobs <= 32:
            raise InputError("--jobs must be within 1..32")


@dataclass(frozen=True)
class Scope:
    task_ids: tuple[int, ...]
    flow_ids: tuple[int, ...]
    measures: tuple[str, ...]
    suite: dict | None = None
    task_list: pa.Table | None = field(default=None, repr=False, compare=False)
    flows: tuple[dict, ...] = field(default=(), repr=False, compare=False)

    def evaluation_windows(self, keyset: bool = True) -> list[Window]:
        """One window per measure and task (per flow when no task is given), paged by run id
        ranges when the server takes them (``keyset``), else by offset.
        """
        key = "run" if keyset else None
        flows = ",".join(map(str, self.flow_ids))
        windows = []
        for measure in self.measures:
            if self.task_ids:
                for task in self.task_ids:
                    filters = [("function", measure)]
                    if flows:
                        filters.append(("flow", flows))
                    filters.append(("task", str(task)))
                    windows.append(Window("evaluation", tuple(filters), key_filter=key))
            else:
                for flow in self.flow_ids:
                    windows.append(
                        Window(
                            "evaluation",
                            (("function", measure), ("flow", str(flow))),
                            key_filter=key,
                        )
                    )
        return windows


def resolve_scope(gateway, request: SyncRequest, synced_measures=frozenset()) -> Scope:
    """Suite -> tasks; check every measure, task and flow exists (NotFoundError naming the
    unknown ones). Measures the store was synced with before (``synced_measures``) are not
    asked about again: an incremental sync costs no call for them.
    """
    from metabase.openml.entities import parse_flow

    check_measures(gateway, [m for m in request.measures if m not in synced_measures])
    suite = None
    tasks = set(int(t) for t in request.tasks)
    if request.suite:
        suite = gateway.study(request.suite)
        if not suite["tasks"]:
            raise NotFoundError(f"suite {request.suite!r} (study {suite['id']}) lists no tasks")
        tasks |= set(suite["tasks"])
    task_list = None
    if tasks:
        task_list = fetch_task_list(gateway, sorted(tasks))
        found = set(task_list["task_id"].to_pylist())
        unknown = sorted(tasks - found)
        if unknown:
            shown = ", ".join(map(str, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
            raise NotFoundError(f"unknown task id(s) on OpenML: {shown}")
    flows = []
    if request.flows:
        bodies = gateway.many_xml(
            [f"flow/{int(f)}" for f in sorted(set(request.flows))], not_found_ok=True
        )
        unknown = [f for f, b in zip(sorted(set(request.flows)), bodies) if b is None]
        if unknown:
            raise NotFoundError(f"unknown flow id(s) on OpenML: {', '.join(map(str, unknown))}")
        flows = [parse_flow(b) for b in bodies]
    return Scope(
        tuple(sorted(tasks)),
        tuple(sorted(set(int(f) for f in request.flows))),
        tuple(dict.fromkeys(request.measures)),
        suite,
        task_list,
        tuple(flows),
    )


def measures_in(marks) -> frozenset[str]:
    """The measures of the evaluation windows whose marks (keys ``.../function/<measure>/...``) a
    store holds.
    """
    found = set()
    for key in marks:
        parts = key.split("/")
        found.update(parts[i + 1] for i, part in enumerate(parts[:-1]) if part == "function")
    return frozenset(found)


def check_measures(gateway, measures) -> None:
    """Refuse measure names OpenML does not know: it answers them with an empty list, which would
    make a sync of nothing look like success. A server without the measure list is trusted.
    """
    if not measures:
        return
    known = gateway.evaluation_measures()
    if known is None:
        log.warning(
            "the server does not list its evaluation measures: %s not checked", ", ".join(measures)
        )
        return
    unknown = [m for m in dict.fromkeys(measures) if m not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(known), n=1, cutoff=0.85)
        hint = (
            f" (did you mean {close[0]}?)"
            if close
            else " (e.g. predictive_accuracy, area_under_roc_curve)"
        )
        raise NotFoundError(f"unknown evaluation measure(s) on OpenML: {', '.join(unknown)}{hint}")


def fetch_task_list(gateway, task_ids: list[int]) -> pa.Table:
    windows = [
        Window("task", (("task_id", ",".join(map(str, chunk))),), max_rows=len(chunk))
        for chunk in id_chunks(task_ids)
    ]
    return gateway.lister.table(windows)


def estimate(
    scope: Scope,
    state: dict[str, tuple[int, int]],
    known_datasets: set[int],
    known_flows: set[int],
) -> dict:
    """The plan and a lower bound on the number of calls (run counts are unknown up front)."""
    windows = scope.evaluation_windows()
    resumed = sum(1 for w in windows if w.key in state)
    datasets = set()
    if scope.task_list is not None:
        datasets = set(d for d in scope.task_list["did"].to_pylist() if d is not None)
    new_datasets = len(datasets - known_datasets)
    phases = [
        {"phase": "tasks", "items": len(scope.task_ids), "calls": (2 if scope.task_ids else 0)},
        {"phase": "datasets+qualities", "items": new_datasets, "calls": 2 * new_datasets},
        {
            "phase": "flows",
            "items": len(set(scope.flow_ids) - known_flows),
            "calls": len(set(scope.flow_ids) - known_flows),
        },
        {
            "phase": "evaluations",
            "items": len(windows),
            "calls": len(windows),
            "note": f"one window per measure and {'task' if scope.task_ids else 'flow'}, "
            f"at least one page each ({resumed} resume from an earlier sync); "
            "+1 page per 1,000 runs",
        },
        {
            "phase": "setups",
            "items": None,
            "calls": None,
            "note": "one call per ~200 new setups (ids listed in the URL)",
        },
    ]
    total = sum(p["calls"] or 0 for p in phases)
    return {
        "tasks": len(scope.task_ids),
        "flows": list(scope.flow_ids),
        "measures": list(scope.measures),
        "suite": None
        if scope.suite is None
        else {"id": scope.suite["id"], "name": scope.suite["name"]},
        "phases": phases,
        "estimated_calls": total,
        "estimated_calls_is": "a lower bound",
        "windows": len(windows),
    }
