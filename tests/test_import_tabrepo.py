"""TabRepo task metadata importer: tasks, datasets and qualities from the real CSVs."""

from __future__ import annotations

import csv

import pytest

from cli.main import main
from metabase.store import open_reader

pytestmark = pytest.mark.realdata

HISTORY = "tabrepo/_history"


def snapshot(store) -> dict:
    with open_reader(store) as con:
        return {
            t: con.execute(
                f"SELECT count(*), coalesce(sum(hash(x::VARCHAR)), 0) FROM {t} x"
            ).fetchone()
            for t in con.tables()
        }


def rows_of(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run(store, path) -> int:
    return main(["--store", str(store), "import", "tabrepo-metadata", str(path)])


def test_one_csv(openml_data, store_path):
    src = openml_data / HISTORY / "c027dbd43d/data/metadata/task_metadata.csv"
    rows = rows_of(src)
    assert run(store_path, src) == 0
    with open_reader(store_path) as con:
        n_tasks = con.scalar("SELECT count(*) FROM tasks WHERE source='tabrepo'")
        n_datasets = con.scalar("SELECT count(*) FROM datasets WHERE source='tabrepo'")
        yeast = con.execute(
            "SELECT dataset_id, task_type, task_type_id, target, estimation_procedure "
            "FROM tasks WHERE task_id=2073"
        ).fetchone()
        n_inst = con.scalar(
            "SELECT value FROM dataset_qualities "
            "WHERE dataset_id=181 AND quality='NumberOfInstances'"
        )
        qualities = con.scalar("SELECT count(*) FROM dataset_qualities WHERE source='tabrepo'")
    assert n_tasks == len({r["tid"] for r in rows}) == 104
    assert n_datasets == len({r["did"] for r in rows})
    assert yeast == (
        181,
        "Supervised Classification",
        1,
        "class_protein_localization",
        "10-fold Crossvalidation",
    )
    assert n_inst == 1484
    # one value per non-empty CamelCase quality cell of one row per dataset
    per_dataset = {r["did"]: r for r in rows}
    expected = sum(
        1 for r in per_dataset.values() for k, v in r.items() if k[0].isupper() and v != ""
    )
    assert qualities == expected


def test_folder_all_snapshots_idempotent(openml_data, store_path):
    tabrepo = openml_data / "tabrepo"
    files = sorted(tabrepo.rglob("task_metadata*.csv"))
    assert len(files) >= 4
    tids = {r["tid"] for f in files for r in rows_of(f)}
    assert run(store_path, tabrepo) == 0
    first = snapshot(store_path)
    assert run(store_path, tabrepo) == 0
    second = snapshot(store_path)
    for table in ("tasks", "datasets", "dataset_qualities"):
        assert first[table] == second[table]
    assert first["tasks"][0] == len(tids)


def test_newest_snapshot_wins(tmp_path, openml_data, store_path):
    src = openml_data / HISTORY / "c027dbd43d/data/metadata/task_metadata.csv"
    old = tmp_path / "_history" / "x" / "task_metadata.csv"
    new = tmp_path / "current" / "task_metadata.csv"
    old.parent.mkdir(parents=True)
    new.parent.mkdir(parents=True)
    lines = src.read_text().splitlines(keepends=True)
    old.write_text("".join(lines[:3]))
    new.write_text("".join([lines[0], lines[1].replace("class_protein_localization", "renamed")]))
    assert run(store_path, tmp_path) == 0
    with open_reader(store_path) as con:
        assert con.scalar("SELECT target FROM tasks WHERE task_id=2073") == "renamed"
        assert con.scalar("SELECT count(*) FROM tasks") == 2


@pytest.mark.parametrize(
    "content, message",
    [
        ("a,b\n1,2\n", "missing columns"),
        (
            "tid,ttid,did,name,task_type,status,estimation_procedure,evaluation_measures,source_data,target_feature\n"
            "x,1,2,n,Supervised Classification,active,10-fold Crossvalidation,,2,class\n",
            "tid is not an id",
        ),
        (
            "tid,did,name,task_type,estimation_procedure,target_feature,NumberOfInstances\n"
            "1,2,n,Supervised Classification,cv,class,many\n",
            "not a number",
        ),
        (
            "tid,did,name,task_type,estimation_procedure,target_feature\n1,2,n\n",
            "expected 6 values as in the header, found 3",
        ),
    ],
)
def test_bad_input_leaves_store_unchanged(
    tmp_path, openml_data, store_path, capsys, content, message
):
    assert (
        run(store_path, openml_data / HISTORY / "c027dbd43d/data/metadata/task_metadata.csv") == 0
    )
    before = snapshot(store_path)
    bad = tmp_path / "task_metadata.csv"
    bad.write_text(content)
    assert run(store_path, bad) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert snapshot(store_path) == before


def test_folder_without_metadata(tmp_path, store_path, capsys):
    assert run(store_path, tmp_path) == 1
    assert "no task_metadata" in capsys.readouterr().err


def test_a_task_list_csv_imports_with_its_own_provenance(openml_data, store_path):
    """extra/tasks_supplement.csv has OpenML's task-list columns: task 14951 on eeg-eye-state."""
    src = openml_data / "extra" / "tasks_supplement.csv"
    assert main(["--store", str(store_path), "import", "openml-task-list", str(src)]) == 0
    with open_reader(store_path) as con:
        task = con.execute(
            "SELECT dataset_id, target, estimation_procedure, evaluation_measure, source "
            "FROM tasks WHERE task_id = 14951"
        ).fetchone()
        assert task == (
            1471,
            "Class",
            "10-fold Crossvalidation",
            "predictive_accuracy",
            "openml-task-list",
        )
        assert con.scalar("SELECT name FROM datasets WHERE dataset_id = 1471") == "eeg-eye-state"
        assert con.scalar("SELECT count(*) FROM tasks") == len(rows_of(src))
