"""One writer, many readers, with real second processes.

DuckDB lets one process open the file read-write or any number read-only. What an analyst sees:
- while an import runs, ``metabase sql`` waits (``--wait``, default 30 s) and then answers from the
  committed store: the state before the import if it was killed, after it if it committed, never
  half of it;
- if the writer is still busy after ``--wait`` seconds: one line, ``error: the store ... is locked
  by another process that is writing to it; try again when it finishes``, exit code 1;
- while a reader holds the file, a writer waits likewise (readers are short: one query each).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from metabase.errors import StoreLockedError
from metabase.store import open_reader, open_writer

INITIAL = 10
ADDED = 200  # written in two halves inside one transaction

# A writer process: opens the store, announces each step on stdout, holds the transaction open
# between the two halves for HOLD seconds, then commits (or is killed before that).
WRITER = r"""
import sys, time
import pandas as pd
from metabase.store import open_writer, utcnow
path, hold, initial, added = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
w = open_writer(path)
print("locked", flush=True)
started = utcnow()
half = added // 2
with w.transaction():
    ids = list(range(initial + 1, initial + half + 1))
    w.upsert("datasets", pd.DataFrame({"dataset_id": ids, "name": "x", "source": "proc"}))
    print("half", flush=True)
    time.sleep(hold)
    ids = list(range(initial + half + 1, initial + added + 1))
    w.upsert("datasets", pd.DataFrame({"dataset_id": ids, "name": "x", "source": "proc"}))
    w.record_import("proc", None, started, {"datasets": added})
