"""``metabase bot`` as its own process, as the kill and soak tests start it: the command line
(one task, a fast pipeline, two workers, the random policy, against a replay server), its
environment (this checkout first, OpenML retries quick), and how many runs it has stored so far.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def bot_command(url: str, store: Path, *extra: str) -> list[str]:
    """``metabase bot`` on task 31 with ``sklearn.decision_tree`` against the server at ``url``;
    ``extra`` options follow (``--publish``, ``--grace S``, ...).
    """
    return [
        sys.executable,
        "-m",
        "cli.main",
        "--store",
        str(store),
        "--openml-server",
        url,
        "--apikey",
        "k",
        "bot",
        "--tasks",
        "31",
        "--pipeline",
        "sklearn.decision_tree",
        "--workers",
        "2",
        "--policy",
        "random",
        *extra,
    ]


def bot_env() -> dict:
    """The bot's (and its readers') environment: this checkout's code, quick OpenML retries."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "METABASE_OPENML_RETRIES": "6",
        "METABASE_OPENML_BACKOFF_S": "0.01",
    }


def rows(store: Path, query: str) -> list[tuple]:
    """The rows of a query on the store once the bot made its tables; [] before, or while a
    reader cannot get in within 10 s.
    """
    from metabase.errors import StoreError
    from metabase.store import open_reader

    try:
        with open_reader(store, wait_s=10) as con:
            return con.execute(query).fetchall() if "bot_jobs" in con.tables() else []
    except StoreError:
        return []


def stored(store: Path) -> int:
    """The bot's jobs with a stored run (published or not); 0 before the bot created its tables
    (or while a reader cannot get in within 10 s).
    """
    from metabase.errors import StoreError
    from metabase.store import bot as bot_store
    from metabase.store import open_reader

    try:
        with open_reader(store, wait_s=10) as con:
            if not bot_store.has_bot_tables(con):
                return 0
            counts = bot_store.job_counts(con)
    except StoreError:
        return 0
    return counts.get("stored", 0) + counts.get("published", 0)
