"""A writer gets its turn beside readers that never stop: while a writer waits for the file, new
readers hold back (a few seconds at most), so that processes querying the store every second
(analysts beside the bot) cannot keep the shared lock taken between them and starve it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
READER = """
import sys, time
from pathlib import Path
from metabase.store.connection import connect
path, until = Path(sys.argv[1]), time.monotonic() + float(sys.argv[2])
print("reading", flush=True)
while time.monotonic() < until:
    con = connect(path, read_only=True, wait_s=30)
    con.execute("SELECT count(*) FROM imports").fetchall()
    time.sleep(0.4)  # a query that takes a while, and the next one right after it
    con.close()
"""


@pytest.mark.slow
def test_a_writer_gets_in_beside_readers_that_overlap_all_the_time(tmp_path):
    from metabase.store import open_writer
    from metabase.store.connection import connect, writer_marker

    store = tmp_path / "turn.duckdb"
    open_writer(store).close()
    env = {"PYTHONPATH": str(REPO)}
    readers = []
    try:
        for _ in range(3):
            readers.append(
                subprocess.Popen(
                    [sys.executable, "-c", READER, str(store), "40"],
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
            time.sleep(0.15)  # staggered: one of them always holds the file
        for proc in readers:
            assert proc.stdout.readline().strip() == "reading"
        time.sleep(1.0)
        asked = time.monotonic()
        writer = connect(store, read_only=False, wait_s=20)  # raises when starved
        took = time.monotonic() - asked
        writer.execute("CHECKPOINT")
        writer.close()
        assert not writer_marker(store).exists()  # it took its request back
        assert took < 20
    finally:
        for proc in readers:
            proc.kill()
            proc.wait()
