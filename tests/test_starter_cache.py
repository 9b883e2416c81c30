"""The starter's DuckDB file in the user's cache: built once, rebuilt when the starter changes or
the file is damaged, safe when several first calls race, and only ever read.

Most tests use a small starter of two real tables (the shipped ``tasks`` and ``flows``) so that a
build takes a fraction of a second; the expected row counts are read from the Parquet files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from metabase import starter
from metabase.errors import ReadOnlyError
from metabase.starter import cache

REPO = Path(__file__).resolve().parent.parent
TABLES = ("tasks", "flows")


@pytest.fixture
def small(tmp_path, monkeypatch) -> Path:
    """A starter of two shipped tables, and a cache folder of this test's own."""
    data = tmp_path / "starter"
    data.mkdir()
    info = starter.manifest()
    info["tables"] = {t: info["tables"][t] for t in TABLES}
    (data / "manifest.json").write_text(json.dumps(info))
    for table in TABLES:
        shutil.copy(starter.DATA / f"{table}.parquet", data / f"{table}.parquet")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_checked", set())
    return data


def _rows(data: Path, table: str) -> int:
    return pq.read_metadata(data / f"{table}.parquet").num_rows


def _count(data: Path, table: str = "tasks") -> int:
    with starter.open_starter(data) as con:
        return con.scalar(f"SELECT count(*) FROM {table}")


def _cached(data: Path) -> list[Path]:
    return sorted(cache.cache_dir().glob("*"))


def test_the_first_call_builds_the_file_and_later_calls_open_it(small):
    assert _count(small) == _rows(small, "tasks") and _count(small, "flows") == _rows(
        small, "flows"
    )
    (path,) = _cached(small)
    assert path.name.startswith("starter-") and path.suffix == ".db"
    before = path.stat()
    assert _count(small) == _rows(small, "tasks")
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_changed_starter_gets_a_new_file_and_the_old_one_goes(small):
    _count(small)
    (old,) = _cached(small)
    table = pq.read_table(small / "tasks.parquet")
    pq.write_table(table.slice(0, 10), small / "tasks.parquet")
    assert _count(small) == 10
    (new,) = _cached(small)
    assert new != old and not old.exists()


def test_a_new_schema_version_gets_a_new_file(small, monkeypatch):
    _count(small)
    (old,) = _cached(small)
    import metabase.store.schema_guard as guard

    known = guard.latest_known_version()
    monkeypatch.setattr(guard, "latest_known_version", lambda: known + 1)
    assert cache.cache_path(small, list(TABLES)) != old


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_file_is_rebuilt_with_one_log_line(small, caplog, monkeypatch, damage):
    _count(small)
    (path,) = _cached(small)
    whole = path.read_bytes()
    path.chmod(0o644)
    if damage == "garbage":
        path.write_bytes(b"not a database " * 1000)
    elif damage == "truncated":  # a partial copy: DuckDB itself opens it and counts its rows
        path.write_bytes(whole[: len(whole) * 3 // 4])
    else:
        path.write_bytes(b"")
    monkeypatch.setattr(cache, "_checked", set())  # as a new process finds it
    caplog.clear()
    assert _count(small) == _rows(small, "tasks")
    lines = [r.getMessage() for r in caplog.records if r.name == "metabase.starter.cache"]
    assert len(lines) == 1 and "unusable" in lines[0] and "rebuilding" in lines[0]
    assert "\n" not in lines[0]
    assert path.stat().st_size == len(whole)
    assert _count(small) == _rows(small, "tasks")  # and the rebuilt file is used quietly
    assert len([r for r in caplog.records if r.name == "metabase.starter.cache"]) == 1


def test_the_cached_starter_is_read_only(small):
    _count(small)
    (path,) = _cached(small)
    digest = path.read_bytes()
    with starter.open_starter(small) as con:
        with pytest.raises(ReadOnlyError):
            con.execute("CREATE TABLE mine (i INTEGER)")
        with pytest.raises(ReadOnlyError):
            con.execute("DELETE FROM tasks")
    assert path.read_bytes() == digest
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # root writes anything
    assert path.stat().st_mode & 0o222 == 0


def test_where_no_cache_can_be_written_the_starter_loads_into_memory(small, monkeypatch, caplog):
    blocker = small.parent / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    starter._memory_store.cache_clear()
    assert _count(small) == _rows(small, "tasks")
    assert not any(r.levelname == "WARNING" for r in caplog.records)
    starter._memory_store.cache_clear()


RACE = """
import sys
from pathlib import Path
from metabase import starter
with starter.open_starter(Path(sys.argv[1])) as con:
    print(con.scalar("SELECT count(*) FROM tasks"))
"""


def test_concurrent_first_calls_all_answer_and_leave_one_whole_file(small):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(small)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    answers = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in answers]
    assert [int(out) for out, _ in answers] == [_rows(small, "tasks")] * 4
    (path,) = _cached(small)  # no half-written or temporary file left beside it
    assert _count(small) == _rows(small, "tasks")
    assert path.suffix == ".db"
