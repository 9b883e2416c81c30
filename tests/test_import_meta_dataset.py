"""meta-dataset importer: a directory in the interchange format -> runs, evaluations, task
qualities.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metabase import metadataset
from metabase.errors import ImportFormatError
from metabase.settings import Settings
from metabase.store import open_reader
from metabase.workspace import Workspace


def _ws(store: Path) -> Workspace:
    return Workspace(Settings.resolve(store=str(store)))


def _meta(n_tasks: int = 3, per_task: int = 4, seed: int = 0) -> metadataset.MetaDataset:
    rng = np.random.default_rng(seed)
    task_ids = np.repeat(np.arange(1, n_tasks + 1) * 10, per_task)
    configs = [
        json.dumps({"lr": float(x), "depth": int(d), "kind": k})
        for x, d, k in zip(
            rng.random(len(task_ids)),
            rng.integers(1, 9, len(task_ids)),
            rng.choice(["a", "b"], len(task_ids)),
        )
    ]
    runs = pd.DataFrame(
        {
            "task_id": task_ids,
            "pipeline": "toy.pipeline",
            "config": configs,
            "score": rng.random(len(task_ids)),
        }
    )
    tasks = pd.DataFrame(
        {
            "task_id": np.arange(1, n_tasks + 1) * 10,
            "dataset_id": pd.array([100 + i for i in range(n_tasks - 1)] + [None], dtype="Int64"),
            "NumberOfInstances": rng.integers(100, 1000, n_tasks).astype(float),
            "ClassEntropy": [np.nan] + list(rng.random(n_tasks - 1)),
        }
    )
    return metadataset.MetaDataset(runs=runs, tasks=tasks)


def _counts(store: Path) -> dict[str, int]:
    with open_reader(store) as con:
        return {
            t: con.scalar(f"SELECT count(*) FROM {t}")
            for t in ("runs", "evaluations", "tasks", "task_qualities")
        }


def test_rows_land_in_runs_evaluations_and_qualities(tmp_path):
    meta = _meta()
    directory = metadataset.write(meta, tmp_path / "md")
    store = tmp_path / "s.duckdb"
    _ws(store).import_("meta-dataset", directory)
    counts = _counts(store)
    assert counts["runs"] == counts["evaluations"] == len(meta.runs)
    assert counts["tasks"] == len(meta.tasks)
    assert counts["task_qualities"] == int(
        meta.tasks[["NumberOfInstances", "ClassEntropy"]].notna().sum().sum()
    )
    with open_reader(store) as con:
        assert con.scalar("SELECT DISTINCT measure FROM evaluations") == "score"
        assert con.scalar("SELECT sum(value) FROM evaluations") == pytest.approx(
            meta.runs["score"].sum()
        )
        stored = sorted(json.loads(c)["lr"] for c in con.df("SELECT config FROM runs")["config"])
        assert stored == sorted(json.loads(c)["lr"] for c in meta.runs["config"])
        assert con.scalar("SELECT dataset_id FROM tasks WHERE task_id = 10") == 100
        assert con.scalar("SELECT dataset_id FROM tasks WHERE task_id = 30") is None


def test_idempotent_from_any_path(tmp_path):
    directory = metadataset.write(_meta(), tmp_path / "md")
    copy = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(directory, copy)
    store = tmp_path / "s.duckdb"
    _ws(store).import_("meta-dataset", directory)
    first = _counts(store)
    _ws(store).import_("meta-dataset", directory)
    _ws(store).import_("meta-dataset", copy)  # same content, other name: same run keys
    assert _counts(store) == first


def test_different_content_gets_other_keys(tmp_path):
    store = tmp_path / "s.duckdb"
    _ws(store).import_("meta-dataset", metadataset.write(_meta(seed=1), tmp_path / "a"))
    _ws(store).import_("meta-dataset", metadataset.write(_meta(seed=2), tmp_path / "b"))
    assert _counts(store)["runs"] == 2 * len(_meta().runs)


def test_malformed_directory_is_refused(tmp_path):
    from metabase.imports.meta_dataset import MetaDatasetImporter

    meta = _meta()
    bad = metadataset.MetaDataset(runs=meta.runs.assign(config="not json"), tasks=meta.tasks)
    directory = tmp_path / "bad"
    directory.mkdir()
    bad.runs.to_parquet(directory / "runs.parquet")
    bad.tasks.to_parquet(directory / "tasks.parquet")
    with pytest.raises(ImportFormatError, match="config is not a JSON object"):
        MetaDatasetImporter().read(directory)
