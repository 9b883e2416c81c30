"""``metabase bot --executor ray`` on a local Ray of 2 CPUs against the replay server: a bounded
run stores each run once and exits 0, SIGTERM stops it within its grace with exit 0 (``ray.init``
replaces the SIGTERM handler, which the executor must give back), and neither leaves a process
behind (the bot's Ray processes and the runs' children are noted while it runs: a process that
has ended can no longer name its children).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from metabase.testing.bot_process import bot_command, bot_env, rows
from metabase.testing.processes import all_gone, wait_until

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.realdata]
pytest.importorskip("ray", reason="needs Ray: pip install 'metabase[ray]'")
REPO = Path(__file__).resolve().parent.parent


def _command(url: str, store: Path, *extra: str) -> list[str]:
    return bot_command(url, store, "--executor", "ray", "--format", "json", *extra)


class _Watched:
    """The bot's process, and every descendant seen while it ran (Ray's processes, runs)."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.proc = subprocess.Popen(
            command,
            env=bot_env(),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=log.open("ab"),
            text=True,
        )
        self.seen: dict[int, psutil.Process] = {}

    def note(self) -> None:
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.seen.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass

    def wait(self, timeout: float, until=lambda: False) -> None:
        """Note descendants every 0.2 s until the bot exits or ``until()`` holds."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and not until():
            assert time.monotonic() < deadline, "the bot did not get there in time"
            self.note()
            time.sleep(0.2)


def test_a_bounded_bot_on_ray_stores_each_run_once_and_leaves_no_process(replay_factory, tmp_path):
    server = replay_factory()
    store, log = tmp_path / "ray.duckdb", tmp_path / "bot.stderr"
    bot = _Watched(_command(server.url, store, "--max-runs", "4"), log)
    bot.wait(600)
    out = bot.proc.stdout.read()
    assert bot.proc.returncode == 0, log.read_text()[-3000:]
    summary = json.loads(out)
    assert (summary["runs"], summary["failed"], summary["stopped"]) == (4, 0, "done")
    jobs = rows(store, "SELECT run_key, state FROM bot_jobs")
    assert len(jobs) == 4 and {state for _, state in jobs} == {"stored"}
    runs = rows(
        store,
        "SELECT r.run_key, d.executor, r.status FROM runs r JOIN run_details d USING (run_key) "
        "WHERE r.source = 'local'",
    )
    assert sorted(k for k, _, _ in runs) == sorted(k for k, _ in jobs)  # each stored once
    assert {(e, s) for _, e, s in runs} == {("ray", "ok")}
    assert bot.seen, "the bot started no process (no local Ray?)"
    assert all_gone(list(bot.seen.values()), timeout=30), "a Ray or run process outlived the bot"


def test_sigterm_stops_a_bot_on_ray_within_its_grace_with_exit_0(replay_factory, tmp_path):
    server = replay_factory()
    store, log = tmp_path / "term.duckdb", tmp_path / "bot.stderr"
    bot = _Watched(_command(server.url, store, "--grace", "60"), log)

    def stored() -> int:
        found = rows(store, "SELECT count(*) FROM bot_jobs WHERE state = 'stored'")
        return found[0][0] if found else 0

    bot.wait(600, until=lambda: stored() >= 2)
    assert bot.proc.poll() is None, log.read_text()[-3000:]
    bot.proc.send_signal(signal.SIGTERM)
    bot.wait(120)
    assert bot.proc.returncode == 0, log.read_text()[-3000:]
    assert json.loads(bot.proc.stdout.read())["stopped"] == "signal SIGTERM"
    states = dict(rows(store, "SELECT state, count(*) FROM bot_jobs GROUP BY state"))
    assert states.pop("stored") >= 2 and set(states) <= {"proposed"}
    runs = rows(store, "SELECT count(*), count(DISTINCT run_key) FROM runs")
    assert runs[0][0] == runs[0][1]
    assert all_gone(list(bot.seen.values()), timeout=30), "a Ray or run process outlived the bot"
    wait_until(
        lambda: not rows(store, "SELECT 1 FROM bot_registry WHERE stopped_at IS NULL"),
        5,
        "the bot's registration to end",
    )
