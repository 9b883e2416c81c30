"""``recommend`` is a read: where its caches cannot be written (a store in a read-only folder, or
the cache's name taken by a file) it answers all the same, uncached, and its answer is the one a
cold run with a writable cache gives.

The caches sit beside the store and are named after the store's file name, as the README says
(``<store>.models/``, ``<store>.sync-spool/``).
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from cli.main import main

RF = "sklearn.random_forest"
TASKS = list(range(1, 6))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A small store: 5 tasks with meta-features, 30 random-forest configurations run on each."""
    import pipelines
    from metabase.store import open_writer

    rng = np.random.default_rng(0)
    configs = pipelines.get(RF).sample(30, seed=1)
    path = tmp_path_factory.mktemp("template") / "kb.duckdb"
    w = open_writer(path)
    w.upsert(
        "datasets",
        pd.DataFrame({"dataset_id": TASKS, "name": [f"d{t}" for t in TASKS], "source": "t"}),
    )
    w.upsert("tasks", pd.DataFrame({"task_id": TASKS, "dataset_id": TASKS, "source": "t"}))
    w.upsert(
        "dataset_qualities",
        pd.DataFrame(
            [
                (t, q, float(rng.random() * 100), "t")
                for t in TASKS
                for q in ("NumberOfInstances", "NumberOfFeatures", "ClassEntropy")
            ],
            columns=["dataset_id", "quality", "value", "source"],
        ),
    )
    keys = [f"t:{t}:{i}" for t in TASKS for i in range(len(configs))]
    w.upsert(
        "runs",
        pd.DataFrame(
            {
                "run_key": keys,
                "task_id": [t for t in TASKS for _ in configs],
                "flow_id": 1,
                "pipeline": RF,
                "source": "t",
                "status": "ok",
                "config": [json.dumps(c) for _ in TASKS for c in configs],
            }
        ),
    )
    w.append(
        "evaluations",
        pd.DataFrame(
            {
                "run_key": keys,
                "measure": "predictive_accuracy",
                "value": rng.random(len(keys)),
                "source": "t",
            }
        ),
    )
    w.refresh_views()
    w.close()
    return path


def _copy(template, folder):
    folder.mkdir()
    return shutil.copy(template, folder / template.name)


def _recommend(store, capsys):
    capsys.readouterr()
    rc = main(
        [
            "--store",
            str(store),
            "--offline",
            "recommend",
            "--task",
            "2",
            "--k",
            "3",
            "--format",
            "json",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def cold_answer(template, tmp_path_factory):
    """What a cold run with a writable cache answers (and that it caches as the README says)."""
    import contextlib
    import io

    from metabase.settings import Settings

    folder = tmp_path_factory.mktemp("writable")
    store = shutil.copy(template, folder / template.name)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert (
            main(
                [
                    "--store",
                    str(store),
                    "--offline",
                    "recommend",
                    "--task",
                    "2",
                    "--k",
                    "3",
                    "--format",
                    "json",
                ]
            )
            == 0
        )
    models = folder / "kb.duckdb.models"
    assert Settings.resolve(store=store).model_dir == models
    assert list(models.glob("data-*.pkl")) and list(models.rglob("surrogate.json"))
    return json.loads(out.getvalue())


def test_recommend_answers_uncached_when_the_cache_name_is_taken(
    template, cold_answer, tmp_path, capsys
):
    store = _copy(template, tmp_path / "kb")
    blocker = tmp_path / "kb" / "kb.duckdb.models"
    blocker.write_text("not a folder")  # every cache write fails, as in a read-only folder
    assert _recommend(store, capsys) == cold_answer
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes into read-only folders; the taken-name test covers this path",
)
def test_recommend_answers_uncached_in_a_read_only_folder(template, cold_answer, tmp_path, capsys):
    store = _copy(template, tmp_path / "kb")
    os.chmod(tmp_path / "kb", 0o555)
    try:
        assert _recommend(store, capsys) == cold_answer
        assert sorted(p.name for p in (tmp_path / "kb").iterdir()) == ["kb.duckdb"]
    finally:
        os.chmod(tmp_path / "kb", 0o755)
