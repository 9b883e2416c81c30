"""Local runs in the store: what is stored already, writing results, the run table.

A result is written in one transaction: its ``runs`` row, its ``run_details``, its evaluations
(per fold and aggregate) and its predictions, so that a killed process leaves a run complete or
absent, never half-written. Writes are idempotent on the run key (a run written twice replaces
itself).
"""

from __future__ import annotations

import json
from typing import Iterable, Sequence

import pyarrow as pa

from metabase.records import RunResult, TaskData, publish_tag
from metabase.store.outbox import stage

LOCAL = "local"


def existing_runs(con, keys: Sequence[str]) -> dict[str, str]:
    """``{run_key: status}`` of the given keys that the store holds."""
    if not keys:
        return {}
    rows = con.execute(
        "SELECT run_key, coalesce(status, 'ok') FROM runs WHERE run_key IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [list(keys)],
    ).fetchall()
    return dict(rows)


def task_kind(con, task_id: int) -> tuple[str, str | None]:
    """(``classification`` or ``regression``, the task's evaluation measure) from ``tasks``."""
    rows = con.execute(
        "SELECT task_type, evaluation_measure FROM tasks WHERE task_id = ?", [int(task_id)]
    ).fetchall()
    row = rows[0] if rows else None
    kind = "regression" if row and row[0] and "regression" in row[0].lower() else "classification"
    return kind, row[1] if row else None


def ensure_task(con, data: TaskData) -> None:
    """Give a task run here its ``tasks`` and ``datasets`` rows when the store lacks them (a
    synced or imported row is left as it is), so that ``run_configs`` names its dataset.
    """
    task_type = {
        "classification": "Supervised Classification",
        "regression": "Supervised Regression",
    }
    with con.transaction():
        con.execute(
            "INSERT INTO tasks (task_id, dataset_id, task_type, target, estimation_procedure, "
            "evaluation_measure, source) VALUES (?, ?, ?, ?, ?, ?, 'openml') "
            "ON CONFLICT DO NOTHING",
            [
                data.task_id,
                data.dataset_id,
                task_type[data.task_type],
                data.target,
                data.estimation_procedure,
                data.evaluation_measure,
            ],
        )
        if data.dataset_id is not None:
            con.execute(
                "INSERT INTO datasets (dataset_id, name, default_target, source) "
                "VALUES (?, ?, ?, 'openml') ON CONFLICT DO NOTHING",
                [data.dataset_id, data.dataset_name, data.target],
            )


def write_results(con, results: Iterable[RunResult], executor: str) -> int:
    """Store finished runs (any status) in one transaction; returns how many.

    A run already stored is replaced. Plain INSERTs of registered Arrow tables: the generic
    ``upsert`` (and its catalogue look-ups) cost more than the rest of a run's write.
    """
    results = list(results)
    if not results:
        return 0
    tables = {
        "runs": pa.Table.from_pylist([_run_row(r) for r in results], schema=_RUN_SCHEMA),
        "run_details": pa.Table.from_pylist(
            [_detail_row(r, executor) for r in results], schema=_DETAIL_SCHEMA
        ),
        "evaluations": pa.Table.from_pylist(
            [row for r in results for row in _evaluation_rows(r)], schema=_EVALUATION_SCHEMA
        ),
    }
    predictions = [
        _prediction_table(r) for r in results if r.predictions is not None and len(r.predictions)
    ]
    if predictions:
        tables["predictions"] = pa.concat_tables(predictions)
    with con.transaction():
        stored = list(existing_runs(con, [r.run_key for r in results]))
        if stored:
            for table in ("runs", "run_details", "evaluations", "predictions"):
                con.execute(
                    f"DELETE FROM {table} WHERE run_key IN (SELECT unnest(?::VARCHAR[]))", [stored]
                )
        for table, data in tables.items():
            if data.num_rows:
                _insert(con, table, data)
        # staged with the run itself: a kill or an outage between running and publishing loses
        # nothing
        stage(con, [(r.run_key, publish_tag(r.run_key)) for r in results])
    return len(results)


def _insert(con, table: str, data: pa.Table) -> None:
    name = f"_incoming_{table}"
    columns = ", ".join(f'"{c}"' for c in data.column_names)
    con.con.register(name, data)
    try:
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {name}")
    finally:
        con.con.unregister(name)


_RUN_SCHEMA = pa.schema(
    [
        ("run_key", pa.string()),
        ("task_id", pa.int64()),
        ("pipeline", pa.string()),
        ("config", pa.string()),
        ("config_hash", pa.string()),
        ("source", pa.string()),
        ("status", pa.string()),
        ("error_message", pa.string()),
        ("created_at", pa.timestamp("us")),
    ]
)
_DETAIL_SCHEMA = pa.schema(
    [
        ("run_key", pa.string()),
        ("seed", pa.int64()),
        ("fidelity", pa.string()),
        ("time_limit_s", pa.float64()),
        ("memory_limit_mb", pa.float64()),
        ("executor", pa.string()),
        ("attempts", pa.int32()),
        ("error_type", pa.string()),
        ("traceback", pa.string()),
        ("class_labels", pa.string()),
        ("environment", pa.string()),
        ("host", pa.string()),
        ("device", pa.string()),
        ("device_name", pa.string()),
        ("started_at", pa.timestamp("us")),
        ("finished_at", pa.timestamp("us")),
        ("runtime_s", pa.float64()),
    ]
)
_EVALUATION_SCHEMA = pa.schema(
    [
        ("run_key", pa.string()),
        ("measure", pa.string()),
        ("value", pa.float64()),
        ("fold", pa.int32()),
        ("repeat", pa.int32()),
        ("sample", pa.int32()),
        ("stdev", pa.float64()),
        ("source", pa.string()),
    ]
)


