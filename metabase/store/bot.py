"""The bot's state in the store (SQL for ``metabase bot`` and ``metabase status``).

A job's states: ``proposed`` (chosen, not started), ``running`` (leased by a bot until
``lease_expires_at``), ``stored`` (its run is in ``runs``, written in the same transaction),
``published`` (its run has an OpenML id), ``failed`` (the run crashed, timed out or ran out of
memory: the run is stored all the same, and ``error`` says why). The one bot of a store is the
row of ``bot_registry``.
"""

from __future__ import annotations

import json
from typing import Sequence

JOB_STATES = ("proposed", "running", "stored", "published", "failed")
_REGISTRY = (
    "owner",
    "pid",
    "host",
    "proc_start",
    "started_at",
    "executor",
    "workers",
    "policy",
    "options",
    "last_beat",
    "stopped_at",
    "stop_reason",
)


def has_bot_tables(con) -> bool:
    return "bot_jobs" in con.tables()


# -- registration and heartbeat ------------------------------------------------------------------
def registered(con) -> dict | None:
    """The registered bot (running or stopped), or None."""
    rows = con.execute(
        f"SELECT {', '.join(_REGISTRY)} FROM bot_registry WHERE slot = 1"
    ).fetchall()
    if not rows:
        return None
    row = dict(zip(_REGISTRY, rows[0], strict=True))
    row["options"] = json.loads(row["options"]) if row["options"] else {}
    return row


def claim(con, bot: dict) -> None:
    """Make ``bot`` (the ``bot_registry`` columns but ``stopped_at``) the store's bot."""
    values = [bot.get(name) for name in _REGISTRY]
    values[_REGISTRY.index("options")] = json.dumps(bot.get("options") or {}, default=str)
    values[_REGISTRY.index("stopped_at")] = None
    values[_REGISTRY.index("stop_reason")] = None
    con.execute("DELETE FROM bot_registry WHERE slot = 1")
    con.execute(
        f"INSERT INTO bot_registry (slot, {', '.join(_REGISTRY)}) "
        f"VALUES (1, {', '.join('?' * len(_REGISTRY))})",
        values,
    )


def beat(con, owner: str, now, lease_until) -> bool:
    """The heartbeat: the bot's ``last_beat`` and its running jobs' leases; False when ``owner``
    is no longer the store's bot (another took over).
    """
    rows = con.execute(
        "UPDATE bot_registry SET last_beat = ? "
        "WHERE slot = 1 AND owner = ? AND stopped_at IS NULL RETURNING owner",
        [now, owner],
    ).fetchall()
    con.execute(
        "UPDATE bot_jobs SET lease_expires_at = ? WHERE state = 'running' AND lease_owner = ?",
        [lease_until, owner],
    )
    return bool(rows)


def stop(con, owner: str, now, reason: str) -> None:
    con.execute(
        "UPDATE bot_registry SET stopped_at = ?, stop_reason = ?, last_beat = ? "
        "WHERE slot = 1 AND owner = ?",
        [now, reason, now, owner],
    )


# -- jobs ----------------------------------------------------------------------------------------
def recover(con, owner: str, now) -> dict[str, int]:
    """After a start: jobs another (dead) bot left ``proposed`` or ``running`` get the result it
    stored (``stored`` or ``failed``), running ones without a result go back to ``proposed``, and
    stored jobs whose run was published become ``published``. Returns counts per repair.
    """
    stored = con.execute(
        """
        UPDATE bot_jobs j SET
            state = CASE WHEN coalesce(r.status, 'ok') = 'ok' THEN 'stored' ELSE 'failed' END,
            error = CASE WHEN coalesce(r.status, 'ok') = 'ok' THEN NULL
                         ELSE r.status || ': ' || coalesce(r.error_message, '') END,
            finished_at = coalesce(j.finished_at, ?), lease_owner = NULL, lease_expires_at = NULL
        FROM runs r
        WHERE r.run_key = j.run_key AND j.state IN ('proposed', 'running')
        RETURNING j.job_id""",
        [now],
    ).fetchall()
    released = con.execute(
        "UPDATE bot_jobs SET state = 'proposed', lease_owner = NULL, lease_expires_at = NULL "
        "WHERE state = 'running' AND (lease_owner IS DISTINCT FROM ? OR lease_expires_at < ?) "
        "RETURNING job_id",
        [owner, now],
    ).fetchall()
    return {
        "finished": len(stored),
        "released": len(released),
        "published": mark_published(con, now),
    }


