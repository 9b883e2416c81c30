"""Benchmark: recommendations and backtests at scale.

- ``metabase recommend --task 9983`` as a whole new process, against ``python -c "import
  metabase"`` (our own start-up floor), with a store of more than 1 million runs: the real
  openml-pimp runs (47,000, including task 9983's 500) plus 1,000 synthetic tasks x 1,000 runs
  written through the writer. Cold (trains and caches the surrogate) and warm (cached model).
- Surrogate training time on 1 million rows (one LightGBM model, and the default 3-model ensemble).
- ``metabase evaluate`` on the openml-pimp export (all 92 usable tasks, default and random).
- The in-task ceiling on that export (``metabase.evaluate.ceiling``, LightGBM; 20 s). With
  ``BENCH_CEILING_MODELS=all`` every in-task model and their per-task envelope, with each model's
  wall time (~20 minutes more: the Gaussian process alone takes ~8).

- ``metabase recommend --task 14951`` on the starter knowledge base (no store, offline, a fresh
  home directory), cold and warm, against ``python -c "import metabase"``
  (:func:`test_bench_recommend_starter`; no data needed, about a minute).

Run with:

    pytest -m benchmark tests/benchmarks/bench_recommend.py -s
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

RESULTS = Path(__file__).parent / "results" / "recommend.json"
STARTER_RESULTS = Path(__file__).parent / "results" / "recommend_starter.json"
PIMP = "openml-pimp/KDD2018/data/arff/random_forest.arff"
SYN_TASKS, SYN_RUNS = 1_000, 1_000


def _timed(cmd: list[str], repeats: int = 1) -> tuple[float, subprocess.CompletedProcess]:
    times, proc = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        assert proc.returncode == 0, proc.stderr
    return statistics.median(times), proc


def _synthetic_runs(
    rng, qualities: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Random-forest-like configs on synthetic tasks whose qualities are perturbed real ones."""
    n = SYN_TASKS * SYN_RUNS
    task_ids = np.repeat(np.arange(SYN_TASKS) + 10_000_000, SYN_RUNS)
    mf = rng.uniform(0.05, 1.0, n)
    leaf = rng.integers(1, 21, n)
    split = rng.integers(2, 21, n)
    boot = rng.random(n) < 0.5
    crit = np.where(rng.random(n) < 0.5, "gini", "entropy")
    imp = rng.choice(["mean", "median", "most_frequent"], n)
    optimum = np.repeat(rng.uniform(0.1, 0.9, SYN_TASKS), SYN_RUNS)
    score = 0.9 - (mf - optimum) ** 2 - 0.004 * leaf - 0.01 * boot + rng.normal(0, 0.01, n)
    configs = [
        f'{{"bootstrap":{"true" if b else "false"},"criterion":"{c}","imputation_strategy":"{i}",'
        f'"max_depth":null,"max_features":{m!r},"max_leaf_nodes":null,"min_samples_leaf":{lf},'
        f'"min_samples_split":{s},"min_weight_fraction_leaf":0.0,"n_estimators":100}}'
        for b, c, i, m, lf, s in zip(boot, crit, imp, mf.tolist(), leaf.tolist(), split.tolist())
    ]
    keys = [f"bench:{t}:{j}" for t, j in zip(task_ids, np.tile(np.arange(SYN_RUNS), SYN_TASKS))]
    runs = pd.DataFrame(
        {
            "run_key": keys,
            "task_id": task_ids,
            "flow_id": 6969,
            "pipeline": "sklearn.random_forest",
            "config": configs,
            "source": "bench",
            "status": "ok",
        }
    )
    evaluations = pd.DataFrame(
        {"run_key": keys, "measure": "predictive_accuracy", "value": score, "source": "bench"}
    )
    rows = []
    source_tasks = rng.choice(qualities["task_id"].unique(), SYN_TASKS)
    for t, src in enumerate(source_tasks):
        q = qualities[qualities["task_id"] == src]
        rows.append(
            pd.DataFrame(
                {
                    "task_id": 10_000_000 + t,
                    "quality": q["quality"].to_numpy(),
                    "value": q["value"].to_numpy() * rng.uniform(0.8, 1.2, len(q)),
                    "source": "bench",
                }
            )
        )
    return runs, evaluations, pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def big_store(openml_data, tmp_path_factory):
    from metabase.settings import Settings
    from metabase.store import open_writer
    from metabase.workspace import Workspace

    path = tmp_path_factory.mktemp("bench") / "store.duckdb"
    Workspace(Settings.resolve(store=path, offline=True)).import_(
        "openml-pimp", openml_data / PIMP
    )
    with open_writer(path) as con:
        qualities = con.df("SELECT task_id, quality, value FROM task_qualities")
        runs, evaluations, task_q = _synthetic_runs(np.random.default_rng(0), qualities)
        with con.transaction():
            con.append("runs", runs)
            con.append("evaluations", evaluations)
            con.append("task_qualities", task_q)
            con.record_import("bench", None, pd.Timestamp.now(), {"runs": len(runs)})
        con.refresh_views()
        total = con.scalar("SELECT count(*) FROM runs")
    assert total >= 1_000_000
    return path, total


