"""The analyst notebooks run top to bottom (nbclient) against a small store built here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metabase.store import open_writer

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted(
    path
    for path in (Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb")
    # notebooks that need a store of their own kind are run by the test their metadata names
    if not json.loads(path.read_text()).get("metadata", {}).get("metabase", {}).get("tested_by")
)
BUSY_TASK = 31  # has the most runs


def _build_store(path: Path) -> dict:
    rng = np.random.default_rng(3)
    datasets = [31, 37, 44, 1471]
    tasks = {d: d for d in datasets}  # task ids equal dataset ids here, as for some OpenML tasks
    runs, evals = [], []
    for task in tasks.values():
        for flow in (6969, 5909):
            for i in range(12 if task == BUSY_TASK else 3):
                key = f"nb:{task}:{flow}:{i}"
                runs.append(
                    {
                        "run_key": key,
                        "task_id": task,
                        "flow_id": flow,
                        "source": "nb",
                        "config": json.dumps({"max_features": round(float(rng.random()), 3)}),
                    }
                )
                evals.append(
                    {
                        "run_key": key,
                        "measure": "predictive_accuracy",
                        "value": float(rng.uniform(0.6, 0.95)),
                        "source": "nb",
                    }
                )
    qualities = [
        (d, q, float(rng.uniform(1, 1000)), "openml")
        for d in datasets
        for q in ("NumberOfInstances", "NumberOfFeatures", "MajorityClassSize")
    ]
    w = open_writer(path)
    w.upsert(
        "datasets",
        pd.DataFrame(
            {"dataset_id": datasets, "name": [f"d{d}" for d in datasets], "source": "nb"}
        ),
    )
    w.upsert(
        "tasks",
        pd.DataFrame({"task_id": list(tasks.values()), "dataset_id": list(tasks), "source": "nb"}),
    )
    w.upsert(
        "flows", pd.DataFrame({"flow_id": [6969, 5909], "name": ["rf", "svm"], "source": "nb"})
    )
    w.upsert(
        "dataset_qualities",
        pd.DataFrame(qualities, columns=["dataset_id", "quality", "value", "source"]),
    )
    w.upsert("runs", pd.DataFrame(runs))
    w.append("evaluations", pd.DataFrame(evals))
    curves = pd.DataFrame(
        [
            {
                "dataset_id": 31,
                "learner": learner,
                "size_train": size,
                "outer_seed": seed,
                "measure": "predictive_accuracy",
                "score_test": float(rng.random()),
                "source": "lcdb",
            }
            for learner in ("SVC_linear", "GaussianNB")
            for size in (16, 32, 64)
            for seed in range(2)
        ]
    )
    w.append("learning_curves", curves)
    w.record_import("nb", None, pd.Timestamp("2026-11-25").to_pydatetime(), {"runs": len(runs)})
    w.refresh_views()
    w.close()
    scores = pd.DataFrame(evals).merge(pd.DataFrame(runs), on="run_key")
    return {
        "runs": len(runs),
        "datasets": len(datasets),
        "best": scores[scores.task_id == BUSY_TASK]["value"].max(),
        "tasks": set(tasks.values()),
        "curve_points": int((curves["learner"] != "").sum()),
    }


def test_there_is_a_notebook():
    assert NOTEBOOKS, "notebooks/ should hold at least one analyst notebook"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_read_only_against_a_store(notebook, tmp_path, monkeypatch):
    store = tmp_path / "store.duckdb"
    expected = _build_store(store)
    before = store.read_bytes()
    monkeypatch.setenv("METABASE_STORE", str(store))  # the kernel inherits the environment
    nb = nbformat.read(notebook, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    client.execute()

    assert store.read_bytes() == before  # it only read
    errors = [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("name") == "stderr"
        and "Warning" in o.get("text", "")
        and "IPKernelApp" not in o.get("text", "")
    ]
    assert not errors, errors
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pass
    else:  # a notebook that plots shows its figure
        plots = [
            o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
        ]
        assert plots or "plt." not in "".join(c.source for c in nb.cells)
    summaries = [c for c in nb.cells if "summary" in c.get("metadata", {}).get("tags", [])]
    if not summaries:
        return
    text = "".join(o.get("text", "") for o in summaries[-1].outputs if o.get("name") == "stdout")
    summary = json.loads(text.strip().splitlines()[-1])
    assert summary["tables"]["runs"] == expected["runs"]
    assert summary["tables"]["datasets"] == expected["datasets"]
    assert summary["task"] == BUSY_TASK
    assert summary["best_score"] == pytest.approx(expected["best"])
    assert summary["curve_points"] == expected["curve_points"]
    assert summary["similar"] and set(summary["similar"]) <= expected["tasks"] - {BUSY_TASK}
