"""The bot's live loop: bounded runs, its jobs' states, one bot per store, a dead bot taken over,
caps, a failing pipeline paused, publishing through the outbox (also while OpenML is away), and
``metabase status``.

The first tests run the loop in this process on a small synthetic task (its data stands in for
the gateway's); the ``realdata`` ones run the ``metabase bot`` command against the replay server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from metabase.bot.loop import Bot, BotOptions
from metabase.services.bot import BotRunningError, BotSession
from metabase.settings import Settings
from metabase.testing import faulty
from metabase.workspace import Workspace


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setattr(
        BotSession, "task_data", lambda self, t: faulty.synthetic_task(n=60, folds=3, task_id=t)
    )
    return Workspace(Settings.resolve(store=tmp_path / "bot.duckdb", offline=True))


def _rows(ws, sql: str) -> list[tuple]:
    from metabase.store import open_reader

    with open_reader(ws.store_path) as con:
        return con.execute(sql).fetchall()


def _options(**kw) -> BotOptions:
    base = {"tasks": (1, 2), "pipelines": ("sklearn.decision_tree",), "workers": 2}
    return BotOptions(**{**base, **kw})


class _Crashing:
    """testing.faulty whose every sampled configuration crashes (distinct configurations)."""

    def __init__(self) -> None:
        self.inner = faulty.get("testing.faulty")

    def sample(self, n: int, seed: int = 0) -> list[dict]:
        return [faulty.config("crash", seconds=(seed + i) % 3600) for i in range(n)]

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _catalogue(name: str):
    return _Crashing() if name == "testing.faulty" else faulty.get(name)


def test_a_bounded_run_stores_each_run_with_its_job(ws):
    summary = Bot(ws, _options(max_runs=5)).run()
    assert (summary.runs, summary.failed, summary.stopped) == (5, 0, "done")
    jobs = _rows(ws, "SELECT run_key, state, attempts, task_id FROM bot_jobs")
    runs = _rows(ws, "SELECT run_key, status, task_id FROM runs WHERE source = 'local'")
    assert len(jobs) == 5 and {j[1] for j in jobs} == {"stored"} and {j[2] for j in jobs} == {1}
    assert sorted((k, t) for k, _, _, t in jobs) == sorted((k, t) for k, _, t in runs)
    assert {r[1] for r in runs} == {"ok"}
    stopped = _rows(ws, "SELECT stopped_at IS NOT NULL, stop_reason FROM bot_registry")
    assert stopped == [(True, "done")]
    status = ws.bot_status()
    assert status["running"] is False and status["jobs"] == {"stored": 5}
    assert sum(r["runs"] for r in status["runs_per_hour"]) == 5
    assert {i["task_id"] for i in status["improvements"]} <= {1, 2}

    # a second run chooses new configurations only
    assert Bot(ws, _options(max_runs=3, seed=0)).run().runs == 3
    pairs = _rows(ws, "SELECT task_id, pipeline, config_hash FROM runs WHERE source = 'local'")
    assert len(pairs) == 8 == len(set(pairs))


def test_the_cap_per_task_and_pipeline_ends_a_never_ending_bot(ws):
    summary = Bot(ws, _options(tasks=(1,), cap=2, workers=1)).run()
    assert summary.runs == 2 and summary.stopped.startswith("nothing left to run")
    assert _rows(ws, "SELECT count(*) FROM runs WHERE task_id = 1") == [(2,)]


def test_a_pipeline_that_keeps_crashing_is_paused_and_the_others_go_on(ws):
    options = _options(
        tasks=(1,), pipelines=("testing.faulty", "sklearn.decision_tree"), cap=3, workers=1
    )
    summary = Bot(ws, options, catalogue=_catalogue).run()
    assert summary.stopped.startswith("nothing left to run")
    [(task, pipeline, reason)] = summary.paused
    assert (task, pipeline) == (1, "testing.faulty") and "boom" in reason
    crashed = _rows(ws, "SELECT count(*) FROM runs WHERE pipeline = 'testing.faulty'")[0][0]
    assert 3 <= crashed <= 4  # paused after 3; one more may have been running by then
    assert _rows(ws, "SELECT state, count(*) FROM bot_jobs GROUP BY state ORDER BY state") == [
        ("failed", crashed),
        ("stored", 3),
    ]
    assert _rows(ws, "SELECT DISTINCT status FROM runs WHERE pipeline = 'testing.faulty'") == [
        ("crashed",)
    ]
    paused = ws.bot_status()["paused"]
    assert [(p["task_id"], p["pipeline"]) for p in paused] == [(1, "testing.faulty")]


def test_a_second_bot_refuses_naming_the_running_one(ws):
    running = ws.bot_session()
    running.register("local", 2, "random", {})
    try:
        with pytest.raises(BotRunningError) as caught:
            Bot(ws, _options(max_runs=1)).run()
        message = str(caught.value)
        assert f"pid {os.getpid()}" in message and running.host in message
        assert "\n" not in message
        status = ws.bot_status
        running.close()
        assert status()["running"] is True and status()["bot"]["pid"] == os.getpid()
    finally:
        running.stop("test over")
        running.close()
    assert ws.bot_status()["running"] is False


def test_a_dead_bot_is_taken_over_and_its_jobs_recovered(ws):
    import socket

    from metabase.runner import execute
    from metabase.store import open_writer
    from metabase.store.runs import write_results
    from metabase.testing.executor_contract import request

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = ws.bot_session()
    dead.pid, dead.owner = gone.pid, f"{socket.gethostname()}:{gone.pid}:old"
    dead.register("local", 1, "random", {})
    jobs = []
    for depth in (2, 3):
        req = request("sklearn.decision_tree", {"max_depth": depth}, seed=0)
        jobs.append(
            {
                "run_key": req.run_key,
                "task_id": req.task_id,
                "pipeline": req.pipeline,
                "config": json.dumps(dict(req.config), sort_keys=True),
                "config_hash": req.config_hash,
                "seed": 0,
                "fidelity": json.dumps(req.fidelity.to_dict()),
                "reason": "test",
            }
        )
    dead.propose(jobs)
    assert len(dead.lease(2)) == 2
    dead.close()
    # the dead bot had stored the first run but not yet its job's state
    finished = execute(
        request("sklearn.decision_tree", {"max_depth": 2}, seed=0),
        faulty.synthetic_task(n=60, folds=3, task_id=jobs[0]["task_id"]),
    )
    with open_writer(ws.store_path) as con:
        write_results(con, [finished], "local")

    summary = Bot(ws, _options(tasks=(jobs[0]["task_id"],), max_runs=1)).run()
    assert summary.recovered == {"finished": 1, "released": 1, "published": 0}
    states = dict(_rows(ws, "SELECT run_key, state FROM bot_jobs"))
    assert states[jobs[0]["run_key"]] == "stored"
    assert states[jobs[1]["run_key"]] == "stored"  # released, then run by the new bot
    started = _rows(ws, "SELECT message FROM bot_events WHERE kind = 'start' ORDER BY at_time")
    assert f"taking over from the dead pid {gone.pid}" in started[-1][0]
