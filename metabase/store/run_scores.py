"""The runs of one pipeline with one measure's score, as the importance analysis reads them.

A run belongs to a pipeline through its own ``pipeline`` column, else its flow's (as in the
``run_configs`` view). Only finished runs (status NULL or ``ok``) with a configuration and the
measure's aggregate value (no fold, no repeat) count.
"""

from __future__ import annotations

_PIPELINE = "coalesce(r.pipeline, f.pipeline)"
_RUNS = f"""
FROM runs r
LEFT JOIN flows f ON f.flow_id = r.flow_id
JOIN evaluations e ON e.run_key = r.run_key AND e.fold IS NULL AND e."repeat" IS NULL
WHERE {_PIPELINE} = $pipeline AND coalesce(r.status, 'ok') = 'ok'
  AND r.config IS NOT NULL AND r.task_id IS NOT NULL AND e.value IS NOT NULL
"""


def pipeline_measures(con, pipeline: str) -> dict[str, int]:
    """Measure -> number of the pipeline's runs that have it, most common first."""
    rows = con.execute(
        f"SELECT e.measure, count(*) AS n {_RUNS} GROUP BY e.measure ORDER BY n DESC, e.measure",
        {"pipeline": pipeline},
    ).fetchall()
    return {measure: int(n) for measure, n in rows}


def main_measure(con, pipeline: str) -> str | None:
    """The measure most of the pipeline's runs are scored by in ``run_configs`` (their tasks'
    evaluation measure, else accuracy, else AUC), or None when it has no scored runs.
    """
    return con.scalar(
        "SELECT measure FROM run_configs WHERE pipeline = $pipeline AND score IS NOT NULL "
        "GROUP BY measure ORDER BY count(*) DESC, measure LIMIT 1",
        {"pipeline": pipeline},
    )


def task_run_counts(con, pipeline: str, measure: str) -> dict[int, int]:
    """Task -> number of the pipeline's runs on it with ``measure``."""
    rows = con.execute(
        f"SELECT r.task_id, count(*) {_RUNS} AND e.measure = $measure GROUP BY r.task_id",
        {"pipeline": pipeline, "measure": measure},
    ).fetchall()
    return {int(task): int(n) for task, n in rows}


def run_scores(con, pipeline: str, measure: str, task_ids: list[int] | None = None):
    """DataFrame ``task_id, run_key, config`` (JSON text) ``, score`` ordered by task and run."""
    where = " AND r.task_id IN (SELECT unnest($tasks::BIGINT[]))" if task_ids else ""
    params = {"pipeline": pipeline, "measure": measure}
    if task_ids:
        params["tasks"] = [int(t) for t in task_ids]
    return con.df(
        f"SELECT r.task_id, r.run_key, CAST(r.config AS VARCHAR) AS config, e.value AS score "
        f"{_RUNS} AND e.measure = $measure{where} ORDER BY r.task_id, r.run_key",
        params,
    )


def runs_digest(con, pipeline: str, measure: str) -> str:
    """Changes whenever a run of the pipeline with ``measure`` is added, removed or rescored, or
    its configuration changes: the number of runs, the latest creation time and an
    order-independent checksum of (run, config, score).
    """
    count, latest, checksum = con.execute(
        f"SELECT count(*), max(r.created_at), "
        f"bit_xor(hash(r.run_key, CAST(r.config AS VARCHAR), e.value, r.task_id)) "
        f"{_RUNS} AND e.measure = $measure",
        {"pipeline": pipeline, "measure": measure},
    ).fetchone()
    return f"{count}-{latest}-{checksum}"


def task_qualities(con, task_ids: list[int]):
    """One row per task with its meta-features (``task_qualities_wide``); empty without the
    view.
    """
    exists = con.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'task_qualities_wide'"
    )
    if not exists or not task_ids:
        return con.df(
            "SELECT unnest($tasks::BIGINT[]) AS task_id", {"tasks": [int(t) for t in task_ids]}
        )
    return con.df(
        "SELECT * FROM task_qualities_wide WHERE task_id IN (SELECT unnest($tasks::BIGINT[])) "
        "ORDER BY task_id",
        {"tasks": [int(t) for t in task_ids]},
    )


def value_ranges(con, pipeline: str, measure: str, names: list[str]) -> dict[str, tuple]:
    """Name -> (min, max) of that configuration key's numeric values over all the pipeline's runs
    with ``measure`` ((None, None) where it has none).
    """
    if not names:
        return {}
    columns, params = [], {"pipeline": pipeline, "measure": measure}
    for i, name in enumerate(names):
        params[f"k{i}"] = "$." + json_key(name)
        value = f"TRY_CAST(json_extract_string(r.config, $k{i}) AS DOUBLE)"
        columns.append(f"min({value}), max({value})")
    row = con.execute(
        f"SELECT {', '.join(columns)} {_RUNS} AND e.measure = $measure", params
    ).fetchone()
    return {name: (row[2 * i], row[2 * i + 1]) for i, name in enumerate(names)}


def json_key(name: str) -> str:
    """A JSON path member for ``name``: quoted, so that dots and spaces stay part of the key."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
