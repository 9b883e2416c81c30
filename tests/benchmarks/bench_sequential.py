"""Benchmark: metabase's sequential strategies against the tuners people use, on the same pools.

The openml-pimp random forest meta-dataset (imported, then exported from the store), the
sequential protocol of :mod:`metabase.evaluate.sequential` (zero-shot start; the peers' warm start
is metabase's zero-shot picks), every strategy and peer with the same budget and seeds:
random (exact expectation), default, gp, rgpe, residual, SMAC3 (RF facade) and Optuna TPE, warm
and cold (:mod:`sequential_peers`). A reduced setting by default, because SMAC takes ~0.2 s a
proposal: ``BENCH_SEQ_TASKS`` held-out tasks (16, evenly spread), ``BENCH_SEQ_SEEDS`` (2) and
``BENCH_SEQ_BUDGET`` trials (30); ``BENCH_SEQ_START=random5`` for HPO-B's start.

Run with:

    pytest -m benchmark tests/benchmarks/bench_sequential.py -s
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

RESULTS = Path(__file__).parent / "results" / "sequential.json"
PIMP = "openml-pimp/KDD2018/data/arff/random_forest.arff"

pytestmark = [pytest.mark.benchmark, pytest.mark.realdata]


def test_bench_sequential(openml_data, tmp_path):
    pytest.importorskip("smac")
    pytest.importorskip("optuna")
    sys.path.insert(0, str(Path(__file__).parent))
    from sequential_peers import OptunaPeer, SMACPeer

    from cli.main import main
    from metabase import metadataset
    from metabase.evaluate.sequential import run_sequential
    from metabase.recommend.data import Prepared
    from metabase.recommend.sequential import create_sequential
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    store = tmp_path / "pimp.duckdb"
    Workspace(Settings.resolve(store=store, offline=True)).import_(
        "openml-pimp", openml_data / PIMP
    )
    assert (
        main(
            [
                "--store",
                str(store),
                "export",
                "meta-dataset",
                str(tmp_path / "rf"),
                "--flow",
                "6969",
            ]
        )
        == 0
    )
    meta = metadataset.read(tmp_path / "rf")
    prepared = Prepared.build(meta.runs, meta.tasks)
    n_tasks = int(os.environ.get("BENCH_SEQ_TASKS", 16))
    seeds = int(os.environ.get("BENCH_SEQ_SEEDS", 2))
    budget = int(os.environ.get("BENCH_SEQ_BUDGET", 30))
    start = os.environ.get("BENCH_SEQ_START", "zero-shot")
    tasks = prepared.task_ids
    tasks = [tasks[int(i * len(tasks) / n_tasks)] for i in range(min(n_tasks, len(tasks)))]
    factories = {
        name: (lambda name=name: create_sequential(name))
        for name in ("random", "default", "gp", "rgpe", "residual")
    }
    factories.update(
        {
            "smac-warm": lambda: SMACPeer(warm=True, budget=budget),
            "optuna-warm": lambda: OptunaPeer(warm=True),
            "smac-cold": lambda: SMACPeer(warm=False, budget=budget),
            "optuna-cold": lambda: OptunaPeer(warm=False),
        }
    )
    began = time.perf_counter()
    result = run_sequential(
        prepared, factories, tasks=tasks, seeds=seeds, start=start, budget=budget
    )
    summary = result.summary()
    summary["wall_s"] = round(time.perf_counter() - began, 1)
    print(json.dumps(summary, indent=1))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=1))
    rows = summary["strategies"]
    # the transfer strategies use what the task showed: ahead of cold search at 10 trials
    for name in ("rgpe", "residual"):
        assert rows[name]["regret@10"] < rows["random"]["regret@10"]
        assert rows[name]["regret@10"] < rows["smac-cold"]["regret@10"]
