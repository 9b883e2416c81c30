"""The queries that turn the store's runs into meta-datasets: for ``recommend`` (a sample of the
``run_configs`` view) and for ``export meta-dataset`` (any aggregate measure). Named functions over
a connection (read-only ones suffice); they return pandas frames.

A run's pipeline is its key (``run_pipeline_key``) and a score is higher-is-better
(``measure_higher_is_better``): both are defined once, in migration 005.
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING

from metabase.store.catalog import has_relation, require_schema

if TYPE_CHECKING:  # a warm ``recommend`` reads these queries without pandas
    import pandas as pd

MACROS = 5  # the migration that defines run_pipeline_key and measure_higher_is_better

# ok, or unknown (a source that does not say): crashed and failed runs teach nothing
_FINISHED = "coalesce(status, 'ok') = 'ok'"

_SAMPLED_RUNS = f"""
SELECT * FROM (
    SELECT run_key, openml_run_id, task_id, pipeline_key AS pipeline,
           coalesce(CAST(config AS VARCHAR), '{{{{}}}}') AS config, signed_score AS score
    FROM run_configs
    WHERE score IS NOT NULL AND task_id IS NOT NULL AND {_FINISHED} {{where}})
-- a deterministic pseudo-random sample per task and pipeline, and always its best runs (the
-- strongest evidence when that task is the one asked about)
QUALIFY row_number() OVER (PARTITION BY task_id, pipeline ORDER BY hash(run_key)) <= {{cap}}
     OR row_number() OVER (PARTITION BY task_id, pipeline ORDER BY score DESC, run_key) <= {{best}}
"""


def _pipeline_filter(
    pipelines: list[str] | None, column: str = "pipeline_key"
) -> tuple[str, list]:
    if not pipelines:
        return "", []
    return f" AND {column} IN (SELECT unnest(?::VARCHAR[]))", [list(pipelines)]


def _screening_filter(con) -> str:
    """Leaves the bot's screening runs out (migration 010: below the top of their fidelity
    ladder, their configuration says more trees or epochs than they ran with); nothing on a
    store without them.
    """
    has = con.scalar(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'bot_jobs' AND column_name = 'screening'"
    )
    return " AND run_key NOT IN (SELECT run_key FROM bot_jobs WHERE screening)" if has else ""


def sampled_runs(con, pipelines: list[str] | None, cap: int, best: int) -> pd.DataFrame:
    """Finished runs with a main evaluation (run_key, openml_run_id, task_id, pipeline, config,
    score higher-is-better): per task and pipeline a deterministic sample of ``cap`` runs plus
    its ``best`` best runs; only the given pipelines (keys) when some are given. The bot's
    screening runs are left out (multi-fidelity's low rungs: successive halving reads them from
    its jobs).
    """
    require_schema(con, MACROS)
    where, params = _pipeline_filter(pipelines)
    where += _screening_filter(con)
    sql = _SAMPLED_RUNS.format(where=where, cap=int(cap), best=int(best))
    return con.df(sql, params or None)


def task_features(con, task_ids: list[int]) -> pd.DataFrame:
    """task_id and one column per quality of each task (``task_qualities_wide``), by task id;
    only task_id when the store has no qualities view yet.
    """
    import pandas as pd

    if not task_ids or not has_relation(con, "task_qualities_wide"):
        return pd.DataFrame({"task_id": pd.Series(task_ids, dtype="int64")})
    return con.df(
        "SELECT * FROM task_qualities_wide WHERE task_id IN (SELECT unnest(?::BIGINT[])) "
        "ORDER BY task_id",
        [list(task_ids)],
    )


def task_qualities(con, task_id: int) -> dict:
    """The stored qualities of one task (quality name -> value), without missing values."""
    if not has_relation(con, "task_qualities_long"):
        return _wide_task_qualities(con, task_id)
    # the long view holds the wide view's cells; read for one task it is 60 times as fast
    rows = con.execute(
        "SELECT quality, value FROM task_qualities_long WHERE task_id = ? ORDER BY quality",
        [int(task_id)],
    ).fetchall()
    return {k: v for k, v in rows if v is not None and v == v}  # v == v: not NaN


# the run_configs view's columns for one task's runs: the view picks each run's main evaluation
# with a window over every evaluation in the store (0.6 s at a million runs); this picks it among
# the task's own runs only, by the same rule (migration 005), in milliseconds
_TASK_RUN_CONFIGS = """
WITH r AS (SELECT * FROM runs WHERE task_id = ?),
main_eval AS (
    SELECT e.run_key, e.measure, e.value
    FROM evaluations e
    JOIN r USING (run_key)
    LEFT JOIN tasks t ON t.task_id = r.task_id
    WHERE e.fold IS NULL
    QUALIFY row_number() OVER (
        PARTITION BY e.run_key
        ORDER BY (e.measure = t.evaluation_measure) DESC NULLS LAST,
                 (e.measure = 'predictive_accuracy') DESC,
                 (e.measure = 'area_under_roc_curve') DESC,
                 e.measure
    ) = 1
)
SELECT r.run_key, r.openml_run_id, r.task_id, r.config, r.status, m.measure, m.value AS score,
       run_pipeline_key(r.pipeline, f.pipeline, r.flow_id) AS pipeline_key,
       CASE WHEN measure_higher_is_better(m.measure) THEN m.value ELSE -m.value END
           AS signed_score
