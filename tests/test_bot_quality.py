"""The meta-models' quality over time: the held-out measurement after each of the bot's retrains
(metabase.bot.quality), its record in the store, and ``metabase status`` (table, JSON, plot).

The measurement runs on small synthetic worlds whose answer is known: one best configuration on
every task gives regret 0; a world whose held-out tasks rank the configurations the other way
round gives the regret of the worst ten. The last test hands a measurement back through a real
bot run's background retrain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from metabase.bot import quality
from metabase.bot.loop import Bot, BotOptions
from metabase.bot.quality import MAX_TEST_TASKS, MIN_POOL, held_out, measure_quality
from metabase.services.bot import BotSession
from metabase.settings import Settings
from metabase.testing import faulty
from metabase.workspace import Workspace


def line_world(n_tasks: int = 10, pool: int = 30, reverse=(), seed: int = 0, first: int = 1):
    """(runs, tasks): on every task the score rises with the one hyperparameter ``c`` (the best
    configuration is ``c = 1`` everywhere), except on the ``reverse`` tasks, where it falls.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for task in range(first, first + n_tasks):
        for i in range(pool):
            c = i / (pool - 1)
            s = 1 - c if task in reverse else c
            rows.append((task, "p", json.dumps({"c": round(c, 4)}), 0.5 + 0.4 * s))
    runs = pd.DataFrame(rows, columns=["task_id", "pipeline", "config", "score"])
    runs["score"] += rng.normal(0, 1e-4, len(runs))  # no ties
    ids = np.arange(first, first + n_tasks)
    tasks = pd.DataFrame({"task_id": ids, "dataset_id": ids, "m": rng.uniform(size=n_tasks)})
    return runs, tasks


# -- the held-out slice ---------------------------------------------------------------------------
def test_the_held_out_slice_is_a_stable_fifth_of_the_tasks():
    tasks = list(range(1, 41))
    slice_ = held_out(tasks)
    assert len(slice_) == 8 and set(slice_) <= set(tasks)
    assert held_out(reversed(tasks)) == slice_ == held_out(tasks + tasks)  # order, repeats
    assert held_out(tasks[:10]) != held_out(tasks[10:20])  # it depends on the ids themselves
    assert len(held_out(range(1, 500))) == MAX_TEST_TASKS and len(held_out([7, 8])) == 1
    # a task whose hash comes after the slice's leaves the slice as it was
    last = max(quality.task_hash(t) for t in held_out(range(1, 11)))
    later = next(t for t in range(100, 200) if quality.task_hash(t) > last)
    assert held_out([*range(1, 11), later], share=2 / 11) == held_out(range(1, 11))


def test_the_slice_is_the_same_in_every_process():
    code = "from metabase.bot.quality import held_out; print(held_out(range(1, 61)))"
    seen = set()
    for seed in ("0", "1"):  # Python's own str hash changes with PYTHONHASHSEED
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        seen.add(out.stdout.strip())
    assert seen == {str(held_out(range(1, 61)))}


# -- the measurement ------------------------------------------------------------------------------
def test_one_best_configuration_on_every_task_gives_regret_zero():
    runs, tasks = line_world()
    got = measure_quality(runs, tasks)
    assert got["tasks"] == 2 and got["train_tasks"] == 8
    assert got["held_out"] == held_out(range(1, 11))
    assert got["zero_shot_regret@10"] == 0.0 and got["sequential_regret@10"] == 0.0


def test_held_out_tasks_that_rank_the_other_way_round_show_the_regret_of_the_worst_ten():
    test = held_out(range(1, 11))
    runs, tasks = line_world(reverse=test)
    got = measure_quality(runs, tasks)
    # the models learned "higher c is better" from the 8 others and rank the held-out pools by
    # it: the zero-shot top 10 are the held-out tasks' worst 10 of 30, regret (29 - 9) / 29
    assert got["zero_shot_regret@10"] == pytest.approx(20 / 29, abs=0.01)
    # the sequential default learns from the task's own results, so does better, not perfectly
    assert 0 < got["sequential_regret@10"] < got["zero_shot_regret@10"]


