"""What ``metabase import`` says when it cannot go on (issue 20, section 4): one line that points
the right way, for a locked store (``--wait``), a read-only folder, a value DuckDB cannot store,
and the strict text reader's refusals.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from cli.main import main
from metabase.errors import DataFormatError, StoreError
from metabase.formats.delimited import read_rows as read_csv
from metabase.formats.text import MAX_LINE_BYTES
from metabase.imports.api import apply_batch
from metabase.imports.base import ImportBatch, TableLoad
from metabase.store import open_reader, open_writer

REPO = Path(__file__).resolve().parent.parent
CSV = "Id,Name,Runs,NumberOfInstances\n31,credit-g (1),10,1000.0\n61,iris (1),5,150.0\n"

HOLD = r"""
import sys, time
from metabase.store import open_writer
w = open_writer(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "unexpected" not in err[0], err
    return err[0]


def test_import_wait_gives_up_after_the_seconds_given(tmp_path, capsys):
    store, source = tmp_path / "s.duckdb", tmp_path / "q.csv"
    source.write_text(CSV)
    assert main(["--store", str(store), "import", "qualities-csv", str(source)]) == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store)], stdout=subprocess.PIPE, text=True, env=_env()
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        capsys.readouterr()
        started = time.monotonic()
        rc = main(["--store", str(store), "import", "qualities-csv", str(source), "--wait", "0.5"])
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert rc == 1
    assert "locked by another process" in _one_error_line(capsys)
    assert elapsed < 0.5 + 10  # the default (60 s) was not used


def test_a_value_duckdb_cannot_store_is_reported_as_the_first_error(tmp_path):
    with open_writer(tmp_path / "s.duckdb") as writer:
        bad = TableLoad(
            "datasets", pa.table({"dataset_id": [1], "version": [2**40], "source": ["t"]})
        )
        with pytest.raises(StoreError) as caught:
            apply_batch(writer, ImportBatch(source="t", loads=(bad,)))
        message = str(caught.value)
        assert "datasets" in message and "out of range" in message
        assert "aborted" not in message
        assert writer.scalar("SELECT count(*) FROM datasets") == 0


def _read_only_mount_available() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(
    not _read_only_mount_available(), reason="needs root and unshare for a read-only bind mount"
)
def test_store_in_a_read_only_folder_is_one_line(tmp_path):
    folder, writable = tmp_path / "store", tmp_path / "rw"
    folder.mkdir()
    writable.mkdir()
    source = tmp_path / "q.csv"
    source.write_text(CSV)
    assert (
        main(["--store", str(writable / "s.duckdb"), "import", "qualities-csv", str(source)]) == 0
    )
    (folder / "s.duckdb").touch()
    # the folder read-only, the store file in it writable: DuckDB opens it, then cannot write its
    # WAL
    script = (
        f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && "
        f"mount --bind {writable / 's.duckdb'} {folder / 's.duckdb'} && "
        f"{sys.executable} -m cli.main --store {folder / 's.duckdb'} "
        f"import qualities-csv {source}; "
        f"echo rc=$?; {sys.executable} -m cli.main --store {folder / 'sub' / 'new.duckdb'} "
        f"import qualities-csv {source}; echo rc=$?"
    )
    out = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO,
        timeout=120,
    )
    assert out.stdout.split() == ["rc=1", "rc=1"], out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 2 and all(
        line.startswith("error: ") and "unexpected" not in line for line in lines
    ), lines
    assert "not writable" in lines[0] and "s.duckdb.wal" in lines[0]
    assert "cannot create the store's folder" in lines[1]
    with open_reader(writable / "s.duckdb") as con:
        assert con.scalar("SELECT count(*) FROM imports") == 1


# -- the strict text reader -------------------------------------------------------------------
def test_read_csv_byte_order_mark_and_gzip(tmp_path):
    plain = tmp_path / "a.csv"
    plain.write_bytes(b"\xef\xbb\xbf" + CSV.encode())
    packed = tmp_path / "b.csv.gz"
    packed.write_bytes(gzip.compress(CSV.encode()))
    for path in (plain, packed):
        table = read_csv(path)
        assert table.header == ("Id", "Name", "Runs", "NumberOfInstances")
        assert table.column("Id") == ["31", "61"] and table.lines == [2, 3]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (b"Id,Name\n", "line 1: no data rows"),
        (b"Id,Name\n1,a,b\n", "line 2, column 3: expected 2 values as in the header, found 3"),
        (b"Id,Name\n1\n", "line 2, column 'Name': expected 2 values as in the header, found 1"),
        (b"Id,Id\n1,2\n", "line 1, column 2: the header names 'Id' twice"),
        (b"Id,\n1,2\n", "line 1, column 2: the header has an empty column name"),
        (b"Id,Name\n1,ann\xe9al\n", "line 2, column 6: not valid UTF-8 (byte 0xe9)"),
        (b"Id,Name\n1,a\x00b\n", "line 2, column 4: binary data (a NUL byte)"),
        (bytes(range(256)) * 8, "line 1, column 1: binary data (a NUL byte)"),
        (
            bytes(range(1, 256)) * 8,
            "line 2, column 118: not valid UTF-8 (byte 0x80)",
        ),  # line 2 starts at byte 11
    ],
)
def test_read_csv_refuses(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=re.escape(message)):
        read_csv(path)


def test_read_csv_refuses_a_line_too_long_without_reading_it_whole(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Id,Name\n1," + "a" * (MAX_LINE_BYTES + 10) + "\n")
    with pytest.raises(DataFormatError, match="line 2: the line is longer than"):
        read_csv(path)


def test_read_csv_refuses_a_truncated_gzip(tmp_path):
    path = tmp_path / "x.csv.gz"
    data = gzip.compress(("Id,Name\n" + "".join(f"{i},n{i}\n" for i in range(1, 5000))).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="cannot decompress the file"):
        read_csv(path)


def test_two_loads_replacing_the_same_rows_are_refused(tmp_path):
    from metabase.errors import InputError

    rows = pa.table(
        {
            "dataset_id": [1],
            "learner": ["x"],
            "size_train": [10],
            "measure": ["m"],
            "source": ["s"],
        }
    )
    loads = tuple(
        TableLoad("learning_curves", rows, mode="replace", owner={"source": "s", "measure": "m"})
        for _ in range(2)
    )
    with open_writer(tmp_path / "s.duckdb") as writer:
        with pytest.raises(InputError, match="replace the same learning_curves rows"):
            apply_batch(writer, ImportBatch(source="s", loads=loads, path=tmp_path))
        assert writer.scalar("SELECT count(*) FROM learning_curves") == 0
