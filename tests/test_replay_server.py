"""The replay server's lists and entities, checked against counts taken from the source files."""

from __future__ import annotations

import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.realdata
OML = "{http://openml.org/openml}"


def get(url: str) -> tuple[int, ET.Element]:
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, ET.fromstring(r.read())
    except urllib.error.HTTPError as err:
        return err.code, ET.fromstring(err.read())


def pimp_rows(openml_data):
    """(task id, accuracy) of every data row of the openml-pimp ARFF, read independently."""
    rows = []
    in_data = False
    for line in (
        (openml_data / "openml-pimp/KDD2018/data/arff/random_forest.arff").read_text().splitlines()
    ):
        if in_data and line.strip():
            parts = line.split(",")
            rows.append((int(float(parts[-1])), float(parts[-2])))
        elif line.strip().upper() == "@DATA":
            in_data = True
    return rows


def test_start_stop_and_context_manager(openml_data):
    from metabase.testing.replay import start_server

    with start_server(openml_data) as h:
        assert h.url.startswith("http://127.0.0.1:") and h.url.endswith("/api/v1/xml")
        status, root = get(h.url + "/task/14951")
        assert status == 200
    with pytest.raises(OSError):
        urllib.request.urlopen(h.url + "/task/14951", timeout=2)


def test_evaluation_list_pages_all_pimp_runs(replay_server, openml_data):
    rows = pimp_rows(openml_data)
    assert len(rows) == 47000
    task = rows[0][0]
    expected = sorted(v for t, v in rows if t == task)
    got, offset = [], 0
    while True:
        status, root = get(
            f"{replay_server.url}/evaluation/list/function/predictive_accuracy/flow/6969/"
            f"task/{task}/limit/1000/offset/{offset}"
        )
        if status == 412:
            assert root.find(f"{OML}code").text == "542"
            break
        evs = root.findall(f"{OML}evaluation")
        got += [float(ev.find(f"{OML}value").text) for ev in evs]
        offset += len(evs)
    assert sorted(got) == expected


def test_limit_is_capped_at_1000(replay_server):
    status, root = get(f"{replay_server.url}/run/list/flow/6969/limit/10000/offset/0")
    assert status == 200
    assert len(root.findall(f"{OML}run")) == 1000


def test_id_range_paging_covers_every_pimp_run_once(replay_server):
    seen, low = [], 0
    while True:
        status, root = get(
            f"{replay_server.url}/run/list/flow/6969/run/{low}../limit/1000/offset/0"
        )
        if status == 412:
            break
        ids = [int(r.find(f"{OML}run_id").text) for r in root.findall(f"{OML}run")]
        seen += ids
        low = ids[-1] + 1
    assert len(seen) == len(set(seen)) == 47000


@pytest.mark.parametrize(
    "call,code",
    [
        ("data/list/data_name/no-such-dataset", "372"),
        ("task/list/data_name/no-such-dataset", "482"),
        ("flow/list/tag/no-such-tag", "500"),
        ("run/list/task/999999999", "512"),
        ("evaluation/list/function/predictive_accuracy/task/999999999", "542"),
        ("setup/list/flow/999999999", "674"),
    ],
)
def test_empty_lists_are_412_with_entity_codes(replay_server, call, code):
    status, root = get(f"{replay_server.url}/{call}")
    assert status == 412
    assert root.tag == f"{OML}error" and root.find(f"{OML}code").text == code


def test_study_aliases(replay_server, openml_data):
    s14 = get(f"{replay_server.url}/study/14")[1]
    alias = get(f"{replay_server.url}/study/OpenML100")[1]
    tasks = {int(t.text) for t in s14.find(f"{OML}tasks")}
    assert tasks == {int(t.text) for t in alias.find(f"{OML}tasks")}
    # every task of the pimp runs is an OpenML100 task
    assert {t for t, _ in pimp_rows(openml_data)} <= tasks
    cc18 = get(f"{replay_server.url}/study/OpenML-CC18")[1]
    assert cc18.find(f"{OML}id").text == "99"
    assert 14951 in {int(t.text) for t in cc18.find(f"{OML}tasks")}


def test_setup_parameters_match_the_export(replay_server, openml_data):
    text = (
        (openml_data / "openml-pimp/KDD2018/data/arff/random_forest.arff").read_text().splitlines()
    )
    first = text[text.index("@DATA") + 1].split(",")
    status, root = get(f"{replay_server.url}/setup/list/flow/6969/limit/1/offset/0")
    params = {
        p.find(f"{OML}parameter_name").text: p.find(f"{OML}value").text
        for p in root.find(f"{OML}setup").findall(f"{OML}parameter")
    }
    assert params["randomforestclassifier__criterion"] == f'"{first[1]}"'
    assert float(params["randomforestclassifier__max_features"]) == float(first[3])


def test_task_14951_is_on_dataset_1471(replay_server):
    status, root = get(f"{replay_server.url}/task/14951")
    assert status == 200
    assert root.find(f".//{OML}data_set_id").text == "1471"
    assert root.find(f".//{OML}target_feature").text == "Class"


def test_sort_order_sorts_by_value(replay_server, openml_data):
    expected = sorted((v for t, v in pimp_rows(openml_data) if t == 9983), reverse=True)[:5]
    status, root = get(
        f"{replay_server.url}/evaluation/list/function/predictive_accuracy/task/9983/flow/6969"
        "/sort_order/desc/limit/5/offset/0"
    )
    assert [
        float(e.find(f"{OML}value").text) for e in root.findall(f"{OML}evaluation")
    ] == expected


def test_json_mirrors_xml(replay_server):
    import json

    with urllib.request.urlopen(replay_server.root + "/api/v1/json/task/14951") as r:
        doc = json.loads(r.read())
    assert doc["task"]["task_id"] == "14951"


def test_study_export_runs_are_served(replay_server, openml_data):
    """Study 34's accuracy and AUC exports describe the same runs: one run, two evaluations."""
    lines = (
        (
            openml_data / "openml-aslib/openmlmetadata/output/"
            "study_34_run_evaluations_area_under_roc_curve.arff"
        )
        .read_text()
        .splitlines()
    )
    first = lines[lines.index("@DATA") + 1].split(",")
    task, flow = first[0], first[2].split("_", 1)[0]
    status, root = get(
        f"{replay_server.url}/evaluation/list/task/{task}/flow/{flow}/limit/1000/offset/0"
    )
    functions = {e.find(f"{OML}function").text for e in root.findall(f"{OML}evaluation")}
    assert {"predictive_accuracy", "area_under_roc_curve"} <= functions
    aucs = [
        float(e.find(f"{OML}value").text)
        for e in root.findall(f"{OML}evaluation")
        if e.find(f"{OML}function").text == "area_under_roc_curve"
    ]
    assert float(first[3]) in aucs


@pytest.mark.parametrize(
    "call,code",
    [
        (
            "evaluation/list/function/predictive_accuracy/offset/10",
            "545",
        ),  # codes from the swagger spec
        ("run/list/task/3/offset/10", "515"),
        ("setup/list/flow/6969/offset/10", "675"),
        ("flow/list/offset/10", "503"),
        ("task/list/offset/10", "483"),
        ("data/list/offset/10", "373"),
        ("run/list/colour/blue", "514"),
        ("evaluation/list/function/predictive_accuracy", "540"),
        ("run/list", "510"),
        ("setup/list", "670"),
    ],
)
def test_bad_list_filters_answer_the_swagger_codes(replay_server, call, code):
    status, root = get(f"{replay_server.url}/{call}")
    assert status == 412 and root.find(f"{OML}code").text == code
