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


# -- against the replay server ------------------------------------------------------------------
CREDIT_G = 31


def _replay_ws(tmp_path, url: str, monkeypatch) -> Workspace:
    monkeypatch.setenv("METABASE_OPENML_RETRIES", "2")
    monkeypatch.setenv("METABASE_OPENML_BACKOFF_S", "0.01")
    return Workspace(
        Settings.resolve(store=tmp_path / "replay.duckdb", openml_server=url, apikey="k")
    )


def _on_server(server, keys) -> dict:
    from metabase.records import publish_tag

    return {k: server.state.tagged("run", publish_tag(k)) for k in keys}


@pytest.mark.realdata
def test_the_command_runs_publishes_each_run_once_and_reports(replay_factory, tmp_path, capsys):
    from cli.main import main

    server = replay_factory()
    store = tmp_path / "cli.duckdb"
    base = ["--store", str(store), "--openml-server", server.url, "--apikey", "k"]
    code = main(
        [
            *base,
            "bot",
            "--tasks",
            str(CREDIT_G),
            "--pipeline",
            "sklearn.decision_tree",
            "--max-runs",
            "3",
            "--workers",
            "2",
            "--publish",
            "--policy",
            "random",
            "--format",
            "json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(out)
    assert (summary["runs"], summary["published"], summary["stopped"]) == (3, 3, "done")
    ws = Workspace(Settings.resolve(store=store))
    jobs = _rows(
        ws,
        "SELECT j.run_key, j.state, r.openml_run_id FROM bot_jobs j JOIN runs r USING (run_key)",
    )
    assert len(jobs) == 3 and {j[1] for j in jobs} == {"published"}
    assert _on_server(server, [j[0] for j in jobs]) == {j[0]: {j[2]} for j in jobs}
    assert main([*base, "status", "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["running"] is False and status["bot"]["state"] == "stopped"
    assert status["jobs"] == {"published": 3} and status["outbox"]["states"] == {"done": 3}
    assert (store.parent / "cli.duckdb.bot.log").read_text().count("task 31") >= 3


@pytest.mark.realdata
def test_an_unreachable_openml_keeps_the_runs_in_the_outbox_until_it_is_back(
    replay_factory, openml_data, tmp_path, monkeypatch
):
    from urllib.parse import urlparse

    from metabase.testing.replay import start_server

    server = replay_factory()
    ws = _replay_ws(tmp_path, server.url, monkeypatch)
    options = {"tasks": (CREDIT_G,), "workers": 2, "publish_backoff_s": 0.2}
    # the task's data is cached by a first run; then OpenML goes away
    assert Bot(ws, _options(max_runs=1, **options)).run().runs == 1
    port = urlparse(server.url).port
    server.stop()
    away = Bot(ws, _options(max_runs=2, publish=True, **options)).run()
    assert (away.runs, away.published, away.stopped) == (2, 0, "done")
    errors = [m for (m,) in _rows(ws, "SELECT message FROM bot_events WHERE kind = 'error'")]
    assert errors and all(m.startswith("publish:") for m in errors)
    assert "cannot reach OpenML" in errors[0]
    assert _rows(ws, "SELECT state, count(*) FROM bot_jobs GROUP BY state") == [("stored", 3)]

    back = start_server(openml_data, port=port)
    try:
        again = Bot(ws, _options(max_runs=1, publish=True, **options)).run()
        assert (again.runs, again.published) == (1, 4)
        jobs = _rows(
            ws, "SELECT j.run_key, r.openml_run_id FROM bot_jobs j JOIN runs r USING (run_key)"
        )
        assert _on_server(back, [k for k, _ in jobs]) == {k: {i} for k, i in jobs}
        assert len(back.state.uploaded_runs) == 4
    finally:
        back.stop()


def test_retraining_runs_beside_the_runs_and_replaces_the_models(ws):
    options = _options(tasks=(1, 2, 3), max_runs=8, retrain_every=2, retrain_min_s=0)
    summary = Bot(ws, options).run()
    assert summary.runs == 8 and summary.retrains >= 1
    events = _rows(
        ws, "SELECT at_time, message FROM bot_events WHERE kind = 'retrain' ORDER BY at_time"
    )
    started = next(at for at, m in events if m.startswith("retraining"))
    done = next(at for at, m in events if m.startswith("retrained") and m.endswith("done"))
    finished = [at for (at,) in _rows(ws, "SELECT finished_at FROM bot_jobs")]
    assert any(started < at < done for at in finished)  # runs went on while it retrained
    models = ws.settings.model_dir
    assert [p.name for p in models.glob("default-*/surrogate")]  # the trained model, whole
    assert not list(models.glob(".*.tmp"))


def test_retraining_on_one_task_is_skipped_with_an_info_line_until_there_is_more(ws, caplog):
    import logging

    options = _options(tasks=(1,), max_runs=4, retrain_every=2, retrain_min_s=0)
    with caplog.at_level(logging.INFO, logger="metabase.bot"):
        summary = Bot(ws, options).run()
    assert summary.runs == 4 and summary.retrains == 0
    events = [m for (m,) in _rows(ws, "SELECT message FROM bot_events WHERE kind = 'retrain'")]
    assert events and all(m.startswith("retrain skipped: the store's runs cover") for m in events)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    skipped = [r for r in caplog.records if "retrain skipped" in r.getMessage()]
    assert len(skipped) == len(events) and {r.levelno for r in skipped} == {logging.INFO}
    # more tasks with varying scores: there is something to learn (the retrain itself is
    # the test above)
    Bot(ws, _options(tasks=(2, 3), max_runs=6)).run()
    session = ws.bot_session()
    try:
        assert session.nothing_to_learn() is None
    finally:
        session.close()


def test_a_task_whose_data_is_away_waits_while_the_others_run(ws, monkeypatch):
    from metabase.errors import OpenMLError

    def data(self, task):
        if task == 2:
            raise OpenMLError("cannot fetch the data or splits of task 2 (ConnectionError)")
        return faulty.synthetic_task(n=60, folds=3, task_id=task)

    monkeypatch.setattr(BotSession, "task_data", data)
    summary = Bot(ws, _options(tasks=(1, 2), max_runs=4)).run()
    assert (summary.runs, summary.failed, summary.paused) == (4, 0, [])
    assert _rows(ws, "SELECT DISTINCT task_id FROM runs") == [(1,)]
    waiting = _rows(ws, "SELECT state, count(*) FROM bot_jobs WHERE task_id = 2 GROUP BY state")
    assert [state for state, _ in waiting] in ([], ["proposed"])  # never failed, never lost
    errors = _rows(ws, "SELECT message FROM bot_events WHERE kind = 'error'")
    # the policy chose task 2 (seed 0): its jobs went back to wait, with one error line
    assert len(errors) == 1 and "task 2" in errors[0][0] and "wait" in errors[0][0]


def test_hours_stops_the_bot_after_its_running_jobs_finish(ws):
    summary = Bot(ws, _options(hours=1.5 / 3600, grace_s=60)).run()
    assert summary.stopped == "--hours 0.000416667 reached" and summary.runs >= 1
    # the jobs running at the deadline finished within the grace; queued ones wait, proposed
    states = dict(_rows(ws, "SELECT state, count(*) FROM bot_jobs GROUP BY state"))
    assert states.pop("stored") == summary.runs and set(states) <= {"proposed"}
    [(stop,)] = _rows(ws, "SELECT message FROM bot_events WHERE kind = 'stop'")
    assert "; 0 jobs back to proposed" in stop


def test_a_retrain_dies_with_a_killed_bot(tmp_path):
    import signal
    import time

    import psutil

    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from metabase.services.bot_retrain import Retrain; "
            "from metabase.settings import Settings; "
            "r = Retrain.start(Settings.resolve(store=sys.argv[1])); "
            "print(r.proc.pid, flush=True); time.sleep(600)",
            str(tmp_path / "none.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    child = psutil.Process(int(parent.stdout.readline()))
    assert child.status() != psutil.STATUS_ZOMBIE  # still importing: it has not finished
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 10
    while child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the retrain outlived the killed bot"
        time.sleep(0.1)


def test_a_task_whose_data_never_comes_is_paused_in_the_end(ws, monkeypatch):
    from metabase.bot import filling
    from metabase.errors import OpenMLError

    def data(self, task):
        raise OpenMLError(f"cannot fetch the data or splits of task {task} (gone)")

    monkeypatch.setattr(BotSession, "task_data", data)
    monkeypatch.setattr(filling, "DATA_RETRY_S", 0.0)
    monkeypatch.setattr(filling, "DATA_TRIES", 2)
    summary = Bot(ws, _options(tasks=(2,), workers=1)).run()
    assert summary.runs == 0 and summary.stopped.startswith("nothing left to run")
    [(task, pipeline, reason)] = summary.paused
    assert (task, pipeline) == (2, "sklearn.decision_tree") and "cannot fetch" in reason
    failed = _rows(ws, "SELECT count(*) FROM bot_jobs WHERE state = 'failed'")[0][0]
    assert failed >= 3 and _rows(ws, "SELECT count(*) FROM runs") == [(0,)]
