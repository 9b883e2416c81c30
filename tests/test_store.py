"""The store: migrations, the contract tables, loads, transactions and the reader/writer split."""

from __future__ import annotations

import pandas as pd
import pytest

from metabase.errors import ReadOnlyError, StoreNotFoundError
from metabase.store import CONTRACT_TABLES, open_reader, open_writer


def test_contract_tables_and_view_exist(writer):
    tables = set(writer.tables())
    assert set(CONTRACT_TABLES) <= tables
    assert (
        writer.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name='run_configs'"
        )
        == 1
    )


def test_migrations_are_recorded_once(store_path):
    first = open_writer(store_path)
    version = first.schema_version()
    first.close()
    again = open_writer(store_path)
    assert again.schema_version() == version >= 1
    assert again.scalar("SELECT count(*) FROM schema_migrations") == version
    again.close()


def test_upsert_merges_and_is_idempotent(writer):
    rows = pd.DataFrame({"dataset_id": [1, 2], "name": ["a", "b"], "source": ["x", "x"]})
    writer.upsert("datasets", rows)
    writer.upsert("datasets", rows)
    assert writer.scalar("SELECT count(*) FROM datasets") == 2
    writer.upsert(
        "datasets",
        pd.DataFrame({"dataset_id": [1], "name": [None], "version": [3], "source": ["y"]}),
    )
    assert writer.execute("SELECT name, version FROM datasets WHERE dataset_id=1").fetchone() == (
        "a",
        3,
    )


def test_upsert_new_gives_upserts_rows(writer):
    """New keys, stored keys (NULL keeps the stored value) and a key twice in one load: the same
    rows as ``upsert``, whichever path ``upsert_new`` takes.
    """
    from metabase.store import open_writer as _open

    loads = [
        pd.DataFrame({"dataset_id": [1, 2], "name": ["a", "b"], "source": ["x", "x"]}),
        pd.DataFrame({"dataset_id": [3, 4], "name": ["c", "d"], "source": ["x", "x"]}),  # all new
        pd.DataFrame(
            {"dataset_id": [2, 5], "name": [None, "e"], "version": [7, 1], "source": ["y", "y"]}
        ),
        pd.DataFrame(
            {"dataset_id": [6, 6], "name": ["f", "g"], "source": ["z", "z"]}
        ),  # last one wins
    ]
    other = _open(writer.path.with_name("other.duckdb"))
    try:
        for rows in loads:
            assert writer.upsert_new("datasets", rows) == len(rows)
            other.upsert("datasets", rows)
        sql = "SELECT dataset_id, name, version, source FROM datasets ORDER BY 1"
        got = writer.execute(sql).fetchall()
        assert got == other.execute(sql).fetchall()
        assert got[1] == (2, "b", 7, "y") and got[-1] == (6, "g", None, "z")
    finally:
        other.close()


def test_replace_owns_rows_by_key(writer):
    evals = pd.DataFrame(
        {
            "run_key": ["r1", "r1"],
            "measure": ["m", "m"],
            "value": [0.5, 0.6],
            "fold": [None, 0],
            "source": ["t", "t"],
        }
    )
    writer.replace("evaluations", evals, by=["run_key"])
    writer.replace("evaluations", evals, by=["run_key"])
    assert writer.scalar("SELECT count(*) FROM evaluations") == 2


def test_failed_transaction_leaves_store_unchanged(writer):
    writer.upsert("datasets", pd.DataFrame({"dataset_id": [1], "name": ["a"], "source": ["x"]}))
    with pytest.raises(RuntimeError):
        with writer.transaction():
            writer.upsert(
                "datasets", pd.DataFrame({"dataset_id": [2], "name": ["b"], "source": ["x"]})
            )
            raise RuntimeError("boom")
    assert writer.scalar("SELECT count(*) FROM datasets") == 1


def test_reader_refuses_writes(store_path):
    open_writer(store_path).close()
    reader = open_reader(store_path)
    with pytest.raises(ReadOnlyError):
        reader.execute("DELETE FROM datasets")
    reader.close()


def test_reader_on_missing_store_says_what_to_run(tmp_path):
    with pytest.raises(StoreNotFoundError, match="metabase import"):
        open_reader(tmp_path / "nope.duckdb")


def test_wide_view_has_a_column_per_quality_preferring_openml(writer):
    writer.upsert(
        "dataset_qualities",
        pd.DataFrame(
            {
                "dataset_id": [1, 1, 1],
                "quality": ["NumberOfInstances", "NumberOfInstances", "NumberOfClasses"],
                "value": [100.0, 99.0, 2.0],
                "source": ["openml", "computed", "computed"],
            }
        ),
    )
    writer.refresh_views()
    row = writer.df("SELECT * FROM dataset_qualities_wide").iloc[0]
    assert row["NumberOfInstances"] == 100.0 and row["NumberOfClasses"] == 2.0