w.close()
print("committed", flush=True)
"""

READER = r"""
import sys, time
from metabase.store import open_reader
con = open_reader(sys.argv[1])
print("reading", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _metabase() -> list[str]:
    script = Path(sys.executable).with_name("metabase")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


@pytest.fixture
def store(store_path):
    w = open_writer(store_path)
    w.upsert(
        "datasets", pd.DataFrame({"dataset_id": range(1, INITIAL + 1), "name": "x", "source": "t"})
    )
    w.close()
    return store_path


def _spawn(code: str, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc: subprocess.Popen, word: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.strip() == word:
                return
            if not line:
                break
    proc.kill()
    raise AssertionError(f"process never said {word!r}: {proc.stderr.read()}")


def _count(path, wait="30") -> tuple[int, float, subprocess.CompletedProcess]:
    started = time.monotonic()
    proc = subprocess.run(
        [
            *_metabase(),
            "--store",
            str(path),
            "sql",
            "--wait",
            wait,
            "--format",
            "json",
            "SELECT count(*) AS n, count(*) FILTER (WHERE source = 'proc') AS added FROM datasets",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    n = json.loads(proc.stdout)[0]["n"] if proc.returncode == 0 else -1
    return n, elapsed, proc


def test_reader_waits_for_a_running_import_and_sees_it_whole(store):
    hold = 3.0
    writer = _spawn(WRITER, store, hold, INITIAL, ADDED)
    try:
        _wait_for(writer, "half")  # the transaction is open with half of the rows written
        started = time.monotonic()
        con = open_reader(store, wait_s=30)  # this process is the second one
        waited = time.monotonic() - started
        n = con.scalar("SELECT count(*) FROM datasets")
        imports = con.scalar("SELECT count(*) FROM imports")
        con.close()
        assert n in (INITIAL, INITIAL + ADDED), f"saw a partial import: {n} rows"
        assert (n, imports) == (INITIAL + ADDED, 1)  # the writer kept the lock until it committed
        assert waited >= hold * 0.6  # it waited for the writer rather than failing
        assert writer.wait(timeout=60) == 0
        n, _, proc = _count(store)  # and the analyst's command agrees
        assert proc.returncode == 0 and n == INITIAL + ADDED, proc.stderr
    finally:
        writer.kill()


def test_killed_import_leaves_readers_the_old_state(store):
    writer = _spawn(WRITER, store, 60, INITIAL, ADDED)
    try:
        _wait_for(writer, "half")
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    n, _, proc = _count(store)
    assert proc.returncode == 0, proc.stderr
    assert n == INITIAL
    con = open_reader(store)
    assert con.scalar("SELECT count(*) FROM imports") == 0
    con.close()


def test_short_wait_gives_the_one_line_locked_error(store):
    writer = _spawn(WRITER, store, 30, INITIAL, ADDED)
    try:
        _wait_for(writer, "half")
        n, elapsed, proc = _count(store, wait="0.5")
        assert proc.returncode == 1 and proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: the store ")
        assert "locked by another process" in lines[0]
        assert elapsed < 25  # gave up after the short wait, long before the writer finished
        from metabase.store.connection import waiting_marker

        assert not waiting_marker(store).exists()  # it took its request back when it gave up
    finally:
        writer.kill()
        writer.wait(timeout=30)


def test_a_reader_that_gives_up_leaves_no_request_behind(store):
    from metabase.store.connection import waiting_marker

    writer = _spawn(WRITER, store, 30, INITIAL, ADDED)
    try:
        _wait_for(writer, "half")
        with pytest.raises(StoreLockedError):
            open_reader(store, wait_s=0.5)
        # a marker left behind would make the next long writer yield for nobody
        assert not waiting_marker(store).exists()
    finally:
        writer.kill()
        writer.wait(timeout=30)


def test_info_waits_too(store):
    writer = _spawn(WRITER, store, 2, INITIAL, ADDED)
    try:
        _wait_for(writer, "half")
        proc = subprocess.run(
            [*_metabase(), "--store", str(store), "info", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout)
        assert got["tables"]["datasets"] == INITIAL + ADDED
        assert [i["source"] for i in got["imports"]] == ["proc"]
    finally:
        writer.kill()


def test_many_readers_at_once_and_a_reader_keeps_the_writer_out(store):
    reader = _spawn(READER, store, 20)
    try:
        _wait_for(reader, "reading")
        con = open_reader(store, wait_s=1)  # a second reader in this process: fine
        assert con.scalar("SELECT count(*) FROM datasets") == INITIAL
        con.close()
        started = time.monotonic()
        with pytest.raises(StoreLockedError):
            open_writer(store, wait_s=1)
        assert time.monotonic() - started < 15
    finally:
        reader.kill()
        reader.wait(timeout=30)
    open_writer(store, wait_s=10).close()  # once the reader is gone the writer gets in


# A sync's write session (metabase.sync.engine._StoreSession) between its commits: it closes the
# store when a reader waits, and otherwise keeps it open (each close is a checkpoint).
SYNC_SESSION = r"""
import sys, time
from metabase.sync.engine import _StoreSession
session = _StoreSession(__import__("pathlib").Path(sys.argv[1]))
session.get()
print("locked", flush=True)
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    time.sleep(0.1)  # a commit's worth of work
    was_open = session.writer is not None
    session.release_if_due()
    if was_open and session.writer is None:
        print("yielded", flush=True)
        time.sleep(0.5)
        session.get()
session.close()
"""


def test_a_sync_yields_the_store_to_a_waiting_reader(store):
    from metabase.store.connection import waiting_marker

    marker = waiting_marker(store)
    writer = _spawn(SYNC_SESSION, store, 25)
    try:
        _wait_for(writer, "locked")
        time.sleep(1.5)  # held past its minimum: without a reader it keeps the store
        started = time.monotonic()
        con = open_reader(store, wait_s=20)
        waited = time.monotonic() - started
        assert con.scalar("SELECT count(*) FROM datasets") == INITIAL
        con.close()
        assert waited < 10  # the session's own limit is 30 s: it yielded because we asked
        assert not marker.exists()  # the reader took its request back once it got in
        _wait_for(writer, "yielded")
    finally:
        writer.kill()
        writer.wait(timeout=30)


def test_without_readers_a_sync_keeps_the_store(store):
    from metabase.store import reader_waiting
    from metabase.store.connection import waiting_marker
    from metabase.sync.engine import _StoreSession

    assert not reader_waiting(store)
    session = _StoreSession(store)
    session.get()
    try:
        time.sleep(0.7)
        session.release_if_due()
        assert session.writer is not None
        waiting_marker(store).touch()  # a reader knocks
        assert reader_waiting(store)
        session.release_if_due()
        assert session.writer is None
    finally:
        session.close()