FROM r
LEFT JOIN flows f ON f.flow_id = r.flow_id
LEFT JOIN main_eval m ON m.run_key = r.run_key
"""


def _wide_task_qualities(con, task_id: int) -> dict:
    """What :func:`task_qualities` reads, from a store whose views predate the long one."""
    if not has_relation(con, "task_qualities_wide"):
        return {}
    result = con.execute("SELECT * FROM task_qualities_wide WHERE task_id = ?", [int(task_id)])
    names = [d[0] for d in result.description]
    row = result.fetchone() or ()
    return {k: v for k, v in zip(names, row) if k != "task_id" and v is not None and v == v}


def task_score_range(con, task_id: int, pipelines: list[str] | None) -> tuple[float, float] | None:
    """(lowest, highest) higher-is-better score of the task's finished runs (of the given
    pipelines), or None when it has none.
    """
    require_schema(con, MACROS)
    where, params = _pipeline_filter(pipelines)
    low, high = con.execute(
        f"SELECT min(signed_score), max(signed_score) FROM ({_TASK_RUN_CONFIGS}) "
        f"WHERE score IS NOT NULL AND {_FINISHED}{where}",
        [int(task_id), *params],
    ).fetchone()
    return None if low is None else (float(low), float(high))


def task_run_scores(con, task_id: int, run_keys: list[str]) -> dict[str, float]:
    """``{run_key: higher-is-better main score}`` of these finished runs of one task (runs
    without a score are left out).
    """
    require_schema(con, MACROS)
    rows = con.execute(
        f"SELECT run_key, signed_score FROM ({_TASK_RUN_CONFIGS}) "
        "WHERE signed_score IS NOT NULL AND run_key IN (SELECT unnest(?::VARCHAR[]))",
        [int(task_id), list(run_keys)],
    ).fetchall()
    return {k: float(v) for k, v in rows}


_BEST_OF_TASK = f"""
WITH best AS (
    SELECT run_key, openml_run_id, pipeline_key AS pipeline, measure,
           coalesce(CAST(config AS VARCHAR), '{{{{}}}}') AS config, signed_score AS score
    FROM ({_TASK_RUN_CONFIGS})
    WHERE score IS NOT NULL AND {_FINISHED} {{where}}
    ORDER BY signed_score DESC, run_key LIMIT ?)
SELECT b.run_key, b.openml_run_id, b.pipeline, b.config, b.score,
       stddev_samp(e.value) AS fold_std, count(e.value) AS folds
FROM best b LEFT JOIN evaluations e
    ON e.run_key = b.run_key AND e.measure = b.measure AND e.fold IS NOT NULL
