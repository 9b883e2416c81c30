"""``metabase run``: check the request, fetch the task once, run what is missing, store each
result.

Order matters for "bad input leaves the store unchanged": every option, pipeline and
configuration is checked, and the task's data fetched, before the store is opened for writing.
Each result is stored as soon as it arrives (its own short write transaction), so an interrupted
or killed ``metabase run`` loses no finished run, and asking again runs only what is missing:
a run's key is deterministic in (task, pipeline, config hash, seed, fidelity).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from metabase.errors import InputError, StoreNotFoundError
from metabase.records import Fidelity, RunRequest, RunResult, TaskData, run_key
from metabase.services import run_inputs

log = logging.getLogger(__name__)

FORCE_SEED_SEARCH = 1000  # --force looks this far past --seed for an unused seed


@dataclass(frozen=True)
class RunProgress:
    total: int
    done: int
    running: int
    failed: int
    reused: int


@dataclass(frozen=True)
class RunReport:
    """One row per requested run (``run_table`` columns plus ``reused``), in request order."""

    task_id: int
    measure: str
    rows: tuple = field(default_factory=tuple)

    @property
    def executed(self) -> int:
        return sum(1 for r in self.rows if not r["reused"])


def default_resolve(name: str):
    import pipelines

    return pipelines.get(name)


def run(
    ws,
    *,
    task_id: int,
    pipeline: str | None = None,
    config: str | dict | None = None,
    recommended: int | None = None,
    strategy: str = "default",
    sample: int | None = None,
    seed: int = 0,
    configs_file: str | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    time_limit: float | None = None,
    memory_limit: float | str | None = None,
    force: bool = False,
    fidelity: Fidelity | str | None = None,
    catalogue: Callable | None = None,
    progress: Callable[[RunProgress], None] | None = None,
) -> RunReport:
    """Run configurations on ``task_id``'s splits and store every outcome (see the module doc)."""
    resolve = catalogue or default_resolve
    memory_limit, fidelity = check_options(
        executor, ray_address, workers, time_limit, memory_limit, fidelity
    )
    candidates = _candidates(
        ws, resolve, task_id, pipeline, config, recommended, strategy, sample, seed, configs_file
    )
    requests = _requests(candidates, int(task_id), seed, fidelity, time_limit, memory_limit)
    stored = stored_runs(ws, [r.run_key for r in requests])
    if force:
        requests = _fresh_seeds(ws, requests, stored)
        stored = {}
    todo = [r for r in requests if r.run_key not in stored]
    data = None
    if todo:  # the task's data is fetched only when something is to run
        data = ws.gateway().get_task_data(int(task_id))
        run_inputs.check_task_type(resolve, candidates, data.task_type, data.task_id)
        _execute(
            ws, data, todo, executor, ray_address, workers, catalogue, progress, len(requests)
        )
    return _report(ws, int(task_id), data, requests, {r.run_key for r in todo})


def check_options(executor, ray_address, workers, time_limit, memory_limit, fidelity):
    """(memory limit in MiB, :class:`Fidelity`) of the execution options, each checked: the
    options ``run`` and ``tune`` share.
    """
    memory_limit = run_inputs.parse_memory(memory_limit)
    run_inputs.check_limits(time_limit, memory_limit, workers)
    fidelity = fidelity if isinstance(fidelity, Fidelity) else run_inputs.parse_fidelity(fidelity)
    if executor == "ray":
        from metabase.runner.ray_executor import check_ray

        check_ray(ray_address)
    elif executor != "local":
        raise InputError(f"unknown executor {executor!r}; choose local or ray")
    return memory_limit, fidelity


def _candidates(
    ws, resolve, task_id, pipeline, config, recommended, strategy, sample, seed, configs_file
) -> list[run_inputs.Candidate]:
    chosen = [
        name
        for name, value in (
            ("--recommended", recommended),
            ("--sample", sample),
            ("--configs", configs_file),
            ("--config", config),
        )
        if value is not None
    ]
    if len(chosen) > 1:
        raise InputError(
            "give one of --config, --sample, --recommended or --configs, "
            f"not {' and '.join(chosen)}"
        )
    for name, value in (("--recommended", recommended), ("--sample", sample)):
        if value is not None and value < 1:
            raise InputError(f"{name} must be at least 1")
    if configs_file is not None:
        return run_inputs.from_file(configs_file, resolve, pipeline)
    if recommended is not None:
        return _recommended(ws, resolve, task_id, recommended, strategy, pipeline)
    if pipeline is None:
        raise InputError(
            "say what to run: --pipeline NAME [--config JSON | --sample N], "
            "--recommended N or --configs FILE"
        )
    if sample is not None:
        return [(pipeline, c) for c in resolve(pipeline).sample(sample, seed)]
    parsed = config if isinstance(config, dict) else run_inputs.parse_config(config)
    return [run_inputs.canonical(resolve, pipeline, parsed)]


