"""``metabase run`` killed, terminated or interrupted: nothing lost, nothing twice, no orphans.

The command runs in its own process against the replay server; the process table (psutil) is
checked for the runs' child processes afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from metabase.testing.processes import all_gone, forks_of, sigkill, wait_until

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
REPO = Path(__file__).resolve().parent.parent
CREDIT_G = "31"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("run-signals")


def _command(url: str, store: Path, *args: str) -> list[str]:
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
        "run",
        "--task",
        CREDIT_G,
        *args,
        "--format",
        "json",
    ]


def _env() -> dict:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


def _stored_runs(store: Path) -> int:
    from metabase.errors import StoreError
    from metabase.store import open_reader

    try:
        with open_reader(store, wait_s=5) as con:
            return (
                con.scalar("SELECT count(*) FROM runs WHERE source = 'local'")
                if "runs" in con.tables()
                else 0
            )
    except StoreError:
        return 0


def test_sigkill_then_the_same_command_runs_only_what_is_missing(replay_server, folder):
    store = folder / "killed.duckdb"
    command = _command(
        replay_server.url,
        store,
        "--pipeline",
        "sklearn.random_forest",
        "--sample",
        "6",
        "--seed",
        "3",
        "--workers",
        "2",
        "--fidelity",
        "n_estimators=16",
    )
    proc = subprocess.Popen(
        command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until(
        lambda: _stored_runs(store) >= 1 or proc.poll() is not None, 300, "a first stored run"
    )
    children = sigkill(proc)
    assert all_gone(children), "a run's process outlived the killed command"
    # the runs and the guardian are forks of the command: none may remain with its command line
    wait_until(lambda: not forks_of(command), 10, "the forks of the killed command to end")
    before = _stored_runs(store)
    assert 1 <= before < 6, "the kill came after every run had finished: nothing was tested"
    again = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    rows = json.loads(again.stdout)
    assert len(rows) == 6 and {r["status"] for r in rows} == {"ok"}
    assert sum(r["reused"] for r in rows) == before  # only what was missing ran
    from metabase.store import open_reader

    with open_reader(store) as con:
        assert (
            con.scalar("SELECT count(DISTINCT run_key) FROM runs")
            == 6
            == con.scalar("SELECT count(*) FROM runs")
        )
        # each run's predictions once: credit-g's 1,000 rows per run
        assert con.execute(
            "SELECT DISTINCT count(*) FROM predictions GROUP BY run_key"
        ).fetchall() == [(1000,)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_sigterm_and_ctrl_c_stop_cleanly(replay_server, folder, signum):
    store = folder / f"stopped-{signum}.duckdb"
    configs = folder / "slow.jsonl"
    configs.write_text(
        "".join(
            json.dumps({"pipeline": "sklearn.random_forest", "config": {"n_estimators": n}}) + "\n"
            for n in (1024, 1000, 999)
        )
    )
    proc = subprocess.Popen(
        _command(replay_server.url, store, "--configs", str(configs), "--workers", "2"),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: len(psutil.Process(proc.pid).children()) >= 2 or proc.poll() is not None,
            300,
            "two runs",
        )
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130 and len(lines) == 1 and lines[0].startswith("error: ")
    assert all_gone(children)
    assert _stored_runs(store) == 0  # the runs were stopped, and nothing half-written was left