def _run_row(result: RunResult) -> dict:
    request = result.request
    return {
        "run_key": result.run_key,
        "task_id": int(request.task_id),
        "pipeline": request.pipeline,
        "config": json.dumps(dict(request.config), sort_keys=True, default=str),
        "config_hash": request.config_hash,
        "source": LOCAL,
        "status": result.status,
        "error_message": result.error_message,
        "created_at": result.finished_at,
    }


def _detail_row(result: RunResult, executor: str) -> dict:
    request, env = result.request, dict(result.environment)
    return {
        "run_key": result.run_key,
        "seed": int(request.seed),
        "fidelity": json.dumps(request.fidelity.to_dict()),
        "time_limit_s": request.time_limit_s,
        "memory_limit_mb": request.memory_limit_mb,
        "executor": executor,
        "attempts": result.attempts,
        "error_type": result.error_type,
        "traceback": result.traceback,
        "class_labels": None
        if result.class_labels is None
        else json.dumps(list(result.class_labels)),
        "environment": json.dumps(env, default=str),
        "host": env.get("host"),
        "device": env.get("device"),
        "device_name": env.get("device_name"),
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "runtime_s": result.runtime_s,
    }


def _evaluation_rows(result: RunResult) -> list[dict]:
    return [
        {
            "run_key": result.run_key,
            "measure": m.measure,
            "value": float(m.value),
            "fold": m.fold,
            "repeat": m.repeat,
            "sample": m.sample,
            "stdev": m.stdev,
            "source": LOCAL,
        }
        for m in result.measurements
    ]


def _prediction_table(result: RunResult) -> pa.Table:
    frame = result.predictions
    columns = {"run_key": pa.array([result.run_key] * len(frame), pa.string())}
    for name, kind in (
        ("repeat", pa.int32()),
        ("fold", pa.int32()),
        ("sample", pa.int32()),
        ("row_id", pa.int64()),
        ("prediction", pa.string()),
        ("correct", pa.string()),
    ):
        columns[name] = pa.array(frame[name].to_numpy(), kind)
    if "confidence" in frame:
        # An Arrow-backed column (the runner's) converts without a Python loop over its rows.
        columns["confidence"] = pa.array(frame["confidence"], pa.list_(pa.float64()))
    return pa.table(columns)


def run_table(con, keys: Sequence[str], measure_of: dict[str, str]) -> list[dict]:
    """Per run key (in the given order): pipeline, status, the main measure's mean and standard
    deviation over folds, runtime, device and the error; ``measure_of`` maps keys to the measure.
    """
    if not keys:
        return []
    wanted = pa.table(
        {
            "run_key": list(keys),
            "measure": [measure_of.get(k) for k in keys],
            "position": list(range(len(keys))),
        }
    )
    con.con.register("_wanted_runs", wanted)
    try:
        rows = con.execute("""
            SELECT w.run_key, r.task_id, r.pipeline, r.status, w.measure,
                   avg(e.value) AS mean, stddev_pop(e.value) AS std, count(e.value) AS folds,
                   d.runtime_s, d.device, d.device_name, d.seed, r.error_message, r.config
            FROM _wanted_runs w
            JOIN runs r USING (run_key)
            LEFT JOIN run_details d USING (run_key)
            LEFT JOIN evaluations e
                ON e.run_key = w.run_key AND e.measure = w.measure AND e.fold IS NOT NULL
            GROUP BY ALL ORDER BY any_value(w.position)""").fetchall()
    finally:
        con.con.unregister("_wanted_runs")
    names = (
        "run_key",
        "task_id",
        "pipeline",
        "status",
        "measure",
        "mean",
        "std",
        "folds",
        "runtime_s",
        "device",
        "device_name",
        "seed",
        "error_message",
        "config",
    )
    return [dict(zip(names, row, strict=True)) for row in rows]


def task_local_runs(con, task_id: int, measure: str) -> list[dict]:
    """The task's local runs in the order they were stored: run_key, pipeline, config (JSON
    text), config_hash, status, seed, fidelity (JSON text) and ``value``, the aggregate of
    ``measure`` over folds (None for a failed run).
    """
    if "run_details" not in con.tables():
        return []
    rows = con.execute(
        """
        SELECT r.run_key, r.pipeline, CAST(r.config AS VARCHAR), r.config_hash,
               coalesce(r.status, 'ok'), d.seed, CAST(d.fidelity AS VARCHAR), e.value
        FROM runs r
        LEFT JOIN run_details d USING (run_key)
        LEFT JOIN evaluations e
            ON e.run_key = r.run_key AND e.measure = ? AND e.fold IS NULL
        WHERE r.task_id = ? AND r.source = 'local'
        ORDER BY r.created_at NULLS LAST, r.run_key""",
        [measure, int(task_id)],
    ).fetchall()
    names = ("run_key", "pipeline", "config", "config_hash", "status", "seed", "fidelity", "value")
    return [dict(zip(names, row, strict=True)) for row in rows]
