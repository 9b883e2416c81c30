"""Local runs in the store: migration 004, one transaction per result, run_configs, idempotence."""

from __future__ import annotations

import json

import pytest

from metabase.records import CRASHED
from metabase.runner import execute
from metabase.store.runs import ensure_task, existing_runs, run_table, write_results
from metabase.testing import faulty
from metabase.testing.executor_contract import request


@pytest.fixture(scope="module")
def data():
    return faulty.synthetic_task(n=60, folds=3)


@pytest.fixture(scope="module")
def results(data):
    ok = execute(request("sklearn.decision_tree", {"max_depth": 3}, seed=2), data)
    crashed = execute(request("testing.faulty", faulty.config("crash")), data, faulty.get)
    return ok, crashed


def test_migration_adds_run_details_predictions_and_fold_samples(writer):
    assert {"run_details", "predictions"} <= set(writer.tables())
    columns = {
        r[0]
        for r in writer.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'evaluations'"
        ).fetchall()
    }
    assert {"sample", "stdev", "fold", "repeat"} <= columns


def test_a_result_is_stored_with_its_evaluations_details_and_predictions(writer, data, results):
    ok, crashed = results
    ensure_task(writer, data)
    assert write_results(writer, [ok, crashed], "local") == 2
    runs = writer.df("SELECT * FROM runs ORDER BY status DESC")
    assert runs["source"].tolist() == ["local", "local"] and runs["openml_run_id"].isna().all()
    assert set(runs["status"]) == {"ok", CRASHED}
    per_fold = writer.scalar(
        "SELECT count(*) FROM evaluations WHERE run_key = ? AND measure = "
        "'predictive_accuracy' AND fold IS NOT NULL",
        [ok.run_key],
    )
    assert per_fold == 3
    # the stored predictions are the run's own, row for row
    stored = writer.df(
        'SELECT "repeat", fold, row_id, prediction, correct, confidence FROM predictions '
        'WHERE run_key = ? ORDER BY "repeat", fold, row_id',
        [ok.run_key],
    )
    expected = ok.predictions.sort_values(["repeat", "fold", "row_id"], ignore_index=True)
    assert stored["prediction"].tolist() == expected["prediction"].tolist()
    assert [list(c) for c in stored["confidence"]] == [list(c) for c in expected["confidence"]]
    details = writer.df("SELECT * FROM run_details WHERE run_key = ?", [crashed.run_key]).iloc[0]
    assert details["error_type"] == "ValueError" and "boom" in details["traceback"]
    assert json.loads(
        writer.scalar("SELECT class_labels FROM run_details WHERE run_key = ?", [ok.run_key])
    ) == ["no", "yes", "maybe"]
    assert (
        writer.scalar("SELECT count(*) FROM predictions WHERE run_key = ?", [crashed.run_key]) == 0
    )


def test_local_runs_show_up_in_run_configs_with_their_pooled_score(writer, data, results):
    ok, _ = results
    ensure_task(writer, data)
    write_results(writer, [ok], "local")
    row = writer.df("SELECT * FROM run_configs WHERE run_key = ?", [ok.run_key]).iloc[0]
    assert (row["pipeline"], row["source"], row["measure"]) == (
        "sklearn.decision_tree",
        "local",
        "predictive_accuracy",
    )
    p = ok.predictions
    assert row["score"] == pytest.approx((p["prediction"] == p["correct"]).mean())
    assert json.loads(row["config"])["max_depth"] == 3


def test_writing_a_run_again_replaces_it(writer, data, results):
    ok, _ = results
    write_results(writer, [ok], "local")
    before = (
        writer.scalar("SELECT count(*) FROM evaluations"),
        writer.scalar("SELECT count(*) FROM predictions"),
    )
    write_results(writer, [ok], "local")
    after = (
        writer.scalar("SELECT count(*) FROM evaluations"),
        writer.scalar("SELECT count(*) FROM predictions"),
    )
    assert before == after and writer.scalar("SELECT count(*) FROM runs") == 1


def test_existing_runs_and_the_run_table(writer, data, results):
    ok, crashed = results
    write_results(writer, [ok, crashed], "local")
    assert existing_runs(writer, [ok.run_key, "local:nothing"]) == {ok.run_key: "ok"}
    rows = run_table(
        writer,
        [crashed.run_key, ok.run_key],
        {ok.run_key: "predictive_accuracy", crashed.run_key: "predictive_accuracy"},
    )
    assert [r["run_key"] for r in rows] == [crashed.run_key, ok.run_key]
    folds = [
        m.value
        for m in ok.measurements
        if m.measure == "predictive_accuracy" and m.fold is not None
    ]
    assert rows[1]["mean"] == pytest.approx(sum(folds) / 3) and rows[1]["folds"] == 3
    assert rows[0]["mean"] is None and rows[0]["error_message"].startswith("boom")


def test_ensure_task_keeps_a_synced_task_row(writer, data):
    writer.execute(
        "INSERT INTO tasks (task_id, dataset_id, task_type, evaluation_measure, source) "
        "VALUES (1, 99, 'Supervised Classification', 'area_under_roc_curve', 'openml')"
    )
    ensure_task(writer, data)
    assert writer.execute(
        "SELECT dataset_id, evaluation_measure FROM tasks WHERE task_id = 1"
    ).fetchall() == [(99, "area_under_roc_curve")]