def add_jobs(con, jobs: Sequence[dict], now) -> int:
    """Propose jobs (dicts of the ``bot_jobs`` columns); a run key proposed before is skipped."""
    added = 0
    for job in jobs:
        rows = con.execute(
            "INSERT INTO bot_jobs (run_key, task_id, pipeline, config, config_hash, seed, "
            "fidelity, state, reason, created_at, rung, hurdle, screening) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'proposed', ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING job_id",
            [
                job["run_key"],
                int(job["task_id"]),
                job["pipeline"],
                job["config"],
                job["config_hash"],
                int(job["seed"]),
                job["fidelity"],
                job.get("reason"),
                now,
                job.get("rung"),
                bool(job.get("hurdle", False)),
                bool(job.get("screening", False)),
            ],
        ).fetchall()
        added += len(rows)
    return added


_JOB_COLUMNS = (
    "job_id",
    "run_key",
    "task_id",
    "pipeline",
    "config",
    "config_hash",
    "seed",
    "fidelity",
    "state",
    "reason",
    "attempts",
    "rung",
    "hurdle",
)


def lease_next(con, n: int, owner: str, now, until, skip_tasks: Sequence[int] = ()) -> list[dict]:
    """Lease up to ``n`` proposed jobs (promotions and hurdles first, then oldest first; paused
    pairs and ``skip_tasks`` skipped): they become ``running`` under ``owner`` until ``until``.
    """
    rows = con.execute(
        f"""
        UPDATE bot_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?,
               lease_expires_at = ?, started_at = ?
        WHERE job_id IN (
            SELECT j.job_id FROM bot_jobs j
            ANTI JOIN bot_paused p ON p.task_id = j.task_id AND p.pipeline = j.pipeline
            WHERE j.state = 'proposed' AND j.task_id NOT IN (SELECT unnest(?::BIGINT[]))
            ORDER BY (j.hurdle OR coalesce(j.rung, 0) > 0) DESC, j.job_id LIMIT ?)
        RETURNING {", ".join(_JOB_COLUMNS)}""",
        [owner, until, now, [int(t) for t in skip_tasks], int(n)],
    ).fetchall()
    return sorted(
        (dict(zip(_JOB_COLUMNS, r, strict=True)) for r in rows), key=lambda j: j["job_id"]
    )


def finish(con, run_key: str, ok: bool, error: str | None, now) -> None:
    """The job of ``run_key`` is done: its run is stored (the caller's transaction wrote it)."""
    con.execute(
        "UPDATE bot_jobs SET state = ?, error = ?, finished_at = ?, lease_owner = NULL, "
        "lease_expires_at = NULL WHERE run_key = ?",
        ["stored" if ok else "failed", None if ok else (error or "failed")[:500], now, run_key],
    )


def fail(con, run_keys: Sequence[str], error: str, now) -> None:
    """Jobs that could not run at all (their task's data could not be fetched, say)."""
    con.execute(
        "UPDATE bot_jobs SET state = 'failed', error = ?, finished_at = ?, lease_owner = NULL, "
        "lease_expires_at = NULL WHERE run_key IN (SELECT unnest(?::VARCHAR[]))",
        [error[:500], now, list(run_keys)],
    )


def release(con, owner: str, run_keys: Sequence[str] | None = None) -> int:
    """Running jobs of ``owner`` (all, or these) back to ``proposed``: they were stopped."""
    rows = con.execute(
        "UPDATE bot_jobs SET state = 'proposed', lease_owner = NULL, lease_expires_at = NULL "
        "WHERE state = 'running' AND lease_owner = ? "
        "AND (? OR run_key IN (SELECT unnest(?::VARCHAR[]))) RETURNING job_id",
        [owner, run_keys is None, list(run_keys or [])],
    ).fetchall()
    return len(rows)


def mark_published(con, now) -> int:
    """Stored jobs whose run has an OpenML id (publish wrote it) become ``published``."""
    rows = con.execute(
        "UPDATE bot_jobs SET state = 'published', published_at = ? WHERE state = 'stored' "
        "AND run_key IN (SELECT run_key FROM runs WHERE openml_run_id IS NOT NULL) "
        "RETURNING job_id",
        [now],
    ).fetchall()
    return len(rows)


