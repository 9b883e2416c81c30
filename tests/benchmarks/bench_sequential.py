"""Benchmark: metabase's sequential strategies against the tuners people use, on the same pools.

The openml-pimp random forest meta-dataset (imported, then exported from the store; or the
interchange-format directory ``BENCH_SEQ_DATA``), the sequential protocol of
:mod:`metabase.evaluate.sequential` (zero-shot start; the peers' warm start is metabase's
zero-shot picks), every strategy and peer with the same budget and seeds: random (exact
expectation), default, gp, rgpe, residual, twins (the sequential default), SMAC3 (RF facade)
and Optuna TPE, warm and cold (:mod:`sequential_peers`). ``BENCH_SEQ_TASKS`` held-out tasks
(16, evenly spread), ``BENCH_SEQ_SEEDS`` (2), ``BENCH_SEQ_BUDGET`` trials (30);
``BENCH_SEQ_START=random5`` for HPO-B's start; ``BENCH_SEQ_WORKERS`` processes (1), each taking
the next task when it finishes one. ``results/sequential.json`` is rewritten after every task
(the tasks finished so far, which are spread over the list, as the order is bit-reversed), so a
run cut short still leaves a result.

Besides each strategy's mean ± SE, ``paired`` holds the sequential default minus each other
strategy: the difference of their regrets on the same (task, seed), averaged over seeds per
task, its mean and its standard error over tasks (the seeds of one task are not independent
draws) at 1, 3, 5, 10 and 25 trials, and the ratio mean / SE (below -2: the default ahead by
more than two SEs).

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

from metabase.recommend.sequential import SEQUENTIAL_DEFAULT

RESULTS = Path(__file__).parent / "results" / "sequential.json"
PIMP = "openml-pimp/KDD2018/data/arff/random_forest.arff"
PAIRED_KS = (1, 3, 5, 10, 25)
LEADER = SEQUENTIAL_DEFAULT  # the paired differences are the default minus each other

pytestmark = [pytest.mark.benchmark, pytest.mark.realdata]

_JOB: dict = {}  # what forked workers inherit: the prepared data, factories and protocol


def _run_share(tasks: list[int]):
    """One worker's tasks (the forked process inherits ``_JOB``)."""
    from metabase.evaluate.sequential import run_sequential

    job = _JOB
    return run_sequential(job["prepared"], job["factories"], tasks=tasks, **job["protocol"])


def run_parallel(prepared, factories, tasks, workers: int, done=None, **protocol):
    """``run_sequential`` with the tasks dealt one at a time to ``workers`` forked processes;
    ``done(result)`` is called with the merged result of the tasks finished so far after each.
    """
    _JOB.update(prepared=prepared, factories=factories, protocol=protocol)
    # every prefix of this order is spread over the list: a run cut short is still a sample
    order = sorted(tasks, key=lambda t: _spread(tasks.index(t), len(tasks)))
    parts = []
    with multiprocessing.get_context("fork").Pool(max(1, min(workers, len(tasks)))) as pool:
        for part in pool.imap_unordered(_run_share, [[t] for t in order]):
            parts.append(part)
            if done is not None:
                done(merge(parts, [t for t in tasks if any(t in p.tasks for p in parts)]))
    return merge(parts, tasks)


def _spread(i: int, n: int) -> tuple:
    """Position of ``i`` in the bit-reversed order of ``range(n)``: 0, n/2, n/4, 3n/4, ..."""
    bits = max(1, (n - 1).bit_length())
    return (int(format(i, f"0{bits}b")[::-1], 2), i)


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
        for name in ("random", "default", "gp", "rgpe", "residual", SEQUENTIAL_DEFAULT)
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
    RESULTS.parent.mkdir(exist_ok=True)

    def write(result) -> dict:
        # after every task: a run cut short leaves the summary of the tasks it finished
        summary = result.summary()
        summary["paired"] = paired(result)
        summary["workers"] = workers
        summary["wall_s"] = round(time.perf_counter() - began, 1)
        RESULTS.write_text(json.dumps(summary, indent=1))
        print(f"{len(result.tasks)}/{len(tasks)} tasks, {summary['wall_s']} s", flush=True)
        return summary

    result = run_parallel(
        prepared, factories, tasks, workers, done=write, seeds=seeds, start=start, budget=budget
    )
    summary = write(result)
    print(json.dumps(summary, indent=1))
    rows = summary["strategies"]
    # the transfer strategies use what the task showed: ahead of cold search at 10 trials
    for name in ("rgpe", "residual", LEADER):
        assert rows[name]["regret@10"] < rows["random"]["regret@10"]
        assert rows[name]["regret@10"] < rows["smac-cold"]["regret@10"]