GROUP BY ALL
ORDER BY b.score DESC, b.run_key
"""


BestRun = namedtuple("BestRun", "run_key openml_run_id pipeline config score fold_std folds")


def best_task_runs(con, task_id: int, pipelines: list[str] | None, limit: int) -> list[BestRun]:
    """The task's ``limit`` best finished runs (run_key, openml_run_id, pipeline, config, score
    higher-is-better), best first, each with the spread of its per-fold values of the same
    measure (``fold_std``, None when the store has fewer than two) and their number (``folds``).
    """
    require_schema(con, MACROS)
    where, params = _pipeline_filter(pipelines)
    rows = con.execute(
        _BEST_OF_TASK.format(where=where), [int(task_id), *params, int(limit)]
    ).fetchall()
    return [BestRun(*row) for row in rows]


def mean_runtimes(con, run_keys: list[str]) -> dict[str, float]:
    """Mean recorded run time in seconds (CPU or wall clock) of each of the given runs that has
    one.
    """
    times = con.execute(
        "SELECT run_key, avg(value) / 1000.0 AS seconds FROM evaluations "
        "WHERE fold IS NULL AND measure IN ('usercpu_time_millis', 'wall_clock_time_millis', "
        "'run_cpu_time_millis') AND run_key IN (SELECT unnest(?::VARCHAR[])) GROUP BY run_key",
        [list(run_keys)],
    ).fetchall()
    return {key: float(seconds) for key, seconds in times if seconds is not None}


# -- export meta-dataset -----------------------------------------------------------------------
_EXPORT = """
WITH candidates AS (
    SELECT r.run_key, r.task_id, r.flow_id,
           run_pipeline_key(r.pipeline, f.pipeline, r.flow_id) AS pipeline,
           coalesce(CAST(r.config AS VARCHAR), '{{}}') AS config
    FROM runs r LEFT JOIN flows f ON f.flow_id = r.flow_id
    WHERE r.task_id IS NOT NULL AND coalesce(r.status, 'ok') = 'ok'
)
SELECT {select}
FROM candidates c JOIN evaluations e ON e.run_key = c.run_key
WHERE e.fold IS NULL AND e."repeat" IS NULL AND e.value IS NOT NULL {where}
"""


def _export_filters(pipeline: str | None, flow: int | None) -> tuple[str, list]:
    where, params = "", []
    if pipeline is not None:
        where += " AND c.pipeline = ?"
        params.append(pipeline)
    if flow is not None:
        where += " AND c.flow_id = ?"
        params.append(int(flow))
    return where, params


def export_runs(con, pipeline: str | None, flow: int | None, measure: str) -> pd.DataFrame:
    """task_id, pipeline, config and the aggregate value of ``measure`` (as stored, not signed)
    of every finished run (of the pipeline or flow), sorted.
    """
    require_schema(con, MACROS)
    where, params = _export_filters(pipeline, flow)
    sql = _EXPORT.format(
        select="c.task_id, c.pipeline, c.config, e.value AS score",
        where=where + " AND e.measure = ?",
    )
    return con.df(sql + " ORDER BY task_id, pipeline, config, score", [*params, measure])


def export_measures(con, pipeline: str | None, flow: int | None) -> list[str]:
    """The aggregate measures the finished runs (of the pipeline or flow) have, by name."""
    where, params = _export_filters(pipeline, flow)
    sql = _EXPORT.format(select="DISTINCT e.measure", where=where) + " ORDER BY 1"
    return [m for (m,) in con.execute(sql, params).fetchall()]


def export_tasks(con, task_ids: list[int]) -> pd.DataFrame:
    """task_id, dataset_id and every quality column (``task_qualities_wide``) of the
    given tasks.
    """
    base = (
        "SELECT t.task_id, k.dataset_id FROM (SELECT unnest(?::BIGINT[]) AS task_id) t "
        "LEFT JOIN tasks k USING (task_id)"
    )
    if has_relation(con, "task_qualities_wide"):
        base = (
            "SELECT t.task_id, k.dataset_id, q.* EXCLUDE (task_id) "
            "FROM (SELECT unnest(?::BIGINT[]) AS task_id) t LEFT JOIN tasks k USING (task_id) "
            "LEFT JOIN task_qualities_wide q USING (task_id)"
        )
    return con.df(base + " ORDER BY task_id", [list(task_ids)])
