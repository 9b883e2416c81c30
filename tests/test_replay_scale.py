"""Scale mode: deterministic synthetic runs/evaluations, generated on the fly, labelled
synthetic.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.realdata
OML = "{http://openml.org/openml}"
FIRST = 100_000_001  # documented in metabase.testing.replay.scale


def fetch(url: str) -> tuple[int, ET.Element]:
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, ET.fromstring(r.read())
    except urllib.error.HTTPError as err:
        return err.code, ET.fromstring(err.read())


def evaluations(root):
    return [
        (
            int(e.find(f"{OML}run_id").text),
            e.find(f"{OML}flow_name").text,
            float(e.find(f"{OML}value").text),
        )
        for e in root.findall(f"{OML}evaluation")
    ]


def test_ten_million_evaluations_without_materialising(replay_factory):
    h = replay_factory(scale=10_000_000)
    last = FIRST + 10_000_000 - 1
    t = time.perf_counter()
    status, root = fetch(
        f"{h.url}/evaluation/list/function/predictive_accuracy/run/{last - 499}.."
        "/limit/1000/offset/0"
    )
    assert time.perf_counter() - t < 5
    rows = evaluations(root)
    assert [r[0] for r in rows] == list(range(last - 499, last + 1))
    assert all(name.startswith("synthetic.") for _, name, _ in rows)
    assert all(0.5 <= v <= 1.0 for *_, v in rows)
    assert fetch(f"{h.url}/run/{last + 1}")[0] == 412
    status, run = fetch(f"{h.url}/run/{last}")
    assert status == 200 and run.find(f"{OML}tag").text == "synthetic"


def test_scale_paging_by_offset_sees_every_run_once(replay_factory):
    n = 4321
    h = replay_factory(scale=n)
    seen, offset = [], 0
    while True:
        status, root = fetch(
            f"{h.url}/evaluation/list/function/predictive_accuracy/uploader/999"
            f"/limit/1000/offset/{offset}"
        )
        if status == 412:
            break
        rows = evaluations(root)
        seen += [r[0] for r in rows]
        offset += len(rows)
    assert sorted(seen) == list(range(FIRST, FIRST + n))


def test_scale_is_deterministic_and_setups_exist(replay_factory):
    a, b = replay_factory(scale=50_000), replay_factory(scale=50_000)
    call = "/evaluation/list/function/predictive_accuracy/run/100030000../limit/50/offset/0"
    assert evaluations(fetch(a.url + call)[1]) == evaluations(fetch(b.url + call)[1])
    status, setup = fetch(f"{a.url}/setup/200000001")
    assert status == 200 and {
        p.find(f"{OML}parameter_name").text for p in setup.findall(f"{OML}parameter")
    } == {"x", "depth"}
    status, flow = fetch(f"{a.url}/flow/90000001")
    assert "synthetic" in [t.text for t in flow.findall(f"{OML}tag")]


def test_real_data_is_the_default(replay_server):
    status, root = fetch(f"{replay_server.url}/run/list/uploader/999/limit/10")
    assert status == 412  # no synthetic runs unless --scale


def test_a_tasks_runs_are_looked_up_not_scanned_and_are_the_same_rows(openml_data):
    """Scale mode finds a task's runs by arithmetic (as a database index would) instead of
    generating and masking every run; the columns must be exactly the scanned ones, filtered.
    """
    import numpy as np

    from metabase.testing.replay.scale import ScaleSource

    tasks = [3, 6, 11, 12, 14]
    src = ScaleSource(50_000, tasks, {t: 1000 + t for t in tasks})
    for start, stop, wanted in [
        (0, 50_000, [6]),
        (17, 4_000, [3, 14, 99]),
        (49_990, 60_000, [11, 12]),
        (100, 100, [3]),
        (0, 500, [999]),
    ]:
        whole = src.columns(start, stop)
        keep = np.isin(whole["task_id"], wanted)
        looked_up = src.columns(start, stop, tasks=wanted)
        for name in (
            "run_id",
            "task_id",
            "flow_id",
            "setup_id",
            "upload_time",
            "data_id",
            "uploader",
        ):
            assert np.array_equal(looked_up[name], whole[name][keep]), (start, stop, wanted, name)
        assert np.array_equal(
            looked_up["evals"]["predictive_accuracy"], whole["evals"]["predictive_accuracy"][keep]
        )


def test_keyset_pages_of_a_task_window_give_its_runs_once_up_to_the_high_id(replay_factory):
    h = replay_factory(scale=30_000)
    low, high = FIRST + 1_000, FIRST + 20_000
    got, position = [], low
    while True:
        status, root = fetch(
            f"{h.url}/evaluation/list/function/predictive_accuracy/task/3,6/"
            f"run/{position}..{high}/limit/100/offset/0"
        )
        rows = evaluations(root) if status == 200 else []
        got += [r for r, _, _ in rows]
        if len(rows) < 100:
            break
        position = rows[-1][0] + 1
    whole = h.state.scale.columns(0, 30_000)  # every synthetic run, unfiltered
    expected = [
        int(r)
        for r, t in zip(whole["run_id"], whole["task_id"])
        if t in (3, 6) and low <= r <= high
    ]
    assert got == expected and len(got) > 300


def test_setup_lists_by_ids_and_ranges_give_exactly_those_setups(replay_factory):
    """Asked by id list or id range, a setup list is an index lookup: exactly the setups asked
    for that exist, in id order, whatever lies beyond the highest id.
    """
    h = replay_factory(scale=40_000)
    first = 200_000_001  # scale.py: setup of synthetic run k is 200_000_001 + k
    asked = [
        first + 5,
        first + 17,
        first + 16_500,
        first + 39_999,
        first + 40_000,
    ]  # the last one does not exist

    def setup_ids(call: str) -> list[int]:
        status, root = fetch(f"{h.url}/{call}")
        return (
            [int(s.find(f"{OML}setup_id").text) for s in root.findall(f"{OML}setup")]
            if status == 200
            else []
        )

    assert (
        setup_ids(f"setup/list/setup/{','.join(map(str, asked))}/limit/1000/offset/0") == asked[:4]
    )
    assert setup_ids(f"setup/list/setup/{first + 100}..{first + 349}/limit/1000/offset/0") == list(
        range(first + 100, first + 350)
    )
    assert setup_ids(f"setup/list/setup/{first + 39_990}../limit/1000/offset/0") == list(
        range(first + 39_990, first + 40_000)
    )
