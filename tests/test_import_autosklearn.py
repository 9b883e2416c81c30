"""auto-sklearn meta-learning importer: both layouts, loss conversion, name mapping, rollback."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from cli.main import main
from metabase.store import open_reader

pytestmark = pytest.mark.realdata

FILES = "auto-sklearn/autosklearn/metalearning/files"
FILES_2020 = "auto-sklearn/_history/830822b23/autosklearn/metalearning/files"
ACC = "accuracy_binary.classification_dense"


def snapshot(store) -> dict:
    with open_reader(store) as con:
        return {
            t: con.execute(
                f"SELECT count(*), coalesce(sum(hash(x::VARCHAR)), 0) FROM {t} x"
            ).fetchone()
            for t in con.tables()
        }


def run(store, path) -> int:
    return main(["--store", str(store), "import", "autosklearn", str(path)])


def data_rows(arff_path) -> list[list[str]]:
    """The rows after @DATA, split on commas (these files hold no quoted commas)."""
    lines = arff_path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().upper() == "@DATA")
    return [
        line.split(",") for line in lines[start + 1 :] if line.strip() and not line.startswith("%")
    ]


def config_row(folder, config_id: str) -> dict:
    with open(folder / "configurations.csv", newline="") as f:
        return next(r for r in csv.DictReader(f) if r["idx"] == config_id)


def test_current_layout_folder(openml_data, store_path):
    folder = openml_data / FILES / ACC
    rows = data_rows(folder / "algorithm_runs.arff")
    assert run(store_path, folder) == 0
    with open_reader(store_path) as con:
        n_runs = con.scalar("SELECT count(*) FROM runs WHERE source='autosklearn'")
        twonorm = con.execute(
            "SELECT r.config, r.pipeline, r.status, r.task_id, e.value "
            "FROM runs r JOIN evaluations e USING (run_key) "
            f"WHERE run_key='autosklearn:{ACC}:twonorm:1' AND e.measure='predictive_accuracy'"
        ).fetchone()
        raw = con.scalar(
            f"SELECT value FROM evaluations WHERE run_key='autosklearn:{ACC}:twonorm:1' "
            "AND measure='autosklearn_loss_accuracy'"
        )
        eeg = dict(
            con.execute(
                "SELECT quality, value FROM dataset_qualities WHERE dataset_id=1471 "
                "AND source='autosklearn'"
            ).fetchall()
        )
    assert n_runs == len({(r[0], r[2]) for r in rows})
    twonorm_row = next(r for r in rows if r[0] == "twonorm")
    assert twonorm_row[2] == "1"
    assert raw == pytest.approx(float(twonorm_row[3]))
    assert twonorm[4] == pytest.approx(1 - float(twonorm_row[3]))  # ASlib stores 1 - accuracy
    assert twonorm[1:4] == ("autosklearn", "ok", None)
    config = json.loads(twonorm[0])
    expected = {k: v for k, v in config_row(folder, "1").items() if k != "idx" and v != ""}
    assert set(config) == set(expected)
    assert config["classifier:__choice__"] == expected["classifier:__choice__"] == "gaussian_nb"
    for key, text in expected.items():  # typed: numbers are numbers, words stay words
        try:
            assert config[key] == pytest.approx(float(text))
        except ValueError:
            assert config[key] in (text, text == "True", None)
    # eeg-eye-state is OpenML dataset 1471 (openml-data README); 37 meta-features in the ARFF
    header = [
        line.split()[1]
        for line in (folder / "feature_values.arff").read_text().splitlines()
        if line.upper().startswith("@ATTRIBUTE")
    ]
    eeg_row = next(r for r in data_rows(folder / "feature_values.arff") if r[0] == "eeg-eye-state")
    assert len(header) == 39 and len(eeg) == sum(1 for v in eeg_row[2:] if v != "?")
    assert eeg["NumberOfClasses"] == float(eeg_row[header.index("NumberOfClasses")])


def test_2020_layout_keyed_by_task_id(openml_data, store_path):
    folder = openml_data / FILES_2020 / ACC
    rows = data_rows(folder / "algorithm_runs.arff")
    features = data_rows(folder / "feature_values.arff")
    assert run(store_path, folder) == 0
    first = rows[0]  # 75192,1.0,1,0.4893617021276596,ok
    with open_reader(store_path) as con:
        task_id, acc = con.execute(
            "SELECT r.task_id, e.value FROM runs r JOIN evaluations e USING (run_key) "
            f"WHERE run_key='autosklearn:{ACC}:{first[0]}:{first[2]}' "
            "AND measure='predictive_accuracy'"
        ).fetchone()
        tasks = con.scalar(
            "SELECT count(DISTINCT task_id) FROM task_qualities WHERE source='autosklearn'"
        )
        n_dq = con.scalar("SELECT count(*) FROM dataset_qualities")
    assert task_id == int(first[0]) and acc == pytest.approx(1 - float(first[3]))
    assert tasks == len({r[0] for r in features})
    assert n_dq == 0  # task ids are not dataset ids


@pytest.mark.parametrize(
    "folder, metric, measure, convert",
    [
        ("log_loss_binary.classification_dense", "log_loss", "log_loss", lambda loss: loss),
        ("r2_regression_dense", "r2", "r2", lambda loss: 1 - loss),
        (
            "roc_auc_binary.classification_dense",
            "roc_auc",
            "area_under_roc_curve",
            lambda loss: 1 - loss,
        ),
        (
            "root_mean_squared_error_regression_sparse",
            "root_mean_squared_error",
            "root_mean_squared_error",
            lambda loss: loss,
        ),
    ],
)
def test_loss_conversion(openml_data, store_path, folder, metric, measure, convert):
    path = openml_data / FILES / folder
    rows = data_rows(path / "algorithm_runs.arff")
    ok = [r for r in rows if r[4] == "ok" and r[3] != "?"]
    assert run(store_path, path) == 0
    with open_reader(store_path) as con:
        got = dict(
            con.execute(
                "SELECT run_key, value FROM evaluations WHERE measure = ?", [measure]
            ).fetchall()
        )
        raw = con.scalar(
            "SELECT count(*) FROM evaluations WHERE measure = ?", [f"autosklearn_loss_{metric}"]
        )
        na = con.scalar("SELECT count(*) FROM runs WHERE status = 'not_applicable'")
    assert len(got) == len(ok) and raw == len(ok)
    assert na == sum(1 for r in rows if r[4] == "not_applicable")
    for r in ok[:20]:
        assert got[f"autosklearn:{folder}:{r[0]}:{r[2]}"] == pytest.approx(convert(float(r[3])))


def test_idempotent(openml_data, store_path):
    folder = openml_data / FILES / "r2_regression_dense"
    assert run(store_path, folder) == 0
    first = snapshot(store_path)
    assert run(store_path, folder) == 0
    second = snapshot(store_path)
    assert {t: v for t, v in first.items() if t != "imports"} == {
        t: v for t, v in second.items() if t != "imports"
    }


@pytest.mark.parametrize(
    "file, cut, message",
    [
        (
            "algorithm_runs.arff",
            lambda text: text[: text.rindex(",", 0, len(text) - 5)],
            "expected 5 values, found 3",
        ),
        (
            "feature_values.arff",
            lambda text: text[: text.index("@DATA") - 8],
            "unknown attribute type 'N'",
        ),
        (
            "configurations.csv",
            lambda text: text[: len(text) // 2],
            "values as in the header, found",
        ),
    ],
)
def test_truncated_copy_rolls_back(openml_data, tmp_path, store_path, capsys, file, cut, message):
    assert run(store_path, openml_data / FILES / "r2_regression_dense") == 0
    before = snapshot(store_path)
    folder = tmp_path / "files" / ACC
    shutil.copytree(openml_data / FILES / ACC, folder)
    (folder / file).write_text(cut((folder / file).read_text()))
    assert run(store_path, tmp_path / "files") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert snapshot(store_path) == before


def test_bad_input(openml_data, tmp_path, store_path, capsys):
    assert run(store_path, openml_data / FILES / ACC / "algorithm_runs.arff") == 1
    assert "is a file" in capsys.readouterr().err
    (tmp_path / "nothing_here").mkdir()
    assert run(store_path, tmp_path / "nothing_here") == 1
    assert "no auto-sklearn folders" in capsys.readouterr().err
    folder = tmp_path / ACC
    shutil.copytree(openml_data / FILES / ACC, folder)
    (folder / "feature_values.arff").unlink()
    assert run(store_path, folder) == 1
    assert "missing feature_values.arff" in capsys.readouterr().err
    assert not store_path.exists() or snapshot(store_path)["runs"][0] == 0


def test_name_mapping_uses_task_kind_and_classes(openml_data):
    from metabase.imports._dataset_names import build_index

    index = build_index(openml_data)
    # openml_dataset_qualities_2872.csv: abalone is 183 (28 classes), 720 (2) and 1557 (3)
    assert index.resolve("abalone", regression=False, n_classes=23) == 183
    assert index.resolve("abalone", regression=False, n_classes=3) == 1557
    # 2dplanes is 215 (regression) and 727 (binarised)
    assert index.resolve("2dplanes", regression=True) == 215
    assert index.resolve("2dplanes", regression=False, n_classes=2) == 727
    assert index.resolve("eeg-eye-state", regression=False, n_classes=2) == 1471
    assert index.resolve("no-such-dataset", regression=False) is None


@pytest.mark.slow
def test_all_folders_both_layouts(openml_data, store_path):
    expected = {}
    for layout in (FILES, FILES_2020):
        folders = sorted(p for p in (openml_data / layout).iterdir() if p.is_dir())
        assert len(folders) == 92
        expected[layout] = sum(
            len({(r[0], r[2]) for r in data_rows(f / "algorithm_runs.arff")}) for f in folders
        )
        assert run(store_path, openml_data / layout) == 0
    with open_reader(store_path) as con:
        by_layout = dict(
            con.execute(
                "SELECT task_id IS NOT NULL, count(*) FROM runs "
                "WHERE source='autosklearn' GROUP BY 1"
            ).fetchall()
        )
        datasets = con.scalar(
            "SELECT count(DISTINCT dataset_id) FROM dataset_qualities WHERE source='autosklearn'"
        )
    assert by_layout == {False: expected[FILES], True: expected[FILES_2020]}
    assert datasets > 200  # most of the 279 names map to an OpenML id
