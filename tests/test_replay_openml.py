"""Fidelity of the replay server, judged by the real ``openml`` client (0.15.1) pointed at it.

Expected values are read from the source files in the test itself (the openml-pimp ARFF, the
recorded XML), never from the server's code.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request

import pytest

pytestmark = pytest.mark.realdata
logging.getLogger("openml").setLevel(logging.ERROR)


@pytest.fixture(autouse=True)
def _quiet_root_logger():
    """Quiet the warning openml gives on every uncompressed download, in this module only.

    A root level set at import would hide metabase's warnings from every test after collection.
    """
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    yield
    root.setLevel(level)


PIMP = "openml-pimp/KDD2018/data/arff/random_forest.arff"
RECORDED = "openml-python/tests/files/org/openml/test"
MOCK = "openml-python/_history/tests/files/mock_responses"


def pimp_table(openml_data):
    """(parameter names, rows as lists of strings) of the openml-pimp ARFF."""
    lines = (openml_data / PIMP).read_text().splitlines()
    meta = json.loads(lines[0].lstrip("% "))
    attrs = [ln.split()[1] for ln in lines if ln.startswith("@ATTRIBUTE")]
    start = lines.index("@DATA") + 1
    return meta["col_parameters"], attrs, [ln.split(",") for ln in lines[start:] if ln.strip()]


def arff_data_rows(path) -> list[list[str]]:
    rows, in_data = [], False
    for line in path.read_text(errors="replace").splitlines():
        s = line.strip()
        if in_data and s and not s.startswith("%"):
            rows.append(s.split(","))
        elif s.lower().startswith("@data"):
            in_data = True
    return rows


def raw_get(url: str) -> str:
    with urllib.request.urlopen(url) as r:
        return r.read().decode("utf-8")


def local_urls(text: str, root: str) -> str:
    """The recording with its download URLs pointed at ``root`` (the one allowed difference)."""
    return re.sub(
        r"(<oml:(?:url|minio_url|data_splits_url)>)\s*https?://[^/<\s]+",
        lambda m: m.group(1) + root,
        text,
    )


# ---------------------------------------------------------------- entities
def test_get_task_14951_with_generated_splits(openml_client):
    openml, _ = openml_client
    task = openml.tasks.get_task(14951, download_splits=True)
    assert task.dataset_id == 1471 and task.target_name == "Class"
    n_rows = 14980  # eeg-eye-state, per the data README
    tests = [set(task.get_train_test_split_indices(fold=f)[1]) for f in range(10)]
    assert sum(len(t) for t in tests) == n_rows
    assert set().union(*tests) == set(range(n_rows))
    train0, test0 = task.get_train_test_split_indices(fold=0)
    assert not set(train0) & set(test0) and len(train0) + len(test0) == n_rows


def test_get_task_1882_splits_are_the_recorded_ones(openml_client, openml_data):
    openml, _ = openml_client
    task = openml.tasks.get_task(1882, download_splits=True)
    rows = arff_data_rows(openml_data / RECORDED / "tasks/1882/datasplits.arff")
    expected = sorted(int(r[1]) for r in rows if r[0] == "TEST" and r[2] == "0" and r[3] == "0")
    assert sorted(task.get_train_test_split_indices(fold=0, repeat=0)[1]) == expected


def test_get_dataset_and_data_eeg(openml_client):
    openml, _ = openml_client
    ds = openml.datasets.get_dataset(1471, download_data=True)
    X, y, categorical, names = ds.get_data(target="Class")
    assert X.shape == (14980, 14)
    assert sorted(y.value_counts().tolist()) == [6723, 8257]  # the data README's class counts


def test_get_dataset_2_is_the_recorded_anneal(openml_client, openml_data):
    openml, _ = openml_client
    ds = openml.datasets.get_dataset(2, download_data=True)
    X, *_ = ds.get_data()
    assert ds.name == "anneal"
    assert len(X) == len(arff_data_rows(openml_data / RECORDED / "datasets/2/dataset.arff"))


def test_get_flow_6969_has_the_export_parameters(openml_client, openml_data):
    openml, _ = openml_client
    params, _, _ = pimp_table(openml_data)
    flow = openml.flows.get_flow(6969)
    assert set(flow.parameters) == set(params)


def test_get_flow_100_is_the_recording(openml_client, openml_data):
    openml, _ = openml_client
    flow = openml.flows.get_flow(100)
    text = (openml_data / MOCK / "flows/flow_100.xml").read_text()
    assert flow.name == re.search(r"<oml:name>(.*?)</oml:name>", text).group(1)
    assert set(flow.parameters) == set(
        re.findall(r"<oml:parameter><oml:name>(.*?)</oml:name>", text)
    )


def test_get_run_of_a_pimp_row(openml_client, openml_data):
    openml, _ = openml_client
    _, attrs, rows = pimp_table(openml_data)
    i = next(k for k, r in enumerate(rows) if int(float(r[-1])) == 9983)  # eeg-eye-state has data
    run = openml.runs.get_run(
        50_000_001 + i
    )  # the id rule documented in metabase.testing.replay.ids
    assert run.task_id == 9983 and run.flow_id == 6969 and run.setup_id == 50_000_001 + i
    assert run.evaluations["predictive_accuracy"] == pytest.approx(
        float(rows[i][attrs.index("predictive_accuracy")])
    )


def test_get_run_1_is_the_recording(openml_client, openml_data):
    openml, _ = openml_client
    text = (openml_data / RECORDED / "runs/1/description.xml").read_text()
    run = openml.runs.get_run(1)
    assert run.run_id == int(re.search(r"<oml:run_id>(\d+)", text).group(1))
    acc = re.search(r"<oml:name>predictive_accuracy</oml:name>\s*<oml:value>([\d.]+)", text).group(
        1
    )
    assert run.evaluations["predictive_accuracy"] == pytest.approx(float(acc))


def test_get_setup_matches_the_export_row(openml_client, openml_data):
    openml, _ = openml_client
    params, attrs, rows = pimp_table(openml_data)
    setup = openml.setups.get_setup(50_000_001 + 7)
    values = {p.parameter_name: p.value for p in setup.parameters.values()}
    row = dict(zip(attrs, rows[7]))
    assert float(values["randomforestclassifier__max_features"]) == pytest.approx(
        float(row["randomforestclassifier__max_features"])
    )
    assert (
        json.loads(values["randomforestclassifier__criterion"])
        == row["randomforestclassifier__criterion"]
    )
    assert json.loads(values["randomforestclassifier__bootstrap"]) == (
        row["randomforestclassifier__bootstrap"] == "True"
    )


def test_get_setup_1_is_the_recording(openml_client, openml_data):
    openml, _ = openml_client
    text = (openml_data / RECORDED / "api/v1/xml/setup/1/body.xml").read_text()
    setup = openml.setups.get_setup(1)
    assert setup.flow_id == int(re.search(r"<oml:flow_id>(\d+)", text).group(1))
    assert sorted(p.value for p in setup.parameters.values()) == sorted(
        re.findall(r"<oml:value>(.*?)</oml:value>", text)
    )


@pytest.mark.parametrize(
    "call,path",
    [
        ("task/3", RECORDED + "/tasks/3/task.xml"),
        ("task/1882", RECORDED + "/tasks/1882/task.xml"),
        ("data/2", RECORDED + "/datasets/2/description.xml"),
        ("data/features/2", RECORDED + "/datasets/2/features.xml"),
        ("data/qualities/2", RECORDED + "/datasets/2/qualities.xml"),
        ("run/1", RECORDED + "/runs/1/description.xml"),
        ("flow/4024", MOCK + "/flows/flow_4024.xml"),
        ("estimationprocedure/list", MOCK + "/tasks/estimation_procedure_list.xml"),
    ],
)
def test_recorded_responses_are_served_as_recorded(replay_server, openml_data, call, path):
    recorded = (openml_data / path).read_text()
    assert raw_get(f"{replay_server.url}/{call}") == local_urls(recorded, replay_server.root)


# ---------------------------------------------------------------- lists
def test_list_evaluations_of_one_task(openml_client, openml_data):
    openml, _ = openml_client
    _, attrs, rows = pimp_table(openml_data)
    acc = attrs.index("predictive_accuracy")
    expected = sorted(float(r[acc]) for r in rows if int(float(r[-1])) == 9983)
    df = openml.evaluations.list_evaluations(
        "predictive_accuracy", flows=[6969], tasks=[9983], output_format="dataframe"
    )
    assert sorted(df["value"].tolist()) == pytest.approx(expected)
    assert set(df["data_name"]) == {"eeg-eye-state"}


def test_list_setups_and_runs(openml_client, openml_data):
    openml, _ = openml_client
    params, _, rows = pimp_table(openml_data)
    setups = openml.setups.list_setups(flow=6969, size=20, output_format="object")
    assert len(setups) == 20
    assert all(len(s.parameters) == len(params) for s in setups.values())
    runs = openml.runs.list_runs(task=[9983], flow=[6969], output_format="dataframe")
    assert len(runs) == sum(1 for r in rows if int(float(r[-1])) == 9983)


def test_list_tasks_and_datasets(openml_client, openml_data):
    openml, _ = openml_client
    suite = set(
        json.loads((openml_data / "openml-pimp/KDD2018/data/task_qualities.json").read_text())
    )
    tasks = openml.tasks.list_tasks(tag="OpenML100", output_format="dataframe")
    assert set(tasks["tid"].astype(int)) == {int(t) for t in suite}
    ds = openml.datasets.list_datasets(data_id=[1471, 31], output_format="dataframe")
    assert dict(zip(ds["did"].astype(int), ds["name"])) == {1471: "eeg-eye-state", 31: "credit-g"}


def test_list_evaluations_is_capped_like_the_live_server(openml_client):
    """Openml 0.15.1 asks 10,000 rows and takes a shorter page as the end: it sees 1,000."""
    openml, _ = openml_client
    df = openml.evaluations.list_evaluations(
        "predictive_accuracy", flows=[6969], output_format="dataframe"
    )
    assert len(df) == 1000


# ---------------------------------------------------------------- run and publish
def test_run_model_on_task_then_publish(openml_client):
    openml, handle = openml_client
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder
    from sklearn.tree import DecisionTreeClassifier

    task = openml.tasks.get_task(168757, download_splits=True)  # credit-g, 10-fold CV
    _, _, categorical, _ = task.get_dataset().get_data(target=task.target_name)
    cat_idx = [i for i, c in enumerate(categorical) if c]
    model = Pipeline(
        [
            (
                "enc",
                ColumnTransformer(
                    [
                        (
                            "cat",
                            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                            cat_idx,
                        )
                    ],
                    remainder="passthrough",
                ),
            ),
            ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
        ]
    )
    run = openml.runs.run_model_on_task(model, task, avoid_duplicate_runs=False, upload_flow=False)
    local_acc = sum(run.fold_evaluations["predictive_accuracy"][0].values()) / 10
    run.publish()
    assert run.run_id and run.flow_id
    back = openml.runs.get_run(run.run_id)
    assert back.task_id == 168757 and back.flow_id == run.flow_id
    assert back.evaluations["predictive_accuracy"] == pytest.approx(local_acc)
    listed = openml.evaluations.list_evaluations(
        "predictive_accuracy", runs=[run.run_id], output_format="dataframe"
    )
    assert listed["value"].tolist() == pytest.approx([local_acc])
    assert len(openml.runs.list_runs(id=[run.run_id], output_format="dataframe")) == 1
    flow = openml.flows.get_flow(run.flow_id)
    assert flow.name.startswith("sklearn.pipeline.Pipeline(")
    assert openml.flows.flow_exists(flow.name, flow.external_version) == run.flow_id


def test_openml100_tasks_load_even_without_data_files(openml_client, openml_data):
    """Most OpenML100 datasets have no raw file here: get_task still works (stub features)."""
    openml, _ = openml_client
    suite = sorted(
        int(t)
        for t in json.loads(
            (openml_data / "openml-pimp/KDD2018/data/task_qualities.json").read_text()
        )
    )
    for tid in suite[::10]:
        task = openml.tasks.get_task(tid)
        assert task.task_id == tid and task.dataset_id > 0
        assert openml.datasets.get_dataset(task.dataset_id, download_qualities=True).qualities


def test_pmlb_dataset_download(openml_client, openml_data):
    import gzip

    openml, _ = openml_client
    folder = next((openml_data / "pmlb/datasets").glob("1027_*"))
    lines = gzip.open(next(folder.glob("*.tsv.gz")), "rt").read().splitlines()
    ds = openml.datasets.get_dataset(1027, download_data=True)
    X, y, _, names = ds.get_data(target="target")
    assert X.shape == (len(lines) - 1, len(lines[0].split("\t")) - 1)
    assert names == lines[0].split("\t")[:-1]


def test_regression_task_on_pmlb_data_runs_and_publishes(openml_client):
    openml, _ = openml_client
    from sklearn.tree import DecisionTreeRegressor

    task = openml.tasks.get_task(
        359934, download_splits=True
    )  # TabRepo: tecator (d/505), PMLB data
    assert type(task).__name__ == "OpenMLRegressionTask"
    tests = [set(task.get_train_test_split_indices(fold=f)[1]) for f in range(10)]
    n = sum(len(t) for t in tests)
    assert set().union(*tests) == set(range(n))
    run = openml.runs.run_model_on_task(
        DecisionTreeRegressor(max_depth=2, random_state=0),
        task,
        avoid_duplicate_runs=False,
        upload_flow=False,
    )
    run.publish()
    folds = run.fold_evaluations["mean_absolute_error"][0]
    assert openml.runs.get_run(run.run_id).evaluations["mean_absolute_error"] == pytest.approx(
        sum(folds.values()) / len(folds)
    )


def test_recorded_list_answers(openml_client, openml_data):
    openml, _ = openml_client
    setups_xml = (openml_data / MOCK / "setups/setup_list_flow5873.xml").read_text()
    setups = openml.setups.list_setups(flow=5873, output_format="dataframe")
    assert sorted(setups["setup_id"].astype(int)) == sorted(
        int(i) for i in re.findall(r"<oml:setup_id>(\d+)", setups_xml)
    )
    ev_xml = (openml_data / MOCK / "evaluations/evaluation_list_run12.xml").read_text()
    ev = openml.evaluations.list_evaluations(
        "predictive_accuracy", runs=[12], output_format="dataframe"
    )
    assert ev["value"].tolist() == [float(re.search(r"<oml:value>([\d.]+)", ev_xml).group(1))]
    from openml.tasks import TaskType

    clustering_xml = (openml_data / MOCK / "tasks/task_list_clustering.xml").read_text()
    tasks = openml.tasks.list_tasks(task_type=TaskType.CLUSTERING, output_format="dataframe")
    assert sorted(tasks["tid"].astype(int)) == sorted(
        int(i) for i in re.findall(r"<oml:task_id>(\d+)", clustering_xml)
    )


def test_tags_are_stored_and_filter_lists(openml_client):
    openml, _ = openml_client
    run = openml.runs.get_run(50_000_001)
    run.push_tag("replay-test-tag")
    runs = openml.runs.list_runs(tag="replay-test-tag", output_format="dataframe")
    assert runs["run_id"].astype(int).tolist() == [50_000_001]
    run.remove_tag("replay-test-tag")
    assert len(openml.runs.list_runs(tag="replay-test-tag", output_format="dataframe")) == 0


def test_duplicate_runs_are_detected_through_setup_exists(openml_client):
    openml, _ = openml_client
    from openml.exceptions import OpenMLRunsExistError
    from sklearn.tree import DecisionTreeRegressor

    task = openml.tasks.get_task(359934, download_splits=True)
    model = DecisionTreeRegressor(max_depth=1, random_state=0)
    first = openml.runs.run_model_on_task(model, task, avoid_duplicate_runs=True, upload_flow=True)
    first.publish()
    with pytest.raises(OpenMLRunsExistError) as info:
        openml.runs.run_model_on_task(
            DecisionTreeRegressor(max_depth=1, random_state=0), task, avoid_duplicate_runs=True
        )
    assert info.value.run_ids == {first.run_id}


def test_openml_config_is_restored_after_the_fixture(replay_factory, tmp_path, openml_data):
    import openml

    before = (openml.config.server, openml.config.apikey, openml.config._root_cache_directory)
    from metabase.testing.pytest_plugin import openml_client  # driven by hand, as pytest would

    it = openml_client.__wrapped__(replay_factory, tmp_path, openml_data)
    _, handle = next(it)
    assert openml.config.server == handle.url
    with pytest.raises(StopIteration):
        next(it)
    assert (
        openml.config.server,
        openml.config.apikey,
        openml.config._root_cache_directory,
    ) == before
