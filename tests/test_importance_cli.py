"""``metabase importance`` on a small store of random-forest runs whose answer is known, its cache,
its plots, and its bad input (one line each, exit 1).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cli.main import main
from metabase.settings import Settings
from metabase.store import open_writer
from metabase.workspace import Workspace

PIPELINE = "sklearn.random_forest"
TASKS = {10: 120, 20: 120, 30: 60}  # task -> runs (task 30 has fewer than the default --min-runs)


def rf_runs(tasks: dict[int, int], seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs of the catalogue's random forest whose accuracy falls 0.01 per min_samples_leaf (a
    range of 19) and rises 0.02 over max_features: min_samples_leaf must rank first. n_estimators
    is fixed at 100, as in openml-pimp, so it is constant in the runs.
    """
    import pipelines

    pipeline = pipelines.get(PIPELINE)
    rng = np.random.default_rng(seed)
    runs, evals = [], []
    for task, n in tasks.items():
        for i, config in enumerate(pipeline.sample(n, seed=seed + task)):
            config["n_estimators"] = 100
            score = (
                0.9
                - 0.01 * config["min_samples_leaf"]
                + 0.02 * config["max_features"]
                + rng.normal(0, 0.001)
            )
            key = f"t:{task}:{i}"
            runs.append(
                {
                    "run_key": key,
                    "task_id": task,
                    "flow_id": 6969,
                    "pipeline": PIPELINE,
                    "config": json.dumps(config),
                    "source": "test",
                    "status": "ok",
                }
            )
            evals.append(
                {
                    "run_key": key,
                    "measure": "predictive_accuracy",
                    "value": float(score),
                    "source": "test",
                }
            )
    return pd.DataFrame(runs), pd.DataFrame(evals)


def build_store(path, tasks=TASKS) -> None:
    runs, evals = rf_runs(tasks)
    w = open_writer(path)
    w.upsert("tasks", pd.DataFrame({"task_id": list(tasks), "source": "test"}))
    w.upsert(
        "flows",
        pd.DataFrame(
            {"flow_id": [6969], "name": ["rf"], "pipeline": [PIPELINE], "source": "test"}
        ),
    )
    w.upsert("runs", runs)
    w.append("evaluations", evals)
    w.refresh_views()
    w.close()


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "s.duckdb"
    build_store(path)
    return path


def run(capsys, store, *args):
    code = main(["--store", str(store), "importance", "--pipeline", PIPELINE, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_has_the_issues_shape_and_the_known_ranking(store, capsys):
    code, out, _ = run(capsys, store, "--format", "json", "--pairs")
    assert code == 0
    data = json.loads(out)
    assert data["pipeline"] == PIPELINE and data["measure"] == "predictive_accuracy"
    assert set(data["tasks"]) == {"10", "20"}  # task 30 has 60 runs, fewer than --min-runs 100
    assert data["skipped"] == {"30": 60}
    assert data["ranking"][0] == "min_samples_leaf"
    assert data["summary"]["min_samples_leaf"]["median"] > 0.8
    assert set(data["summary"]["min_samples_leaf"]) == {"median", "q1", "q3", "tasks"}
    # constant in every run: the catalogue's constants, and n_estimators, which the space lets vary
    assert data["constant"]["n_estimators"] == 100 and "max_depth" in data["constant"]
    assert "n_estimators" not in data["summary"]
    for task, values in data["tasks"].items():
        assert all(v >= 0 for v in values.values())
        assert sum(values.values()) + sum(data["pairs"][task].values()) <= 1 + 1e-9


def test_table_csv_and_plots(store, capsys, tmp_path):
    code, out, err = run(capsys, store, "--tunability")
    assert code == 0
    assert "min_samples_leaf" in out and "constant: 100" in out and "data-driven default" in out
    code, out, _ = run(capsys, store, "--format", "csv", "--min-runs", "50")
    rows = pd.read_csv(pd.io.common.StringIO(out))
    assert set(rows["task_id"]) == set(TASKS)
    assert (
        len(rows) == 3 * 6
    )  # six hyperparameters vary: bootstrap, criterion, imputation, 3 numeric
    across, one = tmp_path / "across.png", tmp_path / "one.png"
    assert run(capsys, store, "--plot", str(across))[0] == 0
    assert run(capsys, store, "--task", "10", "--plot", str(one))[0] == 0
    for png in (across, one):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_are_cached_until_the_runs_change(store, monkeypatch):
    import metabase.importance as package

    ws = Workspace(Settings.resolve(store=str(store)))
    first = ws.importance(PIPELINE)
    assert list(ws.settings.model_dir.glob("importance-*.json"))

    def fail(*args, **kwargs):
        raise AssertionError("recomputed although the runs did not change")

    monkeypatch.setattr(package, "analyse", fail)
    assert ws.importance(PIPELINE).to_dict() == first.to_dict()
    runs, evals = rf_runs({20: 1}, seed=99)  # one more run, on task 20
    runs["run_key"], evals["run_key"] = "t:new", "t:new"
    with ws.writer() as w:
        w.upsert("runs", runs)
        w.append("evaluations", evals)
    with pytest.raises(AssertionError, match="recomputed"):
        ws.importance(PIPELINE)
    monkeypatch.undo()
    assert ws.importance(PIPELINE).task(20).runs == 121


@pytest.mark.parametrize(
    "args, words",
    [
        (["--pipeline", "no.such"], ["no pipeline 'no.such'", "metabase pipelines list"]),
        (
            ["--pipeline", "sklearn.svc"],
            ["no scored runs of pipeline sklearn.svc", "import or sync"],
        ),
        (
            ["--pipeline", PIPELINE, "--min-runs", "500"],
            [
                "at most 120 runs per task",
                "300 runs on 3 tasks",
                "--min-runs 500",
                "metabase sync --flows 6969",
            ],
        ),
        (["--pipeline", PIPELINE, "--task", "30"], ["task 30 has 60", "--min-runs 100"]),
        (
            ["--pipeline", PIPELINE, "--task", "999"],
            ["task 999 has no runs of sklearn.random_forest"],
        ),
        (
            ["--pipeline", PIPELINE, "--measure", "area_under_roc_curve"],
            ["no measure 'area_under_roc_curve'", "predictive_accuracy (300 runs)"],
        ),
    ],
    ids=[
        "unknown-pipeline",
        "no-runs",
        "too-few-runs",
        "task-too-few",
        "task-without-runs",
        "unknown-measure",
    ],
)
def test_bad_input_is_one_line_and_exit_1(store, capsys, args, words):
    code = main(["--store", str(store), "importance", *args])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    for word in words:
        assert word in err, (word, err)
