"""The replay server on a tiny hand-made data directory (no real data needed), and its
disk cache.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import pytest

SUPPLEMENT = (
    "tid,did,name,task_type,estimation_procedure,target_feature,evaluation_measures,note\n"
    "{tid},1471,eeg-eye-state,Supervised Classification,10-fold Crossvalidation,"
    "Class,predictive_accuracy,x\n"
)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = tmp_path / "data"
    (data / "extra").mkdir(parents=True)
    (data / "extra" / "tasks_supplement.csv").write_text(SUPPLEMENT.format(tid=14951))
    return data


def test_serves_what_a_tiny_directory_has(tiny):
    from metabase.testing.replay import start_server

    with start_server(tiny) as h:
        with urllib.request.urlopen(h.url + "/task/14951") as r:
            assert b"<oml:data_set_id>1471</oml:data_set_id>" in r.read()
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(h.url + "/run/list/limit/10")
        assert info.value.code == 412 and b"<oml:code>512</oml:code>" in info.value.read()


def test_disk_cache_is_reused_and_follows_the_sources(tiny):
    from metabase.testing.replay.catalog import Catalog
    from metabase.testing.replay.diskcache import load_or_build

    builds = []

    def build():
        builds.append(1)
        return Catalog(tiny)

    assert 14951 in load_or_build(tiny, build).tasks
    assert 14951 in load_or_build(tiny, build).tasks
    assert len(builds) == 1
    path = tiny / "extra" / "tasks_supplement.csv"
    path.write_text(SUPPLEMENT.format(tid=9983))
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    assert 9983 in load_or_build(tiny, build).tasks
    assert len(builds) == 2
