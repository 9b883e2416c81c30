"""``metabase status``: what the bot does, read from the store (a read-only connection, so it
works beside a running bot: the bot yields the store to a waiting reader within a second or so),
and the meta-models' quality over time (measured on a held-out slice after each retrain,
:mod:`metabase.bot.quality`).
"""

from __future__ import annotations

from datetime import timedelta

from metabase.errors import StoreNotFoundError

HOURS = 24  # runs per hour over this many hours
ERRORS = 10
IMPROVEMENTS = 10
QUALITY_ROWS = 100  # the latest measurements in ``quality`` (the plot draws them all)


def status(ws, wait_s: float | None = None, plot=None) -> dict:
    """The bot's state; with ``plot`` (a path) also a PNG of runs, best scores and quality over
    time, whose drawn data is under ``"plot"``.
    """
    from metabase.services import bot_plot
    from metabase.services.bot import is_alive
    from metabase.store import bot as store
    from metabase.store import bot_history, utcnow

    try:
        with ws.reader(wait_s=wait_s, starter=False) as con:
            if not store.has_bot_tables(con):
                return _never(ws)
            now = utcnow()
            bot = store.registered(con)
            if bot is None:
                return _never(ws)
            out = {
                "store": str(ws.store_path),
                "running": is_alive(bot, now),
                "bot": _bot_row(bot, now),
                "jobs": store.job_counts(con),
                "in_flight": store.in_flight(con),
                "runs_per_hour": store.runs_per_hour(con, now - timedelta(hours=HOURS)),
                "outbox": store.outbox_of_bot(con),
                "paused": store.paused(con),
                "last_errors": store.events(con, ("error", "pause"), ERRORS),
                "last_retrains": store.events(con, ("retrain",), 3),
                "improvements": store.improvements(con, IMPROVEMENTS),
                "quality": [quality_row(q) for q in bot_history.qualities(con, QUALITY_ROWS)],
                "quality_measurements": bot_history.quality_count(con),
            }
            drawn = bot_plot.read(con) if plot is not None else None
    except StoreNotFoundError:
        return _never(ws)
    if drawn is not None:
        out["plot"] = bot_plot.draw(drawn, plot)
    if not out["running"] and bot["stopped_at"] is None:
        out["bot"]["state"] = "dead (killed: the next `metabase bot` recovers its jobs)"
    return out


def _never(ws) -> dict:
    return {"store": str(ws.store_path), "running": False, "bot": None, "jobs": {}, "quality": []}


def quality_row(q: dict) -> dict:
    """A ``bot_quality`` row as ``status`` shows it: ``{at, runs, zero_shot_regret@k,
    sequential_regret@k, tasks, held_out (their ids), train_tasks, seconds}``.
    """
    import json

    k = q["k"]
    return {
        "at": q["at"],
        "runs": q["runs"],
        f"zero_shot_regret@{k}": q["zero_shot_regret"],
        f"sequential_regret@{k}": q["sequential_regret"],
        "tasks": q["tasks"],
        "held_out": json.loads(q["held_out"]) if q["held_out"] else [],
        "train_tasks": q["train_tasks"],
        "seconds": q["seconds"],
    }


def _bot_row(bot: dict, now) -> dict:
    return {
        "state": "running" if bot["stopped_at"] is None else "stopped",
        "pid": bot["pid"],
        "host": bot["host"],
        "since": bot["started_at"],
        "executor": bot["executor"],
        "workers": bot["workers"],
        "policy": bot["policy"],
        "last_heartbeat": bot["last_beat"],
        "heartbeat_age_s": round((now - bot["last_beat"]).total_seconds(), 1),
        "stopped_at": bot["stopped_at"],
        "stop_reason": bot["stop_reason"],
        "options": bot["options"],
    }