def prune_predictions(con, published_before) -> int:
    """Drop the predictions of the bot's runs published before ``published_before`` (OpenML
    holds them now), and of its screening runs finished before then (they are never published);
    an unpublished run keeps its predictions, which publishing needs. Its measures, details and
    job stay. Returns the number of runs whose predictions went.
    """
    keys = [
        r[0]
        for r in con.execute(
            "SELECT j.run_key FROM bot_jobs j WHERE ((j.state = 'published' "
            "AND j.published_at < ?) OR (j.screening AND j.state IN ('stored', 'failed') "
            "AND j.finished_at < ?)) AND EXISTS (SELECT 1 FROM predictions p "
            "WHERE p.run_key = j.run_key)",
            [published_before, published_before],
        ).fetchall()
    ]
    if keys:
        con.execute(
            "DELETE FROM predictions WHERE run_key IN (SELECT unnest(?::VARCHAR[]))", [keys]
        )
    return len(keys)


def to_publish(con, limit: int) -> list[str]:
    """Run keys of stored jobs (finished runs, unpublished), oldest first; screening runs (below
    the top of their fidelity ladder) are never published: they stay ``stored``.
    """
    rows = con.execute(
        "SELECT j.run_key FROM bot_jobs j JOIN runs r USING (run_key) "
        "WHERE j.state = 'stored' AND NOT j.screening AND r.openml_run_id IS NULL "
        "ORDER BY j.finished_at, j.job_id "
        "LIMIT ?",
        [int(limit)],
    ).fetchall()
    return [r[0] for r in rows]


def taken(con, task_ids: Sequence[int], pipelines: Sequence[str]) -> dict:
    """``{(task, pipeline): {config_hash, ...}}``: configurations run (any source) or chosen."""
    rows = con.execute(
        """
        SELECT task_id, pipeline, config_hash FROM runs
        WHERE task_id IN (SELECT unnest(?::BIGINT[])) AND pipeline IN (SELECT unnest(?::VARCHAR[]))
          AND config_hash IS NOT NULL
        UNION
        SELECT task_id, pipeline, config_hash FROM bot_jobs
        WHERE task_id IN (SELECT unnest(?::BIGINT[])) AND pipeline IN (SELECT unnest(?::VARCHAR[]))
        """,
        [list(task_ids), list(pipelines), list(task_ids), list(pipelines)],
    ).fetchall()
    out: dict = {}
    for task, pipeline, digest in rows:
        out.setdefault((int(task), pipeline), set()).add(digest)
    return out


def rung_jobs(con, task_id: int, pipeline: str) -> list[dict]:
    """The pair's multi-fidelity jobs (``rung`` set), oldest first."""
    return _dicts(
        con.execute(
            "SELECT run_key, config, config_hash, rung, hurdle, state FROM bot_jobs "
            "WHERE task_id = ? AND pipeline = ? AND rung IS NOT NULL ORDER BY job_id",
            [int(task_id), pipeline],
        )
    )


def finished_jobs(con, task_id: int, pipeline: str) -> list[dict]:
    """The pair's finished jobs (run_key, config, fidelity JSON), oldest first."""
    return _dicts(
        con.execute(
            "SELECT run_key, config, fidelity FROM bot_jobs WHERE task_id = ? AND pipeline = ? "
            "AND state IN ('stored', 'published', 'failed') ORDER BY job_id",
            [int(task_id), pipeline],
        )
    )


def local_fidelities(con, pipeline: str) -> dict[str, str]:
    """``{run_key: fidelity JSON text}`` of the pipeline's local runs."""
    rows = con.execute(
        "SELECT r.run_key, CAST(d.fidelity AS VARCHAR) FROM runs r "
        "JOIN run_details d USING (run_key) WHERE r.source = 'local' AND r.pipeline = ?",
        [pipeline],
    ).fetchall()
    return dict(rows)


def job_counts(con) -> dict[str, int]:
    return dict(con.execute("SELECT state, count(*) FROM bot_jobs GROUP BY state").fetchall())


