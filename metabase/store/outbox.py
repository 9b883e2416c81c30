"""The publish outbox and the local runs it publishes (SQL for ``metabase publish``).

An entry's states: ``pending`` (never sent, or known not to have reached the server),
``sending`` (an upload began: it may have reached the server, so the next attempt looks the
run's tag up first) and ``done`` (``openml_run_id`` known; set with ``runs.openml_run_id`` in one
transaction).
"""

from __future__ import annotations

import json
from typing import Sequence


def stage(con, keys_and_tags: Sequence[tuple[str, str]]) -> None:
    """Stage runs (``(run_key, tag)``); a run staged before keeps its entry and state.
    Callers hold the transaction that records the runs.
    """
    for key, tag in keys_and_tags:
        con.execute(
            "INSERT INTO publish_outbox (run_key, tag, state) VALUES (?, ?, 'pending') "
            "ON CONFLICT DO NOTHING",
            [key, tag],
        )


def local_runs(
    con, *, keys: Sequence[str] = (), tasks: Sequence[int] = (), everything: bool = False
) -> list[dict]:
    """Local runs chosen by key, task or all, with their outbox entry (NULLs when unstaged)."""
    rows = con.execute(
        """
        SELECT r.run_key, r.task_id, r.pipeline, r.config, r.status, r.error_message,
               r.openml_run_id,
               d.seed, d.fidelity, d.class_labels, d.environment, o.tag, o.state, o.attempts
        FROM runs r LEFT JOIN run_details d USING (run_key)
             LEFT JOIN publish_outbox o USING (run_key)
        WHERE r.source = 'local' AND (? OR r.run_key IN (SELECT unnest(?::VARCHAR[]))
                                      OR r.task_id IN (SELECT unnest(?::BIGINT[])))
        ORDER BY r.created_at, r.run_key""",
        [bool(everything), list(keys), [int(t) for t in tasks]],
    ).fetchall()
    names = (
        "run_key",
        "task_id",
        "pipeline",
        "config",
        "status",
        "error_message",
        "openml_run_id",
        "seed",
        "fidelity",
        "class_labels",
        "environment",
        "tag",
        "state",
        "attempts",
    )
    out = []
    for row in rows:
        item = dict(zip(names, row, strict=True))
        for name in ("config", "fidelity", "class_labels", "environment"):
            item[name] = json.loads(item[name]) if item[name] else None
        out.append(item)
    return out


def known_keys(con, keys: Sequence[str]) -> set[str]:
    rows = con.execute(
        "SELECT run_key FROM runs WHERE source = 'local' AND run_key IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [list(keys)],
    ).fetchall()
    return {r[0] for r in rows}


def fold_evaluations(con, run_key: str) -> list[tuple[str, int, int, float]]:
    """(measure, repeat, fold, value) of a run's per-fold evaluations."""
    return con.execute(
        'SELECT measure, "repeat", fold, value FROM evaluations WHERE run_key = ? '
        'AND fold IS NOT NULL AND sample IS NULL ORDER BY measure, "repeat", fold',
        [run_key],
    ).fetchall()


def aggregate_evaluations(con, run_key: str) -> dict[str, float]:
    return dict(
        con.execute(
            "SELECT measure, value FROM evaluations WHERE run_key = ? AND fold IS NULL", [run_key]
        ).fetchall()
    )


def predictions(con, run_key: str):
    """The run's predictions as a DataFrame in OpenML's order (repeat, fold, sample, row_id)."""
    return con.df(
        'SELECT "repeat", fold, sample, row_id, prediction, correct, confidence FROM predictions '
        'WHERE run_key = ? ORDER BY "repeat", fold, sample, row_id',
        [run_key],
    )


def mark_sending(con, run_key: str, when) -> None:
    """Before an upload: from now on the server may hold the run."""
    con.execute(
        "UPDATE publish_outbox SET state = 'sending', attempts = attempts + 1, "
        "last_attempt_at = ? "
        "WHERE run_key = ?",
        [when, run_key],
    )


def mark_failed(con, run_key: str, error: str, reached: bool) -> None:
    """An attempt failed; ``reached``: the server may hold the run (keep ``sending``)."""
    con.execute(
        "UPDATE publish_outbox SET state = ?, last_error = ? WHERE run_key = ?",
        ["sending" if reached else "pending", error[:500], run_key],
    )


def mark_done(con, run_key: str, openml_run_id: int) -> None:
    """The run's OpenML id, in ``runs`` and the outbox, in one transaction."""
    with con.transaction():
        con.execute(
            "UPDATE runs SET openml_run_id = ? WHERE run_key = ?", [int(openml_run_id), run_key]
        )
        con.execute(
            "UPDATE publish_outbox SET state = 'done', openml_run_id = ?, last_error = NULL "
            "WHERE run_key = ?",
            [int(openml_run_id), run_key],
        )


def remember_flow(
    con, flow_id: int, name: str, version: str | None, external_version: str | None, pipeline: str
) -> None:
    con.execute(
        "INSERT INTO flows (flow_id, name, version, external_version, full_name, pipeline, "
        "source) "
        "VALUES (?, ?, ?, ?, ?, ?, 'published') ON CONFLICT DO NOTHING",
        [int(flow_id), name, version, external_version, name, pipeline],
    )


def known_flow(con, name: str, external_version: str) -> int | None:
    rows = con.execute(
        "SELECT flow_id FROM flows WHERE name = ? AND external_version = ?",
        [name, external_version],
    ).fetchall()
    return int(rows[0][0]) if rows else None


def snapshot(con) -> tuple:
    """A cheap fingerprint of what publish may change (tests: bad input leaves the store
    unchanged).
    """
    return (
        con.execute("SELECT count(*), count(openml_run_id) FROM runs").fetchall()[0],
        con.execute(
            "SELECT count(*), list(state ORDER BY run_key) FROM publish_outbox"
        ).fetchall()[0],
    )


def prediction_counts(con, keys: Sequence[str]) -> dict[str, int]:
    return dict(
        con.execute(
            "SELECT run_key, count(*) FROM predictions WHERE run_key IN "
            "(SELECT unnest(?::VARCHAR[])) GROUP BY run_key",
            [list(keys)],
        ).fetchall()
    )


def published_ids(con, run_ids) -> set[int]:
    """The OpenML ids among ``run_ids`` that are local runs published from this store: a sync
    that meets them keeps the local run as the one row of that OpenML run.
    """
    ids = [int(i) for i in run_ids]
    if not ids:
        return set()
    rows = con.execute(
        "SELECT openml_run_id FROM runs WHERE source = 'local' AND openml_run_id IN "
        "(SELECT unnest(?::BIGINT[]))",
        [ids],
    ).fetchall()
    return {int(r[0]) for r in rows}