def test_task_wide_view_combines_dataset_and_task_keyed_qualities(writer):
    writer.upsert("tasks", pd.DataFrame({"task_id": [7], "dataset_id": [1], "source": ["x"]}))
    writer.upsert(
        "dataset_qualities",
        pd.DataFrame(
            {
                "dataset_id": [1],
                "quality": ["NumberOfClasses"],
                "value": [2.0],
                "source": ["openml"],
            }
        ),
    )
    writer.upsert(
        "task_qualities",
        pd.DataFrame(
            {
                "task_id": [7, 7, 8],
                "quality": ["NumberOfClasses", "ClassEntropy", "ClassEntropy"],
                "value": [3.0, 0.9, 0.5],
                "source": ["pimp", "pimp", "pimp"],
            }
        ),
    )
    writer.refresh_views()
    wide = writer.df("SELECT * FROM task_qualities_wide ORDER BY task_id")
    assert list(wide["task_id"]) == [7, 8]
    assert wide.loc[0, "NumberOfClasses"] == 2.0  # the dataset's OpenML value wins
    assert wide.loc[0, "ClassEntropy"] == 0.9 and wide.loc[1, "ClassEntropy"] == 0.5


def test_a_new_store_has_the_wide_views_before_any_import(writer):
    views = {
        r[0]
        for r in writer.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'"
        ).fetchall()
    }
    assert {
        "run_configs",
        "dataset_qualities_wide",
        "task_qualities_wide",
        "task_qualities_long",
    } <= views


def test_views_prefer_openml_then_exports_then_computed_then_autosklearn(writer):
    rows = pd.DataFrame(
        {
            "dataset_id": [1, 1, 1, 2, 2],
            "quality": ["NumberOfInstances"] * 5,
            "value": [13400.0, 20000.0, 19999.0, 13400.0, 19999.0],
            "source": ["autosklearn", "qualities-csv", "computed", "autosklearn", "computed"],
        }
    )
    writer.upsert("dataset_qualities", rows)
    writer.upsert(
        "tasks", pd.DataFrame({"task_id": [5, 6], "dataset_id": [1, 2], "source": ["x", "x"]})
    )
    writer.refresh_views()
    wide = writer.df("SELECT * FROM dataset_qualities_wide ORDER BY dataset_id")
    assert wide["NumberOfInstances"].tolist() == [20000.0, 19999.0]
    long = writer.df("SELECT task_id, value, source FROM task_qualities_long ORDER BY task_id")
    assert long["source"].tolist() == ["qualities-csv", "computed"]


def test_queries_come_back_as_arrow(writer):
    writer.upsert(
        "datasets", pd.DataFrame({"dataset_id": [3, 1], "name": ["c", "a"], "source": ["x", "x"]})
    )
    table = writer.arrow("SELECT dataset_id, name FROM datasets ORDER BY dataset_id")
    assert table.column("name").to_pylist() == ["a", "c"]


def test_an_openml_exports_task_qualities_hold_for_other_tasks_on_its_dataset(writer):
    """OpenML computes qualities per dataset: openml-pimp's values for one task on a dataset are
    that dataset's, so another task on it gets them (after its own and its dataset's values);
    auto-sklearn's, computed on one task's training split, stay with that task.
    """
    writer.upsert(
        "tasks",
        pd.DataFrame({"task_id": [7, 8, 9, 10], "dataset_id": [1, 1, 1, 2], "source": "x"}),
    )
    writer.upsert(
        "dataset_qualities",
        pd.DataFrame(
            {
                "dataset_id": [1],
                "quality": ["NumberOfClasses"],
                "value": [2.0],
                "source": ["tabrepo"],
            }
        ),
    )
    writer.upsert(
        "task_qualities",
        pd.DataFrame(
            {
                "task_id": [7, 7, 9, 9, 8, 8],
                "quality": [
                    "NumberOfClasses",
                    "ClassEntropy",
                    "ClassEntropy",
                    "Kurtosis",
                    "Own",
                    "Skew",
                ],
                "value": [3.0, 0.9, 0.7, 5.0, 1.0, 4.0],
                "source": [
                    "openml-pimp",
                    "openml-pimp",
                    "openml-pimp",
                    "openml-pimp",
                    "openml-pimp",
                    "autosklearn",
                ],
            }
        ),
    )
    writer.refresh_views()
    wide = writer.df("SELECT * FROM task_qualities_wide ORDER BY task_id").set_index("task_id")
    assert wide.loc[8, "NumberOfClasses"] == 2.0  # the dataset's own value first
    assert (
        wide.loc[8, "ClassEntropy"] == 0.9
    )  # a sibling's: the lowest task id of those that have it
    assert wide.loc[8, "Kurtosis"] == 5.0 and wide.loc[8, "Own"] == 1.0
    assert wide.loc[9, "ClassEntropy"] == 0.7  # a task's own value over its sibling's
    assert pd.isna(wide.loc[7, "Skew"]) and wide.loc[8, "Skew"] == 4.0  # auto-sklearn's stay put
    assert 10 not in wide.index  # another dataset shares nothing
