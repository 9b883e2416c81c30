"""The README's first command works on a fresh machine: no store, no ../shared, no OpenML.

The command is read from the README (its first ``bash`` block); the install part (venv, pip) is
what CI does already, so the ``metabase ...`` part runs with this interpreter, from a copy of the
packages in a temporary directory (as an installed wheel would: no checkout, so no ``data/``
store and no ``../shared`` beside it), with a temporary home directory and the OpenML server at a
port where nothing listens.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("metabase", "cli", "pipelines")


def first_command() -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(r"```bash\n(.*?)```", text, re.S)
    assert match, "the README has no bash block"
    return " ".join(match.group(1).split())


def metabase_parts(command: str) -> list[list[str]]:
    return [
        shlex.split(part)[1:]
        for part in (p.strip() for p in command.split("&&"))
        if part.startswith("metabase ")
    ]


def _refusing_port() -> int:
    with socket.socket() as s:  # bound, then closed: nothing listens there afterwards
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_first_command_installs_and_recommends_for_task_14951():
    command = first_command()
    assert "pip install" in command
    assert metabase_parts(command)[-1][:3] == ["recommend", "--task", "14951"]


@pytest.mark.slow
def test_the_readme_main_job_runs_on_a_fresh_machine(tmp_path):
    site, home = tmp_path / "site", tmp_path / "home"
    home.mkdir()
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, site / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("METABASE_", "XDG_", "OPENML"))
    }
    env.update(
        HOME=str(home),
        PYTHONPATH=str(site),
        METABASE_OPENML_SERVER=f"http://127.0.0.1:{_refusing_port()}/api/v1/xml",
    )
    where = subprocess.run(
        [sys.executable, "-c", "import metabase, cli.main; print(metabase.__file__)"],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(site)  # the copy runs, not the checkout
    for args in metabase_parts(first_command()):
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    out, err = done.stdout, done.stderr
    assert "task 14951" in out.splitlines()[0]
    assert re.findall(r"^│ (\d+)\s+│", out, re.M) == [str(i) for i in range(1, 11)]
    assert max(len(line) for line in out.splitlines()) <= 100
    notice = [line for line in err.splitlines() if "starter knowledge base" in line]
    assert len(notice) == 1 and "no store at" in notice[0] and "metabase sync" in notice[0]
    assert "error" not in err.lower()
    assert not list(home.rglob("*.duckdb"))  # answered read-only: no store was created
    # the starter was kept in the user's cache, as one read-only DuckDB file
    (cached,) = (home / ".cache" / "metabase").glob("starter-*.db")
    assert cached.stat().st_mode & 0o222 == 0