def test_held_out_pools_are_capped_and_the_measurement_is_the_simulations(monkeypatch):
    seen = {}

    def spy(runs, tasks, known, test, seed, k):
        seen.update(runs=runs, known=known, test=test, k=k)
        return 0.25, 0.125

    monkeypatch.setattr(quality, "measure", spy)
    monkeypatch.setattr(quality, "MAX_POOL", 25)
    runs, tasks = line_world(pool=40)
    got = measure_quality(runs, tasks)
    assert got["zero_shot_regret@10"] == 0.25 and got["sequential_regret@10"] == 0.125
    sizes = seen["runs"].groupby("task_id").size()
    assert seen["test"] == held_out(range(1, 11)) and seen["k"] == 10
    assert (sizes[seen["test"]] == 25).all()  # a held-out pool: a sample of 25
    assert (sizes.drop(seen["test"]) == 40).all()  # the tasks it learns from: whole
    known_tasks = set(seen["runs"].iloc[seen["known"]]["task_id"])
    assert known_tasks == set(range(1, 11)) - set(seen["test"])


def test_a_store_too_small_to_hold_tasks_out_is_skipped_with_a_reason():
    runs, tasks = line_world(n_tasks=4)
    assert "4 learnable tasks" in measure_quality(runs, tasks)["skipped"]
    runs10, tasks10 = line_world()
    flat = runs10.assign(score=np.where(runs10["task_id"] <= 6, 0.5, runs10["score"]))
    assert "4 learnable tasks" in measure_quality(flat, tasks10)["skipped"]  # constant: unusable
    small, tasks = line_world(pool=MIN_POOL - 1)
    assert f"has {MIN_POOL} runs" in measure_quality(small, tasks)["skipped"]
    empty = runs.iloc[:0]
    assert "0 learnable tasks" in measure_quality(empty, tasks)["skipped"]


# -- recorded, and shown by `metabase status` -----------------------------------------------------
@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setattr(
        BotSession, "task_data", lambda self, t: faulty.synthetic_task(n=60, folds=3, task_id=t)
    )
    return Workspace(Settings.resolve(store=tmp_path / "bot.duckdb", offline=True))


def _measured(zero, sequential, runs, tasks=4, held=(3, 5, 8, 13)) -> dict:
    return {
        "key": "default-abc",
        "runs": runs,
        "quality": {
            "tasks": tasks,
            "held_out": list(held),
            "train_tasks": 16,
            "zero_shot_regret@10": zero,
            "sequential_regret@10": sequential,
            "seconds": 1.5,
        },
    }


def _recorded(ws, results) -> list:
    session = ws.bot_session()
    try:
        session.register("local", 1, "random", {})
        rows = [session.record_quality(r) for r in results]
        session.stop("done")
    finally:
        session.close()
    return rows


def _rows(ws, sql: str) -> list[tuple]:
    from metabase.store import open_reader

    with open_reader(ws.store_path) as con:
        return con.execute(sql).fetchall()


def test_measurements_are_recorded_and_a_skip_is_an_event(ws):
    rows = _recorded(
        ws,
        [
            _measured(0.08, 0.04, 100),
            {"key": "k", "runs": 120, "quality": {"skipped": "3 learnable tasks (...)"}},
            None,  # a retrain whose output was unreadable: nothing recorded
            {"key": "k", "runs": 130, "quality": {"tasks": 2}},  # malformed: nothing, no stop
            _measured(0.05, None, 150),
        ],
    )
    assert [r is not None for r in rows] == [True, False, False, False, True]
    stored = _rows(
        ws,
        "SELECT runs, tasks, train_tasks, k, zero_shot_regret, sequential_regret, model_key "
        "FROM bot_quality ORDER BY at_time",
    )
    assert _rows(ws, "SELECT DISTINCT held_out FROM bot_quality") == [("[3, 5, 8, 13]",)]
    assert stored == [
        (100, 4, 16, 10, 0.08, 0.04, "default-abc"),
        (150, 4, 16, 10, 0.05, None, "default-abc"),
    ]
    events = [m for (m,) in _rows(ws, "SELECT message FROM bot_events WHERE kind = 'retrain'")]
    assert any("not measured: 3 learnable tasks" in m for m in events)
    assert any("zero-shot regret@10 0.08, sequential regret@10 0.04" in m for m in events)


