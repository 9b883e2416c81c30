"""Import everything in openml-data into one fresh store, through the registry, and check the
counts.

The expected numbers are documented facts about the files (openml-data/README.md and issue 2), or
are counted here from the files themselves. Sources not registered yet are skipped with a reason,
so the test tightens itself as importers land. The import runs once per module (LCDB alone is
7.2M rows), then each test checks one source on the finished store, so every importer is also
checked against the others: none may overwrite another source's rows.
"""

from __future__ import annotations

import csv
import importlib
import json
import time
from pathlib import Path

import pytest

from cli.main import main
from metabase.imports import REGISTRY
from metabase.settings import Settings
from metabase.store import open_reader
from metabase.workspace import Workspace

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

# (registry name, path in openml-data). openml-sql goes first: its counts are checked on the
# otherwise empty store. meta-dataset is not an export in openml-data (its round trip has a test).
STEPS = [
    ("openml-sql", "openml-server/data/sql"),
    ("qualities-csv", "qualities/openml_dataset_qualities_2872.csv"),
    ("openml-pimp", "openml-pimp/KDD2018/data/arff/random_forest.arff"),
    ("openml-study-arff", "openml-aslib/openmlmetadata/output"),
    ("tabrepo-metadata", "tabrepo"),
    ("autosklearn", "auto-sklearn/autosklearn/metalearning/files"),
    ("autosklearn", "auto-sklearn/_history/830822b23/autosklearn/metalearning/files"),
    ("lcdb", "lcdb/lcdb"),
]

# openml-data/README.md: the server's seed database
OPENML_SQL_ROWS = {
    "datasets": 131,
    "tasks": 1305,
    "task_inputs": 3917,
    "quality_definitions": 171,
    "estimation_procedures": 35,
    "evaluation_measures": 74,
    "flows": 15,
}
LCDB_ROWS = {
    "predictive_accuracy": 1_953_371,
    "log_loss": 1_953_371,
    "area_under_roc_curve": 1_151_985,
    "f1": 1_151_985,
}


def _unavailable(name: str) -> str | None:
    if name not in REGISTRY:
        return f"importer {name!r} is not registered yet"
    module = REGISTRY[name].partition(":")[0]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"importer {name!r} is registered but {module} does not import yet: {exc}"
    return None


def _table_counts(path: Path) -> dict[str, int]:
    with open_reader(path) as con:
        return {t: con.scalar(f'SELECT count(*) FROM "{t}"') for t in con.tables()}


@pytest.fixture(scope="module")
def full_store(tmp_path_factory, openml_data):
    path = tmp_path_factory.mktemp("import-all") / "store.duckdb"
    workspace = Workspace(Settings.resolve(store=path))
    log = {"path": path, "done": {}, "skipped": {}, "failed": {}, "after": {}, "seconds": {}}
    for name, rel in STEPS:
        reason = _unavailable(name)
        if reason:
            log["skipped"][name] = reason
            continue
        started = time.monotonic()
        try:
            result = workspace.import_(name, openml_data / rel)
        except Exception as exc:  # reported by the test of that source; the others still run
            log["failed"][name] = f"{type(exc).__name__}: {exc}"
            continue
        log["seconds"][rel] = round(time.monotonic() - started, 1)
        log["done"].setdefault(name, []).append(result)
        log["after"].setdefault(name, _table_counts(path))
    print(
        "\nimport-all:",
        json.dumps(
            {"seconds": log["seconds"], "skipped": log["skipped"], "failed": log["failed"]},
            indent=1,
        ),
    )
    return log


def need(log, name: str) -> None:
    if name in log["failed"]:
        pytest.fail(f"import {name} failed: {log['failed'][name]}")
    if name in log["skipped"]:
        pytest.skip(log["skipped"][name])


def query(log, sql: str, params=None):
    with open_reader(log["path"]) as con:
        return con.execute(sql, params).fetchone()


