"""Coverage on real OpenML data: openml-pimp's 47,000 runs of flow 6969, and the recorded REST
responses of openml-python (run 100, setup 100, flow XMLs, setup_list_flow5873, flow names).

Expected values are read from the files here, independently of the code under test.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import pytest

import pipelines
from pipelines import parse_value

pytestmark = pytest.mark.realdata

OML = {"oml": "http://openml.org/openml"}
PIMP_RUNS = 47_000  # documented in openml-data/README.md


def _read_pimp(path):
    """(header JSON, attribute names, attribute type texts, data rows) of the pimp ARFF."""
    header, names, types, rows = None, [], [], []
    with open(path, newline="") as handle:
        in_data = False
        for line in handle:
            line = line.rstrip("\n")
            if not in_data:
                if line.startswith("%") and header is None:
                    header = json.loads(line[1:].strip())
                elif line.upper().startswith("@ATTRIBUTE"):
                    _, name, kind = line.split(None, 2)
                    names.append(name)
                    types.append(kind.strip())
                elif line.upper().startswith("@DATA"):
                    in_data = True
            elif line.strip():
                rows.append(next(csv.reader([line])))
    return header, names, types, rows


def _expected(token: str, kind: str):
    """The typed value an ARFF cell denotes: NUMERIC -> float; nominal tokens by their spelling."""
    if kind.upper() == "NUMERIC":
        return float(token)
    if token in ("True", "False"):
        return token == "True"
    if token == "None":
        return None
    try:
        return int(token)
    except ValueError:
        return token


@pytest.fixture(scope="module")
def pimp(openml_data):
    return _read_pimp(
        openml_data / "openml-pimp" / "KDD2018" / "data" / "arff" / "random_forest.arff"
    )


def test_every_pimp_run_maps_to_a_valid_random_forest_config_with_the_arff_values(pimp):
    header, names, types, rows = pimp
    assert header["flow_id"] == 6969
    assert len(rows) == PIMP_RUNS
    params = [i for i, n in enumerate(names) if n in header["col_parameters"]]
    assert len(params) == 10
    rf = pipelines.get("sklearn.random_forest")
    hashes, settings = set(), set()
    for row in rows:
        given = {names[i]: row[i] for i in params}
        mapped = pipelines.map_openml(None, given, flow_id=header["flow_id"])
        assert mapped is not None, given
        name, config = mapped
        assert name == "sklearn.random_forest"
        for i in params:
            ours = (
                "imputation_strategy"
                if names[i].endswith("imputer__strategy")
                else names[i].split("__")[-1]
            )
            want = _expected(row[i], types[i])
            assert config[ours] == want and type(config[ours]) is type(want), (
                names[i],
                row[i],
                config,
            )
        assert rf.canonicalize(config) == config  # valid in the space, already canonical
        hashes.add(pipelines.config_hash(name, config))
        settings.add(tuple(row[i] for i in params))
    # Equal settings hash equal, different ones differently.
    assert len(hashes) == len(settings)


def test_pimp_runs_as_openml_serves_them_json_encoded_hash_the_same(pimp):
    header, names, types, rows = pimp
    params = [i for i, n in enumerate(names) if n in header["col_parameters"]]
    flow_name = (
        "sklearn.pipeline.Pipeline(columntransformer=sklearn.compose._column_transformer."
        "ColumnTransformer(numeric=sklearn.pipeline.Pipeline(imputer=sklearn.impute._base."
        "SimpleImputer)),randomforestclassifier=sklearn.ensemble._forest.RandomForestClassifier)(1)"
    )
    for row in rows[::470]:
        repr_form = {names[i]: row[i] for i in params}
        json_form = {names[i]: json.dumps(_expected(row[i], types[i])) for i in params}
        a = pipelines.map_openml(None, repr_form, flow_id=6969)
        b = pipelines.map_openml(flow_name, json_form)
        assert a == b
        assert pipelines.config_hash(*a) == pipelines.config_hash(*b)


def _openml_python(openml_data):
    return openml_data / "openml-python"


def test_setup_100_parameter_strings_parse(openml_data):
    for path in (
        _openml_python(openml_data) / "tests/files/org/openml/test/api/v1/xml/setup/1/body.xml",
        _openml_python(openml_data) / "_history/tests/files/setups/1/description.xml",
    ):
        root = ET.parse(path).getroot()
        assert root.find("oml:setup_id", OML).text == "100"
        values = {
            p.find("oml:parameter_name", OML).text: p.find("oml:value", OML).text
            for p in root.findall("oml:parameter", OML)
        }
        assert values == {"C": "0.9", "M": "2"}  # as recorded
        typed = {k: parse_value(v) for k, v in values.items()}
        assert typed == {"C": 0.9, "M": 2} and type(typed["M"]) is int
        flow_id = int(root.find("oml:flow_id", OML).text)
        # weka.J48 (flow 60) has no catalogue counterpart: C4.5's pruning confidence is not CART's.
        assert pipelines.map_openml("weka.J48", values, flow_id=flow_id) is None


def test_run_100_parameter_settings_parse(openml_data):
    root = ET.parse(
        _openml_python(openml_data) / "tests/files/org/openml/test/runs/1/description.xml"
    ).getroot()
    assert root.find("oml:run_id", OML).text == "100"
    settings = {
        s.find("oml:name", OML).text: s.find("oml:value", OML).text
        for s in root.findall("oml:parameter_setting", OML)
    }
    typed = {k: parse_value(v) for k, v in settings.items()}
    assert typed["D"] is True and typed["P"] == 1
    assert typed["Q"] == "weka.classifiers.bayes.net.search.local.K2" and typed["S"] == "BAYES"
    flow = root.find("oml:flow_name", OML).text
    assert (
        pipelines.map_openml(flow, settings, flow_id=int(root.find("oml:flow_id", OML).text))
        is None
    )


def test_recorded_flow_xmls_parse_and_are_not_catalogue_pipelines(openml_data):
    folder = _openml_python(openml_data) / "_history/tests/files/mock_responses/flows"
    for flow_file in ("flow_3.xml", "flow_100.xml", "flow_4024.xml", "flow_6742.xml"):
        root = ET.parse(folder / flow_file).getroot()
        for flow in root.iter("{http://openml.org/openml}flow"):
            defaults = {
                p.find("oml:name", OML).text: p.findtext("oml:default_value", "", OML)
                for p in flow.findall("oml:parameter", OML)
            }
            for value in defaults.values():
                parse_value(value)  # never raises
            name, flow_id = flow.find("oml:name", OML).text, int(flow.find("oml:id", OML).text)
            assert pipelines.map_openml(name, defaults, flow_id=flow_id) is None, name
    j48 = ET.parse(folder / "flow_100.xml").getroot()
    defaults = {
        p.find("oml:name", OML).text: parse_value(p.find("oml:default_value", OML).text)
        for p in j48.findall("oml:parameter", OML)
    }
    assert defaults == {"C": 0.25, "M": 2}


def test_setup_list_flow5873_has_no_parameters_and_no_pipeline(openml_data):
    path = (
        _openml_python(openml_data)
        / "_history/tests/files/mock_responses/setups/setup_list_flow5873.xml"
    )
    setups = ET.parse(path).getroot().findall("oml:setup", OML)
    assert [s.find("oml:setup_id", OML).text for s in setups] == ["1001", "1002"]
    for setup in setups:
        params = {
            p.find("oml:parameter_name", OML).text: p.find("oml:value", OML).text
            for p in setup.findall("oml:parameter", OML)
        }
        assert params == {}
        assert (
            pipelines.map_openml(None, params, flow_id=int(setup.find("oml:flow_id", OML).text))
            is None
        )


def test_recorded_sklearn_flow_names_map_by_their_model(openml_data):
    folder = _openml_python(openml_data) / "_history/tests/files/mock_responses"
    names = set()
    for path in (
        folder / "evaluations/evaluation_list_run12.xml",
        folder
        / (
            "studies/publish_study/"
            "get_evaluation_list_function_predictive_accuracy_limit_10000_offset_0_study_157.xml"
        ),
        folder / "flows/flow_list.xml",
    ):
        root = ET.parse(path).getroot()
        names |= {
            e.text
            for e in root.iter()
            if e.tag.endswith(("flow_name", "}name"))
            and e.text
            and e.text.lstrip("TEST0123456789abcdef").startswith("sklearn.")
        }
    by_name = {
        n: (pipelines.match_flow(n).name if pipelines.match_flow(n) else None) for n in names
    }
    # What each recorded name says its model is (read off the names by hand).
    assert by_name["sklearn.ensemble.RandomForestClassifier"] == "sklearn.random_forest"
    assert by_name["sklearn.neighbors._classification.KNeighborsClassifier(1)"] == "sklearn.knn"
    assert (
        by_name[
            "sklearn.pipeline.Pipeline(imputer=sklearn.impute._base.SimpleImputer,"
            "classifier=sklearn.tree._classes.DecisionTreeClassifier)(1)"
        ]
        == "sklearn.decision_tree"
    )
    for name, mapped in by_name.items():
        if (
            "GridSearchCV" in name
            or "RandomizedSearchCV" in name
            or "GaussianNB" in name
            or "Dummy" in name
        ):
            assert mapped is None, name  # searches and models outside the catalogue


def test_study_export_flow_coverage_counts_only_plain_weka_random_forests(openml_data):
    path = (
        openml_data
        / "openml-aslib/openmlmetadata/output/study_1_run_evaluations_predictive_accuracy.arff"
    )
    runs, in_data = [], False
    for line in path.read_text().splitlines():
        if line.upper().startswith("@DATA"):
            in_data = True
        elif in_data and line.strip() and not line.startswith("%"):
            algorithm = next(csv.reader([line]))[2]
            flow_id, _, name = algorithm.partition("_")
            runs.append({"flow_id": int(flow_id), "flow_name": name})
    assert len(runs) == 44_676  # documented in openml-data/README.md
    coverage = pipelines.flow_coverage(runs)
    assert sum(r["runs"] for r in coverage) == len(runs)
    mapped = {r["flow_name"]: r for r in coverage if r["pipeline"]}
    # Of Weka's flows only the plain RandomForest is a catalogue pipeline (FilteredClassifier and
    # MultiSearch wrap searches and filters around theirs); exports carry no parameters.
    assert set(mapped) == {"weka.RandomForest"}
    plain_rf = sum(1 for r in runs if r["flow_name"] == "weka.RandomForest")
    assert mapped["weka.RandomForest"]["mapped_runs"] == plain_rf > 0
    assert mapped["weka.RandomForest"]["config_known"] is False


def test_pimp_flow_coverage_is_complete(pimp):
    header, names, types, rows = pimp
    params = [i for i, n in enumerate(names) if n in header["col_parameters"]]
    runs = [
        {"flow_id": 6969, "parameters": {names[i]: row[i] for i in params}} for row in rows[::10]
    ]
    (row,) = pipelines.flow_coverage(runs)
    assert (
        row["pipeline"] == "sklearn.random_forest"
        and row["fraction"] == 1.0
        and row["config_known"]
    )
