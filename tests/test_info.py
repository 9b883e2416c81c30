"""``metabase info``: path, schema version, row count per table, imports and when."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from importlib import resources

import pandas as pd
import pytest

from cli.main import main
from metabase.settings import Settings
from metabase.store import open_writer
from metabase.workspace import Workspace

STARTED = datetime(2026, 11, 1, 12, 0, 0)


@pytest.fixture
def store(store_path):
    w = open_writer(store_path)
    w.upsert(
        "datasets", pd.DataFrame({"dataset_id": [1, 2, 3], "name": ["a", "b", "c"], "source": "t"})
    )
    w.upsert("tasks", pd.DataFrame({"task_id": [10, 11], "dataset_id": [1, 2], "source": "t"}))
    w.record_import("qualities-csv", "/data/q.csv", STARTED, {"datasets": 3})
    w.record_import("openml-sql", None, STARTED, {"tasks": 2})
    w.close()
    return store_path


def info(capsys, path, *args):
    capsys.readouterr()
    rc = main(["--store", str(path), "info", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def _migration_count() -> int:
    folder = resources.files("metabase.store") / "migrations"
    return sum(1 for e in folder.iterdir() if e.name.endswith(".sql") and e.name[:3].isdigit())


def test_json_has_counts_imports_version_and_path(capsys, store):
    rc, out, err = info(capsys, store, "--format", "json")
    assert rc == 0, err
    got = json.loads(out)
    assert got["store"] == str(store)
    assert got["schema_version"] == _migration_count()
    assert (
        got["tables"]["datasets"] == 3
        and got["tables"]["tasks"] == 2
        and got["tables"]["runs"] == 0
    )
    assert {
        "datasets",
        "dataset_qualities",
        "tasks",
        "flows",
        "setups",
        "runs",
        "evaluations",
        "learning_curves",
    } <= set(got["tables"])
    assert "run_configs" in got["views"]
    assert [i["source"] for i in got["imports"]] == ["qualities-csv", "openml-sql"]
    first = got["imports"][0]
    assert first["path"] == "/data/q.csv" and first["row_counts"] == {"datasets": 3}
    assert first["started_at"].startswith("2026-11-01T12:00")
    assert datetime.fromisoformat(first["finished_at"]) > STARTED


def test_table_format_names_everything(capsys, store):
    rc, out, _ = info(capsys, store)
    assert rc == 0
    for text in (
        str(store),
        "schema version",
        "datasets",
        "qualities-csv",
        "openml-sql",
        "/data/q.csv",
    ):
        assert text in out


def test_csv_is_the_row_counts(capsys, store):
    rc, out, _ = info(capsys, store, "-f", "csv")
    rows = {r["table"]: int(r["rows"]) for r in csv.DictReader(io.StringIO(out))}
    assert rc == 0 and rows["datasets"] == 3 and rows["tasks"] == 2


def test_library_call_matches_the_store(store):
    details = Workspace(Settings.resolve(store=store)).info()
    assert {t.name: t.rows for t in details.tables}["datasets"] == 3
    assert details.size_bytes == store.stat().st_size


def test_empty_store_says_how_to_import(capsys, store_path):
    open_writer(store_path).close()
    rc, out, _ = info(capsys, store_path)
    assert rc == 0 and "metabase import" in out


def test_missing_store_says_what_to_run(capsys, tmp_path):
    rc, out, err = info(capsys, tmp_path / "nothing.duckdb")
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and "metabase import" in err
    assert not (tmp_path / "nothing.duckdb").exists()