def test_openml_sql_seed_database(full_store):
    need(full_store, "openml-sql")
    first = STEPS[0][0]
    assert first == "openml-sql"
    after = full_store["after"]["openml-sql"]  # the store held nothing else yet
    assert {t: after[t] for t in OPENML_SQL_ROWS} == OPENML_SQL_ROWS
    # and the later imports did not lose any of them
    final = _table_counts(full_store["path"])
    assert all(final[t] >= n for t, n in OPENML_SQL_ROWS.items())
    (n,) = query(
        full_store, "SELECT count(*) FROM quality_definitions WHERE source = 'openml-sql'"
    )
    assert n == OPENML_SQL_ROWS["quality_definitions"]


def test_qualities_csv_datasets(full_store, openml_data):
    need(full_store, "qualities-csv")
    with open(openml_data / STEPS[1][1], newline="") as f:
        rows = list(csv.DictReader(f))
    ids = {int(r["Id"]) for r in rows}
    # 16 rows have no quality value at all: they add a dataset but no quality rows
    with_values = {
        int(r["Id"])
        for r in rows
        if any(v.strip() for k, v in r.items() if k not in ("Id", "Name", "Runs"))
    }
    assert len(ids) == 2872
    with open_reader(full_store["path"]) as con:
        stored = {
            r[0]
            for r in con.execute(
                "SELECT dataset_id FROM datasets WHERE dataset_id IN (SELECT unnest($ids))",
                {"ids": sorted(ids)},
            ).fetchall()
        }
        with_qualities = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT dataset_id FROM dataset_qualities WHERE source = 'qualities-csv'"
            ).fetchall()
        }
    assert stored == ids
    assert with_qualities == with_values


def _arff_rows(path: Path) -> tuple[list[str], list[list]]:
    import arff  # liac-arff: an independent reader, not the importers' own

    with open(path) as f:
        data = arff.load(f)
    return [a[0] for a in data["attributes"]], data["data"]


# The README says "on the 100 OpenML100 tasks" for openml-pimp and "439 tasks with 103 flows" for
# study 1; the files themselves hold runs on 94 tasks (500 each; task_qualities.json has all 100)
# and 438 tasks with 102 flows. The tests count from the files.
def test_openml_pimp_runs(full_store, openml_data):
    need(full_store, "openml-pimp")
    names, rows = _arff_rows(openml_data / STEPS[2][1])
    file_tasks = {int(r[names.index("task_id")]) for r in rows}
    assert len(rows) == 47_000 and len(file_tasks) == 94
    with open(openml_data / "openml-pimp/KDD2018/data/task_qualities.json") as f:
        quality_tasks = {int(t) for t in json.load(f)}
    runs, flows, scored, configs = query(
        full_store,
        "SELECT count(*), count(DISTINCT r.flow_id), count(e.value), count(r.config) "
        "FROM runs r LEFT JOIN evaluations e ON e.run_key = r.run_key "
        "AND e.measure = 'predictive_accuracy' AND e.fold IS NULL WHERE r.source = 'openml-pimp'",
    )
    assert (runs, flows, scored, configs) == (47_000, 1, 47_000, 47_000)
    with open_reader(full_store["path"]) as con:
        tasks = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT task_id FROM runs WHERE source = 'openml-pimp'"
            ).fetchall()
        }
        flow = con.scalar("SELECT any_value(flow_id) FROM runs WHERE source = 'openml-pimp'")
        with_qualities = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT task_id FROM task_qualities WHERE source = 'openml-pimp'"
            ).fetchall()
        }
    assert tasks == file_tasks and flow == 6969
    assert with_qualities == quality_tasks and len(quality_tasks) == 100


