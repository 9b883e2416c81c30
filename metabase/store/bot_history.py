"""The bot's history for ``metabase status``: runs over time, best scores over time, and the
meta-models' quality over time (``bot_quality``, migration 009).
"""

from __future__ import annotations

from metabase.store.bot import _dicts


def timeline(con) -> list[dict]:
    """The bot's finished jobs per hour and run status, all its life (``status --plot``)."""
    return _dicts(
        con.execute(
            """
            SELECT date_trunc('hour', j.finished_at) AS hour,
                   coalesce(r.status, 'not stored') AS status, count(*) AS runs
            FROM bot_jobs j LEFT JOIN runs r USING (run_key)
            WHERE j.finished_at IS NOT NULL GROUP BY ALL ORDER BY hour, status"""
        )
    )


def best_over_time(con) -> list[dict]:
    """Per task the bot ran on, after each of its scored runs: the best score so far (the task's
    main measure, higher is better), counting the runs that were there before the bot's.
    """
    return _dicts(
        con.execute(
            """
            WITH before AS (
                SELECT task_id, max(signed_score) AS best FROM run_configs
                WHERE task_id IN (SELECT task_id FROM bot_jobs) AND signed_score IS NOT NULL
                  AND coalesce(status, 'ok') = 'ok'
                  AND run_key NOT IN (SELECT run_key FROM bot_jobs)
                GROUP BY task_id),
            ran AS (
                SELECT c.task_id, j.finished_at AS at, c.signed_score FROM run_configs c
                JOIN bot_jobs j USING (run_key)
                WHERE c.signed_score IS NOT NULL AND coalesce(c.status, 'ok') = 'ok'
                  AND j.finished_at IS NOT NULL)
            SELECT r.task_id, r.at,
                   greatest(b.best, max(r.signed_score) OVER (
                       PARTITION BY r.task_id ORDER BY r.at ROWS UNBOUNDED PRECEDING)) AS best
            FROM ran r LEFT JOIN before b USING (task_id) ORDER BY r.task_id, r.at"""
        )
    )


_QUALITY_ROW = (
    "at_time",
    "runs",
    "tasks",
    "held_out",
    "train_tasks",
    "k",
    "zero_shot_regret",
    "sequential_regret",
    "seconds",
    "model_key",
)


def has_quality(con) -> bool:
    """Whether the store has the quality table (a store older than migration 009 has not)."""
    return "bot_quality" in con.tables()


def record_quality(con, row: dict) -> None:
    """One measurement: ``row`` has the ``bot_quality`` columns."""
    con.execute(
        f"INSERT INTO bot_quality ({', '.join(_QUALITY_ROW)}) "
        f"VALUES ({', '.join('?' * len(_QUALITY_ROW))})",
        [row.get(name) for name in _QUALITY_ROW],
    )


def qualities(con, limit: int | None = None) -> list[dict]:
    """The measurements, oldest first (with ``limit``: the latest ``limit`` of them)."""
    if not has_quality(con):
        return []
    return _dicts(
        con.execute(
            """
            SELECT at_time AS at, runs, tasks, held_out, train_tasks, k, zero_shot_regret,
                   sequential_regret, seconds
            FROM (SELECT * FROM bot_quality ORDER BY at_time DESC LIMIT ?) ORDER BY at_time""",
            [limit if limit is not None else 2**62],
        )
    )


def quality_count(con) -> int:
    return int(con.scalar("SELECT count(*) FROM bot_quality")) if has_quality(con) else 0
