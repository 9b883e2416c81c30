"""The page spool: pages survive the process, a torn last write is ignored, committed pages and
their segments go, another server's pages are thrown away, and a disk that refuses writes
switches the spool off instead of failing the sync.
"""

from __future__ import annotations

import os
import shutil
import threading

import pyarrow as pa

from metabase.openml.spool import PageSpool, spool_dir

ORIGIN = "http://127.0.0.1:1/api/v1/xml"


def page(first: int, rows: int = 5) -> pa.RecordBatch:
    ids = list(range(first, first + rows))
    return pa.record_batch({"run_id": pa.array(ids, pa.int64()), "name": [f"r{i}" for i in ids]})


def test_pages_survive_a_new_process_and_are_read_back_equal(tmp_path):
    spool = PageSpool(tmp_path / "s", ORIGIN)
    spool.put("evaluation/list/task/3/run/0../limit/1000/offset/0", page(1))
    spool.put(
        "evaluation/list/task/6/run/0../limit/1000/offset/0", page(100, 0)
    )  # an empty last page
    again = PageSpool(tmp_path / "s", ORIGIN)  # what a re-run after a kill opens
    assert len(again) == 2
    assert again.get("evaluation/list/task/3/run/0../limit/1000/offset/0").equals(page(1))
    assert again.get("evaluation/list/task/6/run/0../limit/1000/offset/0").num_rows == 0
    assert again.get("evaluation/list/task/3/run/0../limit/999/offset/0") is None  # another call
    assert again.reused == 2


def test_a_torn_last_write_loses_only_that_page(tmp_path):
    spool = PageSpool(tmp_path / "s", ORIGIN)
    spool.put("a", page(1))
    spool.put("b", page(10))
    (segment,) = (tmp_path / "s").glob("seg-*.pages")
    os.truncate(segment, segment.stat().st_size - 7)  # the kill came during the second write
    again = PageSpool(tmp_path / "s", ORIGIN)
    assert again.keys() == ["a"]
    assert again.get("a").equals(page(1)) and again.get("b") is None
    again.put("b", page(10))  # the re-fetched page goes to a fresh segment, after the torn one
    assert PageSpool(tmp_path / "s", ORIGIN).get("b").equals(page(10))


def test_committed_pages_are_forgotten_and_their_segments_deleted(tmp_path):
    spool = PageSpool(tmp_path / "s", ORIGIN)
    spool.put("a", page(1))
    spool.put("b", page(10))
    spool.committed(["a"])  # "b" arrived but is not committed yet: its segment stays
    spool.put("c", page(20))
    assert sorted(spool.keys()) == ["b", "c"] and spool.get("a") is None
    assert len(list((tmp_path / "s").glob("seg-*.pages"))) == 2
    spool.committed(["b"])
    assert spool.keys() == ["c"] and len(list((tmp_path / "s").glob("seg-*.pages"))) == 1
    spool.committed(["c"])
    assert list((tmp_path / "s").glob("seg-*.pages")) == []
    assert len(PageSpool(tmp_path / "s", ORIGIN)) == 0
    assert not (tmp_path / "s" / "committed.log").exists()


def test_pending_gives_every_uncommitted_page(tmp_path):
    spool = PageSpool(tmp_path / "s", ORIGIN)
    for i in range(4):
        spool.put(f"setup/list/{i}", page(10 * i))
    spool.committed(["setup/list/0"])  # its segment stays (it holds pending pages)
    assert len(list((tmp_path / "s").glob("seg-*.pages"))) == 1
    pending = dict(PageSpool(tmp_path / "s", ORIGIN).pending())
    assert sorted(pending) == ["setup/list/1", "setup/list/2", "setup/list/3"]
    assert pending["setup/list/2"].equals(page(20))


def test_pages_of_another_server_are_thrown_away(tmp_path):
    PageSpool(tmp_path / "s", ORIGIN).put("a", page(1))
    other = PageSpool(tmp_path / "s", "https://www.openml.org/api/v1/xml")
    assert len(other) == 0 and other.get("a") is None


def test_clear_removes_the_spool_folder_and_its_empty_parent(tmp_path):
    store = tmp_path / "kb.duckdb"
    spool = PageSpool(spool_dir(store, "setups"), ORIGIN)
    spool.put("a", page(1))
    assert spool_dir(store, "setups") == tmp_path / "kb.duckdb.sync-spool" / "setups"  # README
    spool.clear()
    assert not (tmp_path / "kb.duckdb.sync-spool").exists()


def test_concurrent_puts_from_fetch_threads_are_all_kept(tmp_path):
    spool = PageSpool(tmp_path / "s", ORIGIN)
    threads = [
        threading.Thread(
            target=lambda t=t: [spool.put(f"w{t}/p{i}", page(1000 * t + i)) for i in range(25)]
        )
        for t in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = PageSpool(tmp_path / "s", ORIGIN)
    assert len(again) == 100
    assert all(
        again.get(f"w{t}/p{i}").equals(page(1000 * t + i)) for t in range(4) for i in range(25)
    )


def test_a_disk_that_refuses_writes_switches_the_spool_off(tmp_path, monkeypatch):
    import metabase.openml.spool as spool_module

    warned = []  # the warning itself, not the log tree (other tests reconfigure logging)
    monkeypatch.setattr(
        spool_module.log, "warning", lambda message, *args: warned.append(message % args)
    )
    folder = tmp_path / "s"
    spool = PageSpool(folder, ORIGIN)
    shutil.rmtree(folder)
    folder.write_text("not a folder")  # no segment can be created there (not even by root)
    spool.put("a", page(1))  # must not raise: the sync goes on without the spool
    assert not spool.enabled and spool.get("a") is None
    assert len(warned) == 1 and "page spool off" in warned[0]
    spool.committed(["a"])  # and the engine's calls stay harmless
    blocked = PageSpool(folder / "inner", ORIGIN)  # a spool that cannot even be opened
    assert not blocked.enabled and len(blocked) == 0