def test_study_1_run_evaluations(full_store, openml_data):
    need(full_store, "openml-study-arff")
    names, rows = _arff_rows(
        openml_data / STEPS[3][1] / "study_1_run_evaluations_predictive_accuracy.arff"
    )
    file_tasks = {int(r[names.index("openml_data_id")]) for r in rows}  # holds task ids
    file_flows = {int(r[names.index("algorithm")].split("_", 1)[0]) for r in rows}
    assert (len(rows), len(file_tasks), len(file_flows)) == (44_676, 438, 102)
    runs, flows, tasks, evaluated = query(
        full_store,
        "SELECT count(*), count(DISTINCT flow_id), count(DISTINCT task_id), "
        "count(*) FILTER (WHERE run_key IN (SELECT run_key FROM evaluations)) "
        "FROM runs WHERE run_key LIKE 'openml-study:1:%'",
    )
    assert (runs, flows, tasks) == (44_676, len(file_flows), len(file_tasks))
    assert evaluated == runs
    file_ok = sum(r[names.index("runstatus")] == "ok" for r in rows)
    (ok,) = query(
        full_store,
        "SELECT count(*) FROM runs WHERE run_key LIKE 'openml-study:1:%' AND status = 'ok'",
    )
    assert ok == file_ok < runs  # the status is kept, failed runs included


def test_tabrepo_task_metadata(full_store, openml_data):
    need(full_store, "tabrepo-metadata")
    mapping: dict[int, int] = {}
    for path in sorted((openml_data / "tabrepo").rglob("task_metadata*.csv")):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                mapping[int(row["tid"])] = int(float(row["did"]))
    assert mapping
    with open_reader(full_store["path"]) as con:
        stored = dict(
            con.execute(
                "SELECT task_id, dataset_id FROM tasks WHERE task_id IN (SELECT unnest($ids))",
                {"ids": list(mapping)},
            ).fetchall()
        )
    assert stored == mapping


def _aslib_incumbents(root: Path) -> set[tuple[str, str, str]]:
    keys = set()
    for runs in root.glob("*/algorithm_runs.arff"):
        with open(runs) as f:
            lines = f.read().split("@DATA", 1)[1].splitlines()
        for row in csv.reader(line for line in lines if line.strip() and not line.startswith("%")):
            keys.add((runs.parent.name, row[0], row[2]))  # folder, instance, configuration id
    return keys


def test_autosklearn_incumbents(full_store, openml_data):
    need(full_store, "autosklearn")
    expected = set()
    for name, rel in STEPS:
        if name == "autosklearn":
            expected |= _aslib_incumbents(openml_data / rel)
    (runs,) = query(full_store, "SELECT count(*) FROM runs WHERE source = 'autosklearn'")
    assert runs == len(expected) > 0


def test_lcdb_curves(full_store):
    need(full_store, "lcdb")
    with open_reader(full_store["path"]) as con:
        got = dict(
            con.execute(
                "SELECT measure, count(*) FROM learning_curves WHERE source = 'lcdb' "
                "GROUP BY measure"
            ).fetchall()
        )
    assert got == LCDB_ROWS


def test_info_lists_every_import(full_store, capsys):
    if not full_store["done"]:
        pytest.skip("no importer is registered yet")
    capsys.readouterr()
    assert main(["--store", str(full_store["path"]), "info", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    imported = [i["source"] for i in info["imports"]]
    expected = [r.source for results in full_store["done"].values() for r in results]
    assert sorted(imported) == sorted(expected)
    assert info["tables"] == _table_counts(full_store["path"])


def test_named_queries_on_the_full_store(full_store, capsys):
    need(full_store, "openml-pimp")
    task, best = query(
        full_store,
        "SELECT r.task_id, max(e.value) FROM runs r JOIN evaluations e USING (run_key) "
        "WHERE r.source = 'openml-pimp' AND e.measure = 'predictive_accuracy' "
        "GROUP BY r.task_id ORDER BY r.task_id LIMIT 1",
    )
    capsys.readouterr()
    rc = main(
        [
            "--store",
            str(full_store["path"]),
            "sql",
            "--named",
            "best-configs",
            "--param",
            f"task_id={task}",
            "--param",
            "flow_id=6969",
            "--format",
            "json",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    rows = [r for r in json.loads(out) if r["measure"] == "predictive_accuracy"]
    assert rows and rows[0]["score"] == pytest.approx(best)
    rc = main(
        [
            "--store",
            str(full_store["path"]),
            "sql",
            "--named",
            "run-counts",
            "--param",
            "flow_id=6969",
            "--format",
            "json",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert sum(r["runs"] for r in json.loads(out)) >= 47_000
