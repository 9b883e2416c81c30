"""``metabase sql``: read-only SQL, bound parameters, the named queries and what it refuses.

The store is built here with known values; every expected result is computed from those values
with pandas/numpy, independently of the SQL under test.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from cli.main import main
from metabase.store import named_queries as nq
from metabase.store import open_writer

RNG = np.random.default_rng(7)
DATASETS = list(range(1, 8))
TASKS = {d: 100 + d for d in DATASETS}  # task 107 is a regression task (lower MAE is better)
FLOWS = {5: "rf", 6: "svm"}


def _qualities() -> pd.DataFrame:
    rows = []
    for d in DATASETS:
        rows += [
            (d, "NumberOfInstances", float(RNG.integers(100, 100_000)), "openml"),
            (d, "NumberOfFeatures", float(RNG.integers(2, 500)), "openml"),
            (d, "ClassEntropy", float(RNG.random()), "openml"),
            (d, "ClassEntropy", float(RNG.random()), "computed"),
        ]
    rows.append((1, "Rare", 3.0, "computed"))  # 1 of 7 datasets: too little coverage to compare on
    return pd.DataFrame(rows, columns=["dataset_id", "quality", "value", "source"])


def _runs() -> tuple[pd.DataFrame, pd.DataFrame]:
    runs, evals = [], []
    for d, task in TASKS.items():
        measure = "mean_absolute_error" if task == 107 else "predictive_accuracy"
        for flow in FLOWS:
            for i in range(int(RNG.integers(1, 5))):
                key = f"test:{task}:{flow}:{i}"
                runs.append(
                    {
                        "run_key": key,
                        "task_id": task,
                        "flow_id": flow,
                        "source": f"src{flow}",
                        "config": json.dumps({"i": i, "flow": flow}),
                    }
                )
                value = float(RNG.random())
                evals.append(
                    {
                        "run_key": key,
                        "measure": measure,
                        "value": value,
                        "fold": None,
                        "source": "t",
                    }
                )
                # fold-level rows must not count as the run's score
                evals.append(
                    {"run_key": key, "measure": measure, "value": 2.0, "fold": 0, "source": "t"}
                )
    runs.append(
        {
            "run_key": "test:failed",
            "task_id": 101,
            "flow_id": 5,
            "source": "src5",
            "status": "error",
            "config": "{}",
        }
    )  # no evaluation
    return pd.DataFrame(runs), pd.DataFrame(evals).astype({"fold": "Int64"})


def _curves() -> pd.DataFrame:
    rows = []
    for learner in ("SVC_linear", "sklearn.tree.DecisionTreeClassifier"):
        for size in (16, 32, 64):
            for seed in range(3):
                for measure in ("predictive_accuracy", "log_loss"):
                    rows.append(
                        {
                            "dataset_id": 3,
                            "learner": learner,
                            "size_train": size,
                            "outer_seed": seed,
                            "measure": measure,
                            "score_valid": size / 100 + seed / 10,
                            "score_test": size / 200 + seed / 20,
                            "traintime": 0.1 * seed,
                            "source": "lcdb",
                        }
                    )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("sql") / "store.duckdb"
    runs, evals = _runs()
    qualities = _qualities()
    w = open_writer(path)
    w.upsert(
        "datasets",
        pd.DataFrame({"dataset_id": DATASETS, "name": [f"d{d}" for d in DATASETS], "source": "t"}),
    )
    w.upsert(
        "tasks",
        pd.DataFrame(
            {
                "task_id": list(TASKS.values()),
                "dataset_id": list(TASKS),
                "evaluation_measure": [None] * 6 + ["mean_absolute_error"],
                "source": "t",
            }
        ),
    )
    w.upsert(
        "flows",
        pd.DataFrame({"flow_id": list(FLOWS), "name": list(FLOWS.values()), "source": "t"}),
    )
    w.upsert(
        "evaluation_measures",
        pd.DataFrame(
            {
                "measure": ["predictive_accuracy", "mean_absolute_error"],
                "higher_is_better": [True, False],
                "source": "t",
            }
        ),
    )
    w.upsert("dataset_qualities", qualities)
    # task-keyed values: the dataset's ClassEntropy wins over this one; TaskOnly lacks coverage
    w.upsert(
        "task_qualities",
        pd.DataFrame(
            {
                "task_id": [101, 101],
                "quality": ["ClassEntropy", "TaskOnly"],
                "value": [99.0, 1.0],
                "source": "openml-pimp",
            }
        ),
    )
    w.upsert("runs", runs)
    w.append("evaluations", evals)
    w.append("learning_curves", _curves())
    w.refresh_views()
    w.close()
    return {
        "path": path,
        "runs": runs,
        "evals": evals,
        "qualities": qualities,
        "curves": _curves(),
    }


def sql(capsys, store, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["--store", str(store["path"]), "sql", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def sql_json(capsys, store, *args) -> pd.DataFrame:
    rc, out, err = sql(capsys, store, *args, "--format", "json")
    assert rc == 0, err
    return pd.DataFrame(json.loads(out))


def scored_runs(store) -> pd.DataFrame:
    ev = store["evals"]
    agg = ev[ev["fold"].isna()][["run_key", "measure", "value"]]
    return store["runs"].merge(agg, on="run_key")


# -- named queries -------------------------------------------------------------------------------
def test_list_shows_the_required_named_queries(capsys, store):
    listed = sql_json(capsys, store, "--list")
    assert {"best-configs", "run-counts", "similar-tasks", "quality-coverage"} <= set(
        listed["name"]
    )
    assert listed["description"].str.len().min() > 20
    similar = listed.set_index("name").loc["similar-tasks", "parameters"]
    task_id = next(p for p in similar if p["name"] == "task_id")
    assert task_id["required"] and task_id["type"] == "int"


@pytest.mark.parametrize("query", nq.list_queries(), ids=lambda q: q.name)
def test_declared_parameters_are_the_placeholders_of_the_sql(query):
    placeholders = set(duckdb.extract_statements(query.sql)[0].named_parameters)
    assert {p.name for p in query.params} == placeholders
    assert query.description and all(p.description for p in query.params)


def test_best_configs_is_the_top_k_per_task(capsys, store):
    got = sql_json(capsys, store, "--named", "best-configs", "--param", "k=2")
    runs = scored_runs(store)
    higher = runs["measure"] != "mean_absolute_error"
    runs["key"] = np.where(higher, -runs["value"], runs["value"])
    expected = runs.sort_values(["task_id", "key", "run_key"]).groupby("task_id").head(2)
    assert sorted(got["run_key"]) == sorted(expected["run_key"])
    assert set(got["rank"]) == {1, 2}
    best_107 = got[(got.task_id == 107) & (got["rank"] == 1)]["score"].item()
    assert best_107 == pytest.approx(runs[runs.task_id == 107]["value"].min())  # lower is better


def test_best_configs_filters_by_task(capsys, store):
    got = sql_json(capsys, store, "--named", "best-configs", "-p", "task_id=103", "-p", "k=1")
    runs = scored_runs(store)
    assert list(got["task_id"]) == [103]
    assert got["score"].item() == pytest.approx(runs[runs.task_id == 103]["value"].max())
    assert json.loads(got["config"].item())["flow"] in FLOWS


def test_run_counts_per_flow_and_task(capsys, store):
    got = sql_json(capsys, store, "--named", "run-counts")
    runs = store["runs"]
    expected = runs.groupby(["flow_id", "task_id"]).size()
    counted = got.set_index(["flow_id", "task_id"])["runs"]
    assert counted.sort_index().to_dict() == expected.sort_index().to_dict()
    row = got[(got.flow_id == 5) & (got.task_id == 101)].iloc[0]
    assert row["evaluated_runs"] == row["runs"] - 1  # the failed run has no evaluation
    assert row["flow_name"] == "rf"


def test_flow_performance_is_the_mean_per_flow(capsys, store):
    got = sql_json(capsys, store, "--named", "flow-performance")
    runs = scored_runs(store)
    acc = runs[runs.measure == "predictive_accuracy"].groupby("flow_id")["value"].mean()
    assert got.set_index("flow_id")["mean_score"].to_dict() == pytest.approx(acc.to_dict())
    only6 = sql_json(capsys, store, "--named", "flow-performance", "-p", "source=src6")
    assert list(only6["flow_id"]) == [6]


def test_quality_coverage_counts_datasets_per_source(capsys, store):
    everything = sql_json(capsys, store, "--named", "quality-coverage")
    got = everything[everything.keyed_by == "dataset"]
    q = store["qualities"]
    per_source = q.groupby(["quality", "source"])["dataset_id"].nunique()
    rows = got[got.source != "*"].set_index(["quality", "source"])["having_value"]
    assert rows.sort_index().to_dict() == per_source.sort_index().to_dict()
    overall = got[got.source == "*"].set_index("quality")
    assert overall.loc["ClassEntropy", "having_value"] == len(
        DATASETS
    )  # counted once across sources
    assert overall.loc["Rare", "share"] == pytest.approx(round(1 / len(DATASETS), 4))
    by_task = everything[(everything.keyed_by == "task") & (everything.source == "openml-pimp")]
    assert set(by_task["quality"]) == {"ClassEntropy", "TaskOnly"} and set(
        by_task["having_value"]
    ) == {1}
    entropy = sql_json(capsys, store, "--named", "quality-coverage", "-p", "quality=%entropy%")
    assert set(entropy["quality"]) == {"ClassEntropy"}


def test_learning_curve_is_the_mean_over_seeds(capsys, store):
    got = sql_json(
        capsys,
        store,
        "--named",
        "learning-curve",
        "-p",
        "dataset_id=3",
        "-p",
        "learner=SVC_linear",
    )
    c = store["curves"]
    c = c[(c.learner == "SVC_linear") & (c.measure == "predictive_accuracy")]
    expected = c.groupby("size_train")[["score_valid", "score_test"]].mean()
    assert list(got["size_train"]) == list(expected.index)
    assert list(got["mean_test"]) == pytest.approx(list(expected["score_test"]))
    assert list(got["mean_valid"]) == pytest.approx(list(expected["score_valid"]))
    assert set(got["points"]) == {3}
    rc, out, err = sql(capsys, store, "--named", "learning-curve", "-p", "dataset_id=4")
    assert rc == 1 and "no learning curves for dataset 4" in err and "metabase import lcdb" in err


def _expected_similar(store, task: int, k: int) -> pd.Series:
    q = store["qualities"]
    # the views prefer OpenML's value over a computed one
    q = (
        q.assign(rank=(q.source != "openml").astype(int))
        .sort_values("rank")
        .drop_duplicates(["dataset_id", "quality"])
    )
    wide = q.pivot(index="dataset_id", columns="quality", values="value")
    wide.index = [TASKS[d] for d in wide.index]
    wide = wide.loc[:, wide.notna().mean() >= 0.5]
    logged = np.sign(wide) * np.log1p(wide.abs())
    z = (logged - logged.mean()) / logged.std(ddof=1)
    dist = np.sqrt(((z - z.loc[task]) ** 2).mean(axis=1)).drop(task)
    return dist.sort_values().head(k)


def test_similar_tasks_by_z_scored_meta_features(capsys, store):
    got = sql_json(capsys, store, "--named", "similar-tasks", "-p", "task_id=104", "-p", "k=3")
    expected = _expected_similar(store, 104, 3)
    assert list(got["task_id"]) == list(expected.index)
    assert list(got["distance"]) == pytest.approx(list(expected.values))
    assert set(got["qualities_compared"]) == {3}  # "Rare" lacks coverage


def test_similar_tasks_reads_the_cells_of_the_wide_view(store):
    # similar-tasks reads task_qualities_wide in long form (pivoting ~150 columns back and forth is
    # slow); this keeps its preference order in step with the view's.
    text = nq.get_query("similar-tasks").sql
    long_cte = text[text.index("WITH long AS (") : text.index("),\nvals AS (")] + ")"
    con = duckdb.connect(str(store["path"]), read_only=True)
    try:
        mine = con.execute(
            f"{long_cte} SELECT task_id, quality, raw FROM long WHERE raw IS NOT NULL"
        ).fetchall()
        view = con.execute(
            "UNPIVOT task_qualities_wide ON COLUMNS(* EXCLUDE (task_id)) "
            "INTO NAME quality VALUE raw"
        ).fetchall()
    finally:
        con.close()
    assert sorted(mine) == sorted(view)
    assert (101, "ClassEntropy", 99.0) not in mine and (101, "TaskOnly", 1.0) in mine


def test_similar_tasks_for_a_task_without_qualities_says_what_to_do(capsys, store):
    rc, out, err = sql(capsys, store, "--named", "similar-tasks", "-p", "task_id=999")
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and "task 999" in err and "metabase import" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--named", "similar-tasks"], "needs --param task_id"),
        (["--named", "best-configs", "-p", "nope=1"], "no parameter 'nope'"),
        (["--named", "best-configs", "-p", "k=many"], "not a valid int"),
        (["--named", "best-configs", "-p", "k"], "NAME=VALUE"),
        (["--named", "no-such-query"], "metabase sql --list"),
        (["SELECT * FROM runs WHERE task_id = $t"], "--param t="),
        (["SELECT * FROM no_such_table"], "no_such_table"),
        (["SELEC 1"], "does not parse"),
        ([], "exactly one of"),
    ],
)
def test_bad_requests_get_one_line_and_exit_1(capsys, store, args, message):
    rc, out, err = sql(capsys, store, *args)
    assert rc == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


# -- ad-hoc SQL, parameters and formats ----------------------------------------------------------
def test_adhoc_select_with_bound_parameter(capsys, store):
    got = sql_json(
        capsys,
        store,
        "SELECT run_key FROM runs WHERE task_id = $t AND flow_id = $f",
        "-p",
        "t=102",
        "-p",
        "f=6",
    )
    runs = store["runs"]
    assert sorted(got["run_key"]) == sorted(
        runs[(runs.task_id == 102) & (runs.flow_id == 6)]["run_key"]
    )


def test_parameters_are_bound_not_pasted(capsys, store):
    hostile = "x' OR '1'='1"
    got = sql_json(
        capsys, store, "SELECT count(*) AS n FROM runs WHERE run_key = $k", "-p", f"k={hostile}"
    )
    assert got["n"].item() == 0
    got = sql_json(
        capsys, store, "--named", "flow-performance", "-p", "source=src5'; DROP TABLE runs; --"
    )
    assert got.empty
    assert sql_json(capsys, store, "SELECT count(*) AS n FROM runs")["n"].item() == len(
        store["runs"]
    )


def test_csv_and_table_formats(capsys, store):
    rc, out, _ = sql(
        capsys, store, "SELECT task_id, dataset_id FROM tasks ORDER BY task_id", "--format", "csv"
    )
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["task_id"]) for r in rows] == sorted(TASKS.values())
    rc, out, _ = sql(capsys, store, "SELECT name FROM flows ORDER BY name")
    assert rc == 0 and "rf" in out and "svm" in out


def test_table_format_caps_rows_but_csv_gets_all(capsys, store):
    rc, out, err = sql(capsys, store, "SELECT * FROM range(50)", "--max-rows", "10")
    assert rc == 0 and "first 10 of 50" in err
    rc, out, _ = sql(capsys, store, "SELECT * FROM range(50)", "--max-rows", "10", "-f", "csv")
    assert len(out.strip().splitlines()) == 51


def test_show_prints_a_named_querys_sql(capsys, store):
    rc, out, _ = sql(capsys, store, "--named", "best-configs", "--show")
    assert rc == 0 and out == nq.get_query("best-configs").sql


# -- the read-only guard -------------------------------------------------------------------------
WRITES = [
    "INSERT INTO flows (flow_id, source) VALUES (99, 'x')",
    "DELETE FROM runs",
    "UPDATE runs SET status = 'x'",
    "DROP TABLE runs",
    "CREATE TABLE t AS SELECT 1",
    "CREATE TEMP TABLE t AS SELECT 1",
    "COPY (SELECT * FROM runs) TO '{out}'",
    "COPY runs FROM '{out}'",
    "EXPORT DATABASE '{dir}'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}'",
    "ATTACH '{dir}/other.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET threads = 1",
    "PRAGMA enable_profiling",
    "CALL checkpoint()",
    "SELECT 1; DELETE FROM runs",
    "CHECKPOINT",
    "VACUUM",
    "COPY FROM DATABASE store TO other",
    "PREPARE p AS SELECT 1",
    "BEGIN TRANSACTION",
    "SET VARIABLE x = 1",
]


@pytest.mark.parametrize("statement", WRITES)
def test_writes_and_escapes_are_refused_and_change_nothing(capsys, store, tmp_path, statement):
    out_file, out_dir = tmp_path / "out.csv", tmp_path / "exported"
    before = store["path"].read_bytes()
    rc, out, err = sql(capsys, store, statement.format(out=out_file, dir=out_dir))
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and ("read-only" in err or "one statement" in err)
    assert (
        not out_file.exists() and not out_dir.exists() and not (tmp_path / "other.duckdb").exists()
    )
    assert store["path"].read_bytes() == before


@pytest.mark.parametrize(
    "statement",
    [
        "WITH x AS (SELECT 1 AS a) SELECT * FROM x",
        "FROM tasks",
        "DESCRIBE runs",
        "SHOW TABLES",
        "SUMMARIZE datasets",
        "EXPLAIN SELECT * FROM runs",
        "-- a comment\nSELECT 1",
    ],
)
def test_read_statements_are_allowed(capsys, store, statement):
    rc, out, err = sql(
        capsys, store, "-f", "json", "--", statement
    )  # "--": the text may start with "-"
    assert rc == 0, err
    assert isinstance(json.loads(out), list)


def test_reading_a_file_needs_allow_files(capsys, store, tmp_path):
    # Reading files changes nothing, but `metabase sql` reads only the store unless a folder is
    # opened (tests/test_sql_confinement.py covers the rest of that rule).
    src = tmp_path / "ids.csv"
    src.write_text("task_id\n101\n102\n")
    query = (
        f"SELECT count(*) AS n FROM tasks WHERE task_id IN (SELECT task_id FROM read_csv('{src}'))"
    )
    rc, out, err = sql(capsys, store, query)
    assert rc == 1 and out == "" and "--allow-files" in err
    got = sql_json(capsys, store, "--allow-files", str(tmp_path), query)
    assert got["n"].item() == 2


def test_query_from_stdin_through_the_console_script(store):
    script = Path(sys.executable).with_name("metabase")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]
    proc = subprocess.run(
        [*command, "--store", str(store["path"]), "sql", "-", "--format", "json"],
        input="SELECT count(*) AS n FROM flows",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"n": len(FLOWS)}]


def test_missing_store_says_what_to_run(capsys, tmp_path):
    rc = main(["--store", str(tmp_path / "none.duckdb"), "sql", "SELECT 1"])
    err = capsys.readouterr().err
    assert rc == 1 and "metabase import" in err and err.count("\n") == 1
    assert not (tmp_path / "none.duckdb").exists()
