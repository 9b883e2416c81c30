"""The CLI's progress bars (cli.progress): off a terminal they print nothing, not even the blank
line a transient Rich bar leaves, so an error is the first and only line on stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BAR = """
import sys
from cli.progress import progress_bar
from metabase.sync.progress import RichProgress
with progress_bar(show={show}) as bar:
    bar.add_task("work", total=3)
sync = RichProgress(progress=progress_bar(*RichProgress.columns(), show={show}, transient=False))
sync.phase("tasks", 3)
sync.advance(1, 10)
sync.done()
print("error: x", file=sys.stderr)
"""


def _stderr(show: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", BAR.format(show=show)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_off_a_terminal_a_bar_prints_nothing_before_the_error():
    assert _stderr("None") == "error: x\n"


def test_a_bar_asked_for_off_a_terminal_leaves_its_last_state_not_a_blank_line():
    err = _stderr("True")
    assert err.endswith("error: x\n") and "\n\n" not in err and not err.startswith("\n")
    assert "tasks" in err  # the sync's bar, asked for, shows where it got to


def test_sync_failing_off_a_terminal_prints_one_line(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "--store",
            str(tmp_path / "s.duckdb"),
            "--openml-server",
            "http://127.0.0.1:9/api/v1/xml",
            "sync",
            "--tasks",
            "3",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 1 and done.stderr.startswith("error: cannot reach OpenML")
    assert done.stderr.count("\n") == 1, repr(done.stderr)