def test_status_shows_the_quality_over_time(ws, tmp_path):
    _recorded(ws, [_measured(0.08, 0.04, 100), _measured(0.06, 0.03, 200)])
    report = ws.bot_status(plot=tmp_path / "bot.png")
    assert [
        {k: q[k] for k in ("runs", "zero_shot_regret@10", "sequential_regret@10", "tasks")}
        for q in report["quality"]
    ] == [
        {"runs": 100, "zero_shot_regret@10": 0.08, "sequential_regret@10": 0.04, "tasks": 4},
        {"runs": 200, "zero_shot_regret@10": 0.06, "sequential_regret@10": 0.03, "tasks": 4},
    ]
    assert report["quality"][0]["at"] < report["quality"][1]["at"]
    drawn = report["plot"]["quality"]
    assert [v for _, v in drawn["zero_shot_regret@10"]] == [0.08, 0.06]
    assert [v for _, v in drawn["sequential_regret@10"]] == [0.04, 0.03]
    assert (tmp_path / "bot.png").read_bytes()[:4] == b"\x89PNG"


def test_status_command_table_and_json(ws, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cli.main import cli

    _recorded(ws, [_measured(0.08, 0.04, 100), _measured(0.06, 0.035, 200)])
    monkeypatch.setenv("METABASE_STORE", str(ws.store_path))
    out = CliRunner().invoke(cli, ["status", "--format", "json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert [q["zero_shot_regret@10"] for q in report["quality"]] == [0.08, 0.06]
    assert set(report["quality"][0]) >= {
        "at",
        "runs",
        "zero_shot_regret@10",
        "sequential_regret@10",
        "tasks",
    }
    table = CliRunner().invoke(cli, ["status"])
    assert table.exit_code == 0, table.output
    assert "quality on held-out tasks (latest of 2)" in table.output
    assert "0.08 -> 0.06 (-0.02)" in table.output and "runs 100 -> 200" in table.output
    plot = CliRunner().invoke(cli, ["status", "--plot", str(tmp_path / "q.png")])
    assert plot.exit_code == 0 and (tmp_path / "q.png").exists()
    assert "slice changed" not in table.output
    assert report["quality"][0]["held_out"] == [3, 5, 8, 13]
    _recorded(ws, [_measured(0.07, 0.03, 300, held=(3, 5, 8, 21))])  # a task got 20 runs
    table = CliRunner().invoke(cli, ["status"])
    assert "the held-out slice changed (2 different slices" in table.output


def test_status_of_a_store_without_measurements(ws, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cli.main import cli

    assert ws.bot_status()["quality"] == []  # no bot yet
    _recorded(ws, [])
    report = ws.bot_status(plot=tmp_path / "none.png")
    assert report["quality"] == [] and report["quality_measurements"] == 0
    assert report["plot"]["quality"] == {}
    monkeypatch.setenv("METABASE_STORE", str(ws.store_path))
    table = CliRunner().invoke(cli, ["status"])
    assert table.exit_code == 0 and "quality: no measurement yet" in table.output
    assert "last retrain" not in table.output
    # a retrain on a store too small to hold tasks out: the table says why
    _recorded(ws, [{"key": "k", "runs": 9, "quality": {"skipped": "2 learnable tasks (...)"}}])
    table = CliRunner().invoke(cli, ["status"])
    assert "the last retrain: held-out quality not measured: 2 learnable tasks" in table.output
    assert ws.bot_status()["quality"] == []


# -- through a real bot run -----------------------------------------------------------------------
def test_the_bots_retrain_hands_its_measurement_back(ws, tmp_path):
    from metabase import metadataset

    runs, tasks = line_world(first=101)  # a store that knows 10 tasks of 30 runs each
    ws.import_("meta-dataset", metadataset.write(metadataset.MetaDataset(runs, tasks), tmp_path))
    options = BotOptions(
        tasks=(1, 2),
        pipelines=("sklearn.decision_tree",),
        workers=2,
        max_runs=4,
        retrain_every=2,
        retrain_min_s=0,
        grace_s=120,  # the last retrain, measurement included, finishes before the bot ends
    )
    summary = Bot(ws, options).run()
    assert summary.runs == 4 and summary.retrains >= 1
    stored = _rows(
        ws,
        "SELECT runs, tasks, train_tasks, k, zero_shot_regret, sequential_regret, model_key "
        "FROM bot_quality ORDER BY at_time",
    )
    assert len(stored) == summary.retrains
    # the bot's tasks have a handful of runs each: the slice is the world's, whose answer is 0
    held = held_out(range(101, 111))
    for runs_then, n, train, k, zero, sequential, key in stored:
        assert len(runs) < runs_then <= len(runs) + 4 and (n, k) == (len(held), 10)
        assert train >= 8 and zero == 0.0 and sequential == 0.0 and key.startswith("default-")
    shown = ws.bot_status()["quality"]
    assert [q["held_out"] for q in shown] == [held] * len(stored)