def _recommended(ws, resolve, task_id, k, strategy, pipeline) -> list[run_inputs.Candidate]:
    from metabase.errors import NotFoundError
    from metabase.services.recommend import recommend

    result = recommend(
        ws,
        task_id=int(task_id),
        k=k,
        strategy=strategy,
        pipelines=[pipeline] if pipeline else None,
    )
    out = []
    for rec in result.recommendations:
        try:
            out.append(run_inputs.canonical(resolve, rec.pipeline, rec.config))
        except NotFoundError:
            raise InputError(
                f"recommendation {rec.rank} is {rec.pipeline}, which is not a catalogue pipeline "
                "and cannot be run; pass --pipeline to recommend catalogue pipelines"
            ) from None
    return out


def _requests(
    candidates, task_id: int, seed: int, fidelity: Fidelity, time_limit, memory_limit
) -> list[RunRequest]:
    out, seen = [], set()
    for pipeline, config in candidates:
        request = build_request(
            task_id, pipeline, config, seed, fidelity, time_limit, memory_limit
        )
        if request.run_key not in seen:  # the same configuration twice is one run
            seen.add(request.run_key)
            out.append(request)
    return out


def build_request(
    task_id: int,
    pipeline: str,
    config: dict,
    seed: int,
    fidelity: Fidelity,
    time_limit,
    memory_limit,
) -> RunRequest:
    """The request to run one canonical configuration; its run key follows from it."""
    import pipelines

    return RunRequest(
        task_id=int(task_id),
        pipeline=pipeline,
        config=config,
        config_hash=pipelines.config_hash(pipeline, config),
        seed=int(seed),
        fidelity=fidelity,
        time_limit_s=time_limit,
        memory_limit_mb=memory_limit,
    )


def stored_runs(ws, keys: list[str]) -> dict[str, str]:
    """``{run_key: status}`` of the given keys that the store holds (none without a store)."""
    from metabase.store.runs import existing_runs

    try:
        with ws.reader(starter=False) as con:
            return existing_runs(con, keys) if "runs" in con.tables() else {}
    except StoreNotFoundError:
        return {}


def _fresh_seeds(ws, requests: list[RunRequest], stored: dict) -> list[RunRequest]:
    """``--force``: each run again under the first seed after its own that no stored run used."""
    from dataclasses import replace

    out, taken = [], set()
    for request in requests:
        seeds = [request.seed + i for i in range(1, FORCE_SEED_SEARCH + 1)]
        keys = [
            run_key(request.task_id, request.pipeline, request.config_hash, s, request.fidelity)
            for s in seeds
        ]
        used = stored_runs(ws, keys)
        seed = next(
            s for s, k in zip(seeds, keys, strict=True) if k not in used and k not in taken
        )
        fresh = replace(request, seed=seed)
        taken.add(fresh.run_key)
        out.append(fresh)
    return out


def _execute(ws, data, todo, executor, ray_address, workers, catalogue, progress, total) -> None:
    from metabase.runner import make_executor

    state = {"done": total - len(todo), "failed": 0}
    reused = state["done"]

    def report(pool) -> None:
        if progress is not None:
            progress(
                RunProgress(
                    total, state["done"], pool.running if pool else 0, state["failed"], reused
                )
            )

    report(None)
    pool = make_executor(executor, workers=workers, ray_address=ray_address, catalogue=catalogue)
    sink = Sink(ws, data, pool.name)
    try:
        for request in todo:
            pool.submit(request, data)
        report(pool)
        for result in pool.results():
            sink.write(result)
            state["done"] += 1
            state["failed"] += result.status != "ok"
            report(pool)
    finally:
        pool.close()
        sink.close()


class Sink:
    """Stores each result as it arrives, in its own transaction (a kill loses no stored run),
    through a :class:`~metabase.store.held.HeldWriter` (the writer stays open while results
    keep coming, and gives way to readers).
    """

    def __init__(self, ws, data: TaskData, executor: str) -> None:
        from metabase.store.held import HeldWriter

        self.held = HeldWriter(ws.settings.store_path)
        self.data, self.executor = data, executor
        self.first = True

    def write(self, result: RunResult) -> None:
        from metabase.store.runs import ensure_task, write_results

        with self.held() as con:
            if self.first:
                ensure_task(con, self.data)
                self.first = False
            write_results(con, [result], self.executor)

    def close(self) -> None:
        self.held.close()


def _report(
    ws, task_id: int, data: TaskData | None, requests: list[RunRequest], executed: set[str]
) -> RunReport:
    from metabase.store.runs import run_table, task_kind

    keys = [r.run_key for r in requests]
    try:
        with ws.reader(starter=False) as con:
            kind = (
                (data.task_type, data.evaluation_measure)
                if data is not None
                else task_kind(con, task_id)
            )
            measure = main_measure(*kind)
            rows = run_table(con, keys, {k: measure for k in keys})
    except StoreNotFoundError:
        measure, rows = main_measure(data.task_type if data else "classification", None), []
    for row in rows:
        row["reused"] = row["run_key"] not in executed
    return RunReport(task_id=task_id, measure=measure, rows=tuple(rows))


def main_measure(task_type: str, evaluation_measure: str | None) -> str:
    """The task's own measure where the runner computes it, else accuracy or absolute error."""
    from metabase.runner import measures

    known = measures.CLASSIFICATION if task_type == "classification" else measures.REGRESSION
    return evaluation_measure if evaluation_measure in known else measures.DEFAULT_MAIN[task_type]
