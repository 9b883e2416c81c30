"""The analysts' notebooks on importance, learning curves and recommenders, executed top to bottom
(nbclient) against a small store built here whose answers are known by construction.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metabase.store import open_writer

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
sys.path.insert(0, str(Path(__file__).parent))

# importance: the weight of min_samples_leaf falls as the dataset grows, max_features takes over
RF_TASKS = {10: (100.0, 0.9), 20: (1_000.0, 0.7), 30: (10_000.0, 0.5), 40: (100_000.0, 0.3)}
# learning curves: A is flat at 0.80, B climbs as 0.95 - 0.35 sqrt(16 / n), C is flat at 0.5.
# B passes A between the anchors 64 (0.775) and 91 (0.803): the one crossing of each dataset.
ANCHORS = [16, 23, 32, 45, 64, 91, 128, 181, 256]
LEARNERS = {"A": lambda n: 0.80, "B": lambda n: 0.95 - 0.35 * np.sqrt(16 / n), "C": lambda n: 0.5}


def _rf_runs() -> tuple[pd.DataFrame, pd.DataFrame]:
    import pipelines

    pipeline = pipelines.get("sklearn.random_forest")
    rng = np.random.default_rng(5)
    runs, evals = [], []
    for task, (_, weight) in RF_TASKS.items():
        for i, config in enumerate(pipeline.sample(100, seed=task)):
            config["n_estimators"] = 100
            score = (
                0.9
                - weight * 0.01 * config["min_samples_leaf"]
                + (1 - weight) * 0.1 * config["max_features"]
                + rng.normal(0, 1e-4)
            )
            runs.append(
                {
                    "run_key": f"nb:{task}:{i}",
                    "task_id": task,
                    "flow_id": 6969,
                    "pipeline": "sklearn.random_forest",
                    "config": json.dumps(config),
                    "source": "nb",
                }
            )
            evals.append(
                {
                    "run_key": f"nb:{task}:{i}",
                    "measure": "predictive_accuracy",
                    "value": score,
                    "source": "nb",
                }
            )
    return pd.DataFrame(runs), pd.DataFrame(evals)


def _curves() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "dataset_id": d,
                "learner": f"sklearn.toy.{name}",
                "size_train": n,
                "outer_seed": seed,
                "measure": "predictive_accuracy",
                "score_test": float(f(n)),
                "source": "lcdb",
            }
            for d in (1, 2, 3)
            for name, f in LEARNERS.items()
            for n in ANCHORS
            for seed in (0, 1)
        ]
    )


def _build_store(path: Path) -> None:
    runs, evals = _rf_runs()
    qualities = [(t, "NumberOfInstances", n, "nb") for t, (n, _) in RF_TASKS.items()]
    qualities += [
        (t, "NumberOfFeatures", float(f), "nb") for t, f in zip(RF_TASKS, (5, 50, 20, 8))
    ]
    w = open_writer(path)
    w.upsert("tasks", pd.DataFrame({"task_id": list(RF_TASKS), "source": "nb"}))
    w.upsert(
        "flows",
        pd.DataFrame(
            {
                "flow_id": [6969],
                "name": ["rf"],
                "pipeline": ["sklearn.random_forest"],
                "source": "nb",
            }
        ),
    )
    w.upsert("runs", runs)
    w.append("evaluations", evals)
    w.append(
        "task_qualities",
        pd.DataFrame(qualities, columns=["task_id", "quality", "value", "source"]),
    )
    w.append("learning_curves", _curves())
    w.refresh_views()
    w.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nb") / "store.duckdb"
    _build_store(path)
    return path


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory) -> dict:
    """A real `metabase evaluate` JSON, on a small meta-dataset whose best configuration moves with
    a meta-feature (the recommenders' contract tests' toy).
    """
    from test_recommend_contract import shifted_optimum

    from cli.main import main
    from metabase.metadataset import MetaDataset, write

    folder = tmp_path_factory.mktemp("ev")
    runs, tasks, _ = shifted_optimum(n_tasks=8, n_runs=30)
    directory = write(MetaDataset(runs=runs, tasks=tasks), folder / "md")
    out = folder / "toy-evaluate.json"
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert (
            main(
                [
                    "--store",
                    str(folder / "s.duckdb"),
                    "evaluate",
                    str(directory),
                    "--strategies",
                    "knn,portfolio",
                    "--k",
                    "1,2,3,5,10,30",
                    "--format",
                    "json",
                ]
            )
            == 0
        )
    out.write_text(buffer.getvalue())
    # and a sequential one (strategies that see each result), on the same meta-dataset
    sequential = folder / "toy-sequential-evaluate.json"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert (
            main(
                [
                    "--store",
                    str(folder / "s.duckdb"),
                    "evaluate",
                    str(directory),
                    "--sequential",
                    "--seeds",
                    "1",
                    "--strategies",
                    "gp",
                    "--format",
                    "json",
                ]
            )
            == 0
        )
    sequential.write_text(buffer.getvalue())
    return {
        "path": out,
        "data": json.loads(out.read_text()),
        "sequential": sequential,
        "sequential_data": json.loads(buffer.getvalue()),
    }


def _execute(name: str, store: Path, monkeypatch, figures: int = 1, **env) -> dict:
    """Run the notebook; check it only read the store, warned about nothing and drew at least
    ``figures`` figures; return its summary line.
    """
    before = store.read_bytes()
    monkeypatch.setenv("METABASE_STORE", str(store))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    notebook = NOTEBOOKS / name
    nb = nbformat.read(notebook, as_version=4)
    assert "tests/test_analyst_notebooks.py" in nb.metadata["metabase"]["tested_by"]
    nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    ).execute()
    assert store.read_bytes() == before
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    warnings = [
        o
        for o in outputs
        if o.get("name") == "stderr"
        and "Warning" in o.get("text", "")
        and "IPKernelApp" not in o.get("text", "")
    ]
    assert not warnings, warnings
    drawn = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(drawn) >= figures, f"the notebook drew {len(drawn)} figures, not {figures}"
    summary = [c for c in nb.cells if "summary" in c.get("metadata", {}).get("tags", [])][-1]
    text = "".join(o.get("text", "") for o in summary.outputs if o.get("name") == "stdout")
    return json.loads(text.strip().splitlines()[-1])


def test_hyperparameter_importance_notebook(store, monkeypatch):
    # across tasks, the marginals, importance against meta-features
    summary = _execute("hyperparameter_importance.ipynb", store, monkeypatch, figures=3)
    assert summary["tasks"] == len(RF_TASKS)
    assert (
        summary["ranking"][0] == "min_samples_leaf"
    )  # its median share is about 0.9 by construction
    assert set(summary["marginal_tasks"]) <= set(RF_TASKS) and len(summary["marginal_tasks"]) >= 3
    # min_samples_leaf matters less the more instances a task has: a perfect negative rank
    # correlation
    assert summary["spearman"]["min_samples_leaf"]["NumberOfInstances"] == pytest.approx(-1.0)
    assert summary["spearman"]["max_features"]["NumberOfInstances"] == pytest.approx(1.0)
    # the data-driven default keeps the leaves as small as the runs allow
    assert summary["data_driven_default"]["min_samples_leaf"] <= 3


def test_learning_curves_notebook(store, monkeypatch):
    summary = _execute("learning_curves.ipynb", store, monkeypatch, figures=3)
    assert summary["datasets"] == 3 and summary["learners"] == 3
    assert summary["winner_first"] == "A" and summary["winner_final"] == "B"
    assert summary["crossing_pairs"] == 3 and summary["last_crossings_at"] == {"91": 3}
    # before the crossing the order is A, B, C against the final B, A, C: rho = 1 - 6 * 2 / (3 * 8)
    # = 0.5, and picking A loses B(256) - A = 0.95 - 0.35 / 4 - 0.80 = 0.0625; from 91 on the order
    # is final. The final anchor, 256, is not compared with itself.
    assert set(summary["spearman"]) == {str(a) for a in ANCHORS[:-1]}
    for size in ANCHORS[:-1]:
        expected = (0.5, 0.0625) if size < 91 else (1.0, 0.0)
        assert (summary["spearman"][str(size)], summary["regret"][str(size)]) == pytest.approx(
            expected
        ), size


def test_recommenders_notebook(store, evaluation, monkeypatch):
    summary = _execute(
        "recommenders.ipynb",
        store,
        monkeypatch,
        METABASE_EVALUATE_JSON=os.pathsep.join(
            [str(evaluation["path"]), str(evaluation["sequential"])]
        ),
    )
    name, sequential = evaluation["path"].stem, evaluation["sequential"].stem
    strategies = evaluation["data"]["strategies"]
    assert summary["evaluations"] == [name, sequential]
    assert summary["strategies"][name] == sorted(strategies)
    # the sequential evaluation is drawn too, every strategy in it, and labelled with its start
    assert summary["strategies"][sequential] == sorted(evaluation["sequential_data"]["strategies"])
    assert summary["protocols"] == {name: "one-shot", sequential: "sequential, zero-shot start"}
    lowest = min(v["regret@1"] for v in strategies.values())
    assert summary["best_at_1"][name] == ", ".join(
        s for s, v in strategies.items() if v["regret@1"] == lowest
    )
