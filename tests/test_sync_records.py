"""Pure parts of the sync: records conversion, setup windows, request validation (no server)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import pyarrow as pa
import pytest

from metabase.errors import InputError
from metabase.openml.listparse import SPECS
from metabase.sync import SyncRequest, records
from metabase.sync.phases import setup_windows
from metabase.sync.records import (
    runs_and_evaluations,
    setup_page_records,
    setups_rows,
    typed_parameters,
    unique_evaluations,
)
from metabase.testing.listpages import parse_page

NS = 'xmlns:oml="http://openml.org/openml"'


def _evaluations(*rows):
    body = "".join(
        f"<oml:evaluation><oml:run_id>{r}</oml:run_id><oml:task_id>3</oml:task_id>"
        f"<oml:setup_id>{r + 7 if isinstance(r, int) else 99}"
        f"</oml:setup_id><oml:flow_id>6969</oml:flow_id><oml:function>predictive_accuracy</oml:function>"
        f"<oml:upload_time>{t}</oml:upload_time><oml:uploader>1</oml:uploader><oml:value>{v}</oml:value>"
        f"</oml:evaluation>"
        for r, t, v in rows
    )
    return parse_page(
        SPECS["evaluation"], f"<oml:evaluations {NS}>{body}</oml:evaluations>".encode()
    )


def test_malformed_evaluation_rows_are_never_stored_and_each_is_counted():
    t = "2017-11-01T00:00:00"
    batch = _evaluations(
        (10, t, "0.5"),
        (11, t, "abc0.96"),
        (12, t, "inf"),
        (13, t, "NaN"),
        (14, t, "-inf"),
        (15, t, "1e999"),
        (-16, t, "0.7"),
        ("99999999999999999999", t, "0.7"),
        ("17.5", t, "0.7"),
        (0, t, "0.7"),
        (18, t, " 0.25 "),
        (19, t, "1_000"),
        (20, t, ""),
    )
    skipped = Counter()
    runs, evaluations = runs_and_evaluations(batch, skipped=skipped)
    good = [
        "openml:10",
        "openml:11",
        "openml:12",
        "openml:13",
        "openml:14",
        "openml:15",
        "openml:18",
        "openml:19",
        "openml:20",
    ]
    assert runs["run_key"].to_pylist() == good  # bad ids dropped whole (none wrapped or truncated)
    assert min(runs["openml_run_id"].to_pylist()) > 0
    # a run keeps its row; an evaluation whose value is not a finite number is not stored
    assert list(zip(evaluations["run_key"].to_pylist(), evaluations["value"].to_pylist())) == [
        ("openml:10", 0.5),
        ("openml:18", 0.25),
    ]
    assert skipped == {records.BAD_ID: 4, records.BAD_VALUE: 7}


def test_ids_must_be_positive_in_every_id_column_and_the_measure_the_one_asked_for():
    body = "".join(
        f"<oml:evaluation><oml:run_id>{r}</oml:run_id><oml:task_id>{task}</oml:task_id><oml:setup_id>{setup}"
        f"</oml:setup_id><oml:flow_id>{flow}</oml:flow_id><oml:function>{fn}</oml:function>"
        f"<oml:uploader>{up}</oml:uploader><oml:upload_time>2020-01-01T00:00:00</oml:upload_time>"
        f"<oml:value>0.5</oml:value></oml:evaluation>"
        for r, task, setup, flow, fn, up in [
            (1, 3, 8, 6969, "predictive_accuracy", 1),
            (2, -3, 9, 6969, "predictive_accuracy", 1),
            (3, 3, 0, 6969, "predictive_accuracy", 1),
            (4, 3, 11, "", "predictive_accuracy", 1),
            (5, 3, 12, 6969, "area_under_roc_curve", 1),
            (6, 3, 13, 6969, "", 1),
            (7, 3, 14, 6969, "predictive_accuracy", -2),
        ]
    )
    batch = parse_page(
        SPECS["evaluation"], f"<oml:evaluations {NS}>{body}</oml:evaluations>".encode()
    )
    skipped = Counter()
    runs, evaluations = runs_and_evaluations(batch, skipped=skipped, measure="predictive_accuracy")
    assert runs["run_key"].to_pylist() == ["openml:1", "openml:7"]
    assert runs["uploader"].to_pylist() == [1, None]  # a run is not refused for its uploader
    assert evaluations["measure"].to_pylist() == ["predictive_accuracy"] * 2
    assert skipped == {records.BAD_ID: 3, records.OTHER_MEASURE: 2, records.BAD_UPLOADER: 1}


def test_an_evaluation_repeated_on_a_page_or_in_a_commit_group_is_kept_once():
    t = "2017-11-01T00:00:00"
    skipped = Counter()
    runs, first = runs_and_evaluations(
        _evaluations((10, t, 0.5), (11, t, 0.6), (10, t, 0.8)), skipped=skipped
    )
    assert runs["run_key"].to_pylist() == ["openml:10", "openml:11"] and first[
        "value"
    ].to_pylist() == [0.5, 0.6]
    _, second = runs_and_evaluations(_evaluations((11, t, 0.9), (12, t, 0.7)), skipped=skipped)
    unique = unique_evaluations(pa.concat_tables([first, second]), skipped)
    assert list(zip(unique["run_key"].to_pylist(), unique["value"].to_pylist())) == [
        ("openml:10", 0.5),
        ("openml:11", 0.6),
        ("openml:12", 0.7),
    ]  # the first of each, in order
    assert skipped == {records.REPEATED: 2}
    assert unique_evaluations(second, skipped) is second  # nothing repeated: the page as it came


def test_setups_with_ids_that_are_not_positive_are_never_kept():
    xml = (
        f"<oml:setups {NS}>"
        + "".join(
            f"<oml:setup><oml:setup_id>{s}</oml:setup_id><oml:flow_id>{f}</oml:flow_id></oml:setup>"
            for s, f in [(5, 60), (-6, 60), (7, -60), ("99999999999999999999", 60), (8, 60)]
        )
        + "</oml:setups>"
    )
    table, _ = setup_page_records(parse_page(SPECS["setup"], xml.encode()), None, {60: "weka.J48"})
    assert table["setup_id"].to_pylist() == [5, 8]


def test_the_skipped_summary_is_one_line_with_counts():
    line = records.skipped_summary({records.BAD_VALUE: 2, records.REPEATED: 1})
    assert (
        line == "skipped 3 evaluation rows OpenML sent malformed "
        "(1 repeated evaluation, 2 value not a finite number)"
    )


def test_evaluation_pages_become_runs_and_aggregate_evaluations():
    batch = _evaluations((10, "2017-11-01T00:00:00", 0.5), (11, "2019-01-02 03:04:05", 0.75))
    runs, evaluations = runs_and_evaluations(batch)
    assert runs["run_key"].to_pylist() == ["openml:10", "openml:11"]
    assert (
        runs["setup_id"].to_pylist() == [17, 18] and runs["source"].to_pylist() == ["openml"] * 2
    )
    assert runs["created_at"].to_pylist()[1] == datetime(2019, 1, 2, 3, 4, 5)
    assert evaluations["value"].to_pylist() == [0.5, 0.75]
    assert evaluations["fold"].null_count == 2 and evaluations["repeat"].null_count == 2
    runs, evaluations = runs_and_evaluations(batch, since=datetime(2018, 1, 1))
    assert runs["run_key"].to_pylist() == ["openml:11"] and evaluations.num_rows == 1


def test_unmapped_setups_keep_typed_parameters():
    params = [
        {"parameter_name": "C", "value": "0.25", "flow_id": 60, "flow_name": "weka.J48"},
        {"parameter_name": "U", "value": "true", "flow_id": 60, "flow_name": "weka.J48"},
        {"parameter_name": "kernel", "value": '"rbf"', "flow_id": 61, "flow_name": "weka.SMO(1)"},
    ]
    assert typed_parameters(params, 60) == {"C": 0.25, "U": True, "SMO__kernel": "rbf"}


def test_setup_rows_of_an_unmapped_flow():
    xml = (
        f"<oml:setups {NS}><oml:setup><oml:setup_id>100</oml:setup_id>"
        "<oml:flow_id>60</oml:flow_id>"
        "<oml:parameter><oml:id>1</oml:id><oml:flow_id>60</oml:flow_id><oml:flow_name>weka.J48</oml:flow_name>"
        "<oml:full_name>weka.J48(1)_C</oml:full_name><oml:parameter_name>C</oml:parameter_name>"
        "<oml:data_type>option</oml:data_type><oml:default_value>0.25</oml:default_value>"
        "<oml:value>0.9</oml:value></oml:parameter></oml:setup></oml:setups>"
    )
    rows, mapped = setups_rows(parse_page(SPECS["setup"], xml.encode()), {60: "weka.J48"})
    assert mapped == {} and len(rows) == 1
    assert json.loads(rows[0]["config"]) == {"C": 0.9}
    assert json.loads(rows[0]["parameters"]) == [{"name": "C", "value": "0.9"}]
    assert len(rows[0]["config_hash"]) == 32


def test_setup_windows_use_ranges_only_for_dense_ids():
    windows, _ = setup_windows(list(range(100_000, 112_000)))
    assert [(w.high, w.key_filter) for w in windows] == [
        (104_999, "setup"),
        (109_999, "setup"),
        (111_999, "setup"),
    ]
    dense = list(range(1000, 2000))
    windows, start = setup_windows(dense + [5000, 9000])
    assert (
        windows[0].key_filter == "setup"
        and windows[0].high == 1999
        and start[windows[0].key] == (1000, 0)
    )
    assert windows[1].filters == (("setup", "5000,9000"),)
    windows, start = setup_windows(dense, ranges=False)
    assert all(w.key_filter is None for w in windows) and start == {}
    assert sum(len(w.filters[0][1].split(",")) for w in windows) == 1000
    every_other = list(range(0, 2000, 2))  # half the ids of the range: still one range
    assert [(w.key_filter, w.high) for w in setup_windows(every_other)[0]] == [("setup", 1998)]
    sparse = list(range(0, 20_000, 20))  # a twentieth: id lists, every id once
    windows, start = setup_windows(sparse)
    assert (
        start == {}
        and sorted(int(i) for w in windows for i in w.filters[0][1].split(",")) == sparse
    )
    two_blocks = list(range(1000, 1500)) + list(range(9000, 9500))  # a wide gap: two ranges
    windows, start = setup_windows(two_blocks)
    assert [(start[w.key][0], w.high) for w in windows] == [(1000, 1499), (9000, 9499)]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({}, "nothing to sync"),
        ({"tasks": (3,), "max_runs": 0}, "--max-runs"),
        ({"tasks": (3,), "measures": ()}, "--measures"),
        ({"tasks": (3,), "jobs": 0}, "--jobs"),
    ],
)
def test_bad_requests_are_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        SyncRequest(**kwargs)


def test_the_measures_a_store_was_synced_with_come_from_its_window_marks():
    from metabase.sync.plan import measures_in

    marks = {
        "evaluation/list/function/predictive_accuracy/flow/6969/task/3/run/..": (1, 1),
        "evaluation/list/function/area_under_roc_curve/task/3/run/..": (1, 1),
        "setup/list": (0, 0),
    }
    assert measures_in(marks) == {"predictive_accuracy", "area_under_roc_curve"}
