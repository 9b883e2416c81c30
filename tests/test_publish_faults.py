"""Exactly once: ``metabase publish`` under injected faults (5xx, resets, 429, answers lost after
the server stored the run) and SIGKILLs at random points leaves each run on the server once, and
every local run with its id; a server that is down keeps the runs in the outbox.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.main import main

pytestmark = pytest.mark.realdata
REPO = Path(__file__).resolve().parent.parent
FAULTS = "5xx=0.1,reset=0.1,429=0.05,drop=0.15,retry_after=0,match=/run,seed=7"
RUNS, KILLS = 10, 3


def _env():
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "METABASE_OPENML_BACKOFF_S": "0.01",
        "METABASE_OPENML_RETRIES": "12",
    }


def _publish(store, server, wait=True):
    argv = [
        sys.executable,
        "-m",
        "cli.main",
        "--store",
        str(store),
        "--openml-server",
        server.url,
        "--apikey",
        "k",
        "publish",
        "--all",
        "--format",
        "json",
    ]
    proc = subprocess.Popen(
        argv, env=_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    return proc.wait(120) if wait else proc


def _local_runs(store):
    from metabase.store import open_reader

    with open_reader(store) as con:
        return con.execute(
            "SELECT run_key, openml_run_id FROM runs WHERE source = 'local'"
        ).fetchall()


def test_each_run_once_on_the_server_under_faults_and_kills(replay_factory, tmp_path, monkeypatch):
    from metabase.records import publish_tag

    store = tmp_path / "faults.duckdb"
    clean = replay_factory()
    assert (
        main(
            [
                "--store",
                str(store),
                "--openml-server",
                clean.url,
                "run",
                "--task",
                "31",
                "--pipeline",
                "sklearn.random_forest",
                "--sample",
                str(RUNS),
                "--fidelity",
                "n_estimators=2",
            ]
        )
        == 0
    )
    server = replay_factory(faults=FAULTS)
    rng = random.Random(5)
    for _ in range(KILLS):
        proc = _publish(store, server, wait=False)
        time.sleep(rng.uniform(2.0, 5.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    codes = [_publish(store, server) for _ in range(3)]
    assert 0 in codes
    runs = _local_runs(store)
    assert len(runs) == RUNS
    for key, run_id in runs:
        on_server = server.state.tagged("run", publish_tag(key))
        assert on_server == {run_id}, key
    assert len(server.state.uploaded_runs) == RUNS  # nothing else was stored either
    faulted = server.server.faulted
    assert (
        faulted[("drop", "POST")] >= 1
        and faulted[("reset", "POST")] + faulted[("5xx", "POST")] >= 1
    ), faulted


def test_a_server_that_is_down_keeps_the_runs_in_the_outbox(replay_factory, tmp_path, capsys):
    store = tmp_path / "down.duckdb"
    server = replay_factory()
    assert (
        main(
            [
                "--store",
                str(store),
                "--openml-server",
                server.url,
                "run",
                "--task",
                "31",
                "--pipeline",
                "sklearn.random_forest",
                "--sample",
                "2",
                "--fidelity",
                "n_estimators=2",
            ]
        )
        == 0
    )
    down = replay_factory()
    url = down.url
    down.stop()
    capsys.readouterr()
    code = main(
        ["--store", str(store), "--openml-server", url, "--apikey", "k", "publish", "--all"]
    )
    err = capsys.readouterr().err
    assert code == 1 and "cannot reach OpenML" in err
    assert [r[1] for r in _local_runs(store)] == [None, None]
    from metabase.store import open_reader

    with open_reader(store) as con:
        assert con.execute(
            "SELECT count(*) FROM publish_outbox WHERE state != 'done'"
        ).fetchone() == (2,)
    assert (
        main(
            [
                "--store",
                str(store),
                "--openml-server",
                server.url,
                "--apikey",
                "k",
                "publish",
                "--all",
            ]
        )
        == 0
    )
    assert all(r[1] is not None for r in _local_runs(store))