@pytest.mark.benchmark
def test_bench_recommend_starter(tmp_path):
    """The headline command as a new user runs it: no store, so the starter knowledge base."""
    exe = str(Path(sys.executable).parent / "metabase")
    env = {**os.environ, "HOME": str(tmp_path), "METABASE_STORE": str(tmp_path / "none.duckdb")}
    env.pop("XDG_DATA_HOME", None)

    def timed(cmd, repeats):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
            times.append(time.perf_counter() - start)
            assert proc.returncode == 0, proc.stderr
        return statistics.median(times), proc

    floor, _ = timed([sys.executable, "-c", "import metabase"], 5)
    cmd = [exe, "--offline", "recommend", "--task", "14951", "--format", "json"]
    cold, proc = timed(cmd, 1)
    assert len(json.loads(proc.stdout)["recommendations"]) == 10
    warm, _ = timed(cmd, 5)
    results = {
        "import_floor_s": round(floor, 3),
        "recommend_cold_s": round(cold, 2),
        "recommend_warm_s": round(warm, 2),
        "cold_ratio": round(cold / floor, 1),
        "warm_ratio": round(warm / floor, 1),
    }
    STARTER_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    STARTER_RESULTS.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=1))


@pytest.mark.benchmark
@pytest.mark.realdata
def test_bench_recommend(big_store, openml_data, tmp_path):
    import sys as _sys

    store, total = big_store
    results = {"runs_in_store": int(total)}
    exe = str(Path(_sys.executable).parent / "metabase")
    floor, _ = _timed([_sys.executable, "-c", "import metabase"], repeats=3)
    cmd = [
        exe,
        "--store",
        str(store),
        "--offline",
        "recommend",
        "--task",
        "9983",
        "--format",
        "json",
    ]
    cold, proc = _timed(cmd)
    assert len(json.loads(proc.stdout)["recommendations"]) == 10
    warm, _ = _timed(cmd, repeats=3)
    results.update(
        import_floor_s=round(floor, 3),
        recommend_cold_s=round(cold, 2),
        recommend_warm_s=round(warm, 2),
        cold_ratio=round(cold / floor, 1),
        warm_ratio=round(warm / floor, 1),
    )

    # surrogate training on 1 million rows (30 features, as the synthetic tasks have)
    from metabase.surrogate import LGBMSurrogate

    rng = np.random.default_rng(0)
    x = rng.random((1_000_000, 30))
    y = x[:, 0] - (x[:, 1] - 0.5) ** 2 + rng.normal(0, 0.05, len(x))
    groups = np.repeat(np.arange(1_000), 1_000)
    start = time.perf_counter()
    LGBMSurrogate(n_models=1).fit(x, y, groups)
    one = time.perf_counter() - start
    start = time.perf_counter()
    LGBMSurrogate().fit(x, y, groups)
    ensemble = time.perf_counter() - start
    results.update(
        surrogate_1m_rows_1_model_s=round(one, 2),
        surrogate_1m_rows_default_ensemble_s=round(ensemble, 2),
    )

    # evaluate on the openml-pimp export (from the store with only the real runs)
    from cli.main import main
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    small = tmp_path / "pimp.duckdb"
    Workspace(Settings.resolve(store=small, offline=True)).import_(
        "openml-pimp", openml_data / PIMP
    )
    assert (
        main(
            [
                "--store",
                str(small),
                "export",
                "meta-dataset",
                str(tmp_path / "rf"),
                "--flow",
                "6969",
            ]
        )
        == 0
    )
    start = time.perf_counter()
    _, proc = _timed(
        [exe, "evaluate", str(tmp_path / "rf"), "--strategies", "default", "--format", "json"]
    )
    results["evaluate_pimp_default_s"] = round(time.perf_counter() - start, 1)
    results["evaluate_pimp"] = json.loads(proc.stdout)
    # the reference no zero-shot strategy can be expected to pass: a model that has seen 90% of
    # the held-out task's own runs (cross-fitted), scored the same way; one per kind of in-task
    # model, and their per-task best (the envelope, chosen with hindsight)
    from metabase import metadataset
    from metabase.evaluate.ceiling import CEILING_MODELS, ceiling_envelope, in_task_ceiling
    from metabase.evaluate.regret import expected_random_regret
    from metabase.recommend.data import Prepared

    meta = metadataset.read(tmp_path / "rf")
    prepared = Prepared.build(meta.runs, meta.tasks)
    random = [
        expected_random_regret(g.to_numpy()) for _, g in prepared.runs.groupby("task_id")["score"]
    ]
    target = float(np.mean([r[min(100, len(r)) - 1] for r in random]))
    curves, seconds = {}, {}
    chosen = os.environ.get("BENCH_CEILING_MODELS", "lightgbm")
    for model in (
        CEILING_MODELS if chosen == "all" else [m.strip() for m in chosen.split(",") if m.strip()]
    ):
        start = time.perf_counter()
        curves[model] = in_task_ceiling(prepared, model=model)
        seconds[model] = round(time.perf_counter() - start, 1)
    if len(curves) > 1:
        curves["envelope"] = ceiling_envelope(curves)
    for name, array in curves.items():
        curve = array.mean(axis=0)
        row = {f"regret@{k}": round(float(curve[k - 1]), 4) for k in (1, 3, 5, 10, 25, 100)}
        hits = np.flatnonzero(curve <= target + 1e-12)
        row["picks_to_random@100"] = int(hits[0] + 1) if len(hits) else None
        if name in seconds:
            row["seconds"] = seconds[name]
        # the LightGBM one keeps its historical key
        results[
            "in_task_ceiling_pimp" if name == "lightgbm" else f"in_task_ceiling_pimp_{name}"
        ] = row

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print()
    print(f"{'measure':45s} value")
    for key, value in results.items():
        if key != "evaluate_pimp":
            print(f"{key:45s} {value}")
    print(json.dumps(results["evaluate_pimp"]["strategies"], indent=1))