def recent_states(con, task_id: int, pipeline: str, n: int) -> list[tuple[str, str | None]]:
    """(state, error) of the pair's last ``n`` finished jobs, newest first."""
    return con.execute(
        "SELECT state, error FROM bot_jobs WHERE task_id = ? AND pipeline = ? "
        "AND state IN ('stored', 'published', 'failed') ORDER BY finished_at DESC, job_id DESC "
        "LIMIT ?",
        [int(task_id), pipeline, int(n)],
    ).fetchall()


def pause(con, task_id: int, pipeline: str, reason: str, now) -> None:
    con.execute(
        "INSERT INTO bot_paused VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [int(task_id), pipeline, reason[:500], now],
    )
    # its proposed jobs wait: they are skipped while the pair is paused


def paused(con) -> list[dict]:
    rows = con.execute(
        "SELECT task_id, pipeline, reason, paused_at FROM bot_paused ORDER BY paused_at"
    ).fetchall()
    return [
        dict(zip(("task_id", "pipeline", "reason", "paused_at"), r, strict=True)) for r in rows
    ]


def event(con, kind: str, message: str, now) -> None:
    con.execute("INSERT INTO bot_events VALUES (?, ?, ?)", [now, kind, message[:1000]])


# -- status ----------------------------------------------------------------------------------
def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def in_flight(con) -> list[dict]:
    return _dicts(
        con.execute(
            "SELECT run_key, task_id, pipeline, attempts, started_at, lease_expires_at "
            "FROM bot_jobs WHERE state = 'running' ORDER BY started_at"
        )
    )


def runs_per_hour(con, since) -> list[dict]:
    """The bot's finished jobs per hour, pipeline and run status since ``since``."""
    return _dicts(
        con.execute(
            """
            SELECT date_trunc('hour', j.finished_at) AS hour, j.pipeline,
                   coalesce(r.status, 'not stored') AS status, count(*) AS runs
            FROM bot_jobs j LEFT JOIN runs r USING (run_key)
            WHERE j.finished_at >= ? GROUP BY ALL ORDER BY hour, j.pipeline, status""",
            [since],
        )
    )


def outbox_of_bot(con) -> dict:
    """The publish outbox of the bot's runs: entries per state, the oldest waiting, last error."""
    counts = dict(
        con.execute(
            "SELECT o.state, count(*) FROM publish_outbox o JOIN bot_jobs j USING (run_key) "
            "WHERE j.state IN ('stored', 'published') GROUP BY o.state"
        ).fetchall()
    )
    oldest, error = con.execute(
        "SELECT min(o.staged_at), arg_max(o.last_error, o.last_attempt_at) "
        "FROM publish_outbox o JOIN bot_jobs j USING (run_key) "
        "WHERE j.state = 'stored' AND o.state != 'done'"
    ).fetchone()
    return {"states": counts, "oldest_waiting": oldest, "last_error": error}


def events(con, kinds: Sequence[str], limit: int) -> list[dict]:
    return _dicts(
        con.execute(
            "SELECT at_time AS at, kind, message FROM bot_events "
            "WHERE kind IN (SELECT unnest(?::VARCHAR[])) ORDER BY at_time DESC LIMIT ?",
            [list(kinds), int(limit)],
        )
    )


def improvements(con, limit: int) -> list[dict]:
    """Per task the bot ran on: the best score before the bot's runs and with them (the task's
    main measure, higher is better), largest gain first (NULL: nothing ran there before).
    """
    return _dicts(
        con.execute(
            """
            WITH scored AS (
                SELECT c.task_id, c.measure, c.signed_score,
                       c.run_key IN (SELECT run_key FROM bot_jobs) AS by_bot
                FROM run_configs c
                WHERE c.task_id IN (SELECT task_id FROM bot_jobs) AND c.signed_score IS NOT NULL
                  AND coalesce(c.status, 'ok') = 'ok')
            SELECT task_id, any_value(measure) AS measure,
                   max(signed_score) FILTER (WHERE NOT by_bot) AS before,
                   max(signed_score) AS best,
                   max(signed_score) - max(signed_score) FILTER (WHERE NOT by_bot) AS gain,
                   count(*) FILTER (WHERE by_bot) AS bot_runs
            FROM scored GROUP BY task_id ORDER BY gain DESC NULLS LAST, task_id LIMIT ?""",
            [int(limit)],
        )
    )
