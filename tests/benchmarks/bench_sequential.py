"""Benchmark: metabase's sequential strategies against the tuners people use, on the same pools.

The openml-pimp random forest meta-dataset (imported, then exported from the store; or the
interchange-format directory ``BENCH_SEQ_DATA``), the sequential protocol of
:mod:`metabase.evaluate.sequential` (zero-shot start; the peers' warm start is metabase's
zero-shot picks), every strategy and peer with the same budget and seeds: random (exact
expectation), default, gp, rgpe, residual, SMAC3 (RF facade) and Optuna TPE, warm and cold
(:mod:`sequential_peers`). ``BENCH_SEQ_TASKS`` held-out tasks (16, evenly spread),
``BENCH_SEQ_SEEDS`` (2), ``BENCH_SEQ_BUDGET`` trials (30); ``BENCH_SEQ_START=random5`` for HPO-B's
start; ``BENCH_SEQ_WORKERS`` processes (1), each running a share of the tasks.

Besides each strategy's mean ± SE, ``paired`` holds ``rgpe`` minus each other strategy: the
difference of their regrets on the same (task, seed), averaged over seeds per task, its mean and
its standard error over tasks (the seeds of one task are not independent draws) at 1, 3, 5, 10
and 25 trials, and the ratio mean / SE (below -2: rgpe ahead by more than two SEs).

Run with:

    pytest -m benchmark tests/benchmarks/bench_sequential.py -s
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

RESULTS = Path(__file__).parent / "results" / "sequential.json"
PIMP = "openml-pimp/KDD2018/data/arff/random_forest.arff"
PAIRED_KS = (1, 3, 5, 10, 25)
LEADER = "rgpe"

pytestmark = [pytest.mark.benchmark, pytest.mark.realdata]

_JOB: dict = {}  # what forked workers inherit: the prepared data, factories and protocol


def _run_share(tasks: list[int]):
    from metabase.evaluate.sequential import run_sequential

    job = _JOB
    return run_sequential(job["prepared"], job["factories"], tasks=tasks, **job["protocol"])


def run_parallel(prepared, factories, tasks, workers: int, **protocol):
    """``run_sequential`` with the tasks dealt round-robin to ``workers`` forked processes."""
    _JOB.update(prepared=prepared, factories=factories, protocol=protocol)
    shares = [tasks[w::workers] for w in range(workers) if tasks[w::workers]]
    if len(shares) == 1:
        return _run_share(shares[0])
    with multiprocessing.get_context("fork").Pool(len(shares)) as pool:
        parts = pool.map(_run_share, shares)
    return merge(parts, tasks)


def merge(parts, tasks):
    """One result from the workers' results, in ``tasks``' order."""
    order = [t for part in parts for t in part.tasks]
    at = np.array([order.index(t) for t in tasks])
    seconds = {
        name: tuple(np.sum([part.seconds[name] for part in parts], axis=0).tolist())
        for name in parts[0].seconds
    }
    return replace(
        parts[0],
        tasks=tuple(tasks),
        curves={n: np.concatenate([p.curves[n] for p in parts])[at] for n in parts[0].curves},
        exact_random=np.concatenate([p.exact_random for p in parts])[at],
        seconds=seconds,
    )


def paired(result, leader: str = LEADER, ks=PAIRED_KS) -> dict:
    """``leader`` minus each other strategy on the same (task, seed), with its SE over tasks."""
    out = {}
    for name in result.curves:
        if name == leader:
            continue
        # random's runs are seeded draws; its task curve is the exact expectation either way
        other = result.task_curves(name)
        diff = result.curves[leader].mean(axis=1) - other  # tasks x budget
        sem = diff.std(axis=0, ddof=1) / np.sqrt(len(diff))
        row = {}
        for k in (k for k in ks if k <= result.budget):
            row[f"diff@{k}"] = round(float(diff[:, k - 1].mean()), 4)
            row[f"sem@{k}"] = round(float(sem[k - 1]), 4)
            row[f"z@{k}"] = (
                round(float(diff[:, k - 1].mean() / sem[k - 1]), 2) if sem[k - 1] else None
            )
        out[f"{leader}-{name}"] = row
    return out


def test_bench_sequential(openml_data, tmp_path):
    pytest.importorskip("smac")
    pytest.importorskip("optuna")
    sys.path.insert(0, str(Path(__file__).parent))
    from sequential_peers import OptunaPeer, SMACPeer

    from cli.main import main
    from metabase import metadataset
    from metabase.recommend.data import Prepared
    from metabase.recommend.sequential import create_sequential
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    data = os.environ.get("BENCH_SEQ_DATA")
    if data is None:
        store = tmp_path / "pimp.duckdb"
        Workspace(Settings.resolve(store=store, offline=True)).import_(
            "openml-pimp", openml_data / PIMP
        )
        data = tmp_path / "rf"
        assert (
            main(["--store", str(store), "export", "meta-dataset", str(data), "--flow", "6969"])
            == 0
        )
    meta = metadataset.read(Path(data))
    prepared = Prepared.build(meta.runs, meta.tasks)
    n_tasks = int(os.environ.get("BENCH_SEQ_TASKS", 16))
    seeds = int(os.environ.get("BENCH_SEQ_SEEDS", 2))
    budget = int(os.environ.get("BENCH_SEQ_BUDGET", 30))
    start = os.environ.get("BENCH_SEQ_START", "zero-shot")
    workers = int(os.environ.get("BENCH_SEQ_WORKERS", 1))
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
    result = run_parallel(
        prepared, factories, tasks, workers, seeds=seeds, start=start, budget=budget
    )
    summary = result.summary()
    summary["paired"] = paired(result)
    summary["workers"] = workers
    summary["wall_s"] = round(time.perf_counter() - began, 1)
    print(json.dumps(summary, indent=1))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=1))
    rows = summary["strategies"]
    # the transfer strategies use what the task showed: ahead of cold search at 10 trials
    for name in ("rgpe", "residual"):
        assert rows[name]["regret@10"] < rows["random"]["regret@10"]
        assert rows[name]["regret@10"] < rows["smac-cold"]["regret@10"]
