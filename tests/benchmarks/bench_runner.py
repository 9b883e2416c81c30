"""Benchmark: the runner against openml-python's ``run_model_on_task``, side by side, in one run.

All against the replay server, on credit-g's task 31 (10-fold CV), with ``N`` random
``sklearn.random_forest`` configurations (seed 1) capped at ``TREES`` trees:

- **throughput**: ``metabase run --sample N`` on the local pool (``WORKERS`` workers) against a
  serial loop of ``openml.runs.run_model_on_task`` over the same configurations, built by the same
  builder. Ratio: serial time / pool time (aim >= 1.8 on 2 cores).
- **overhead**: the same runs on ONE worker, into a store that already exists (creating one is
  not a run's cost); the runner's time per run (fork, measures, predictions, storing) minus the
  pipeline's own fit and predict time (the runs' ``wall_clock_time_millis``), as a fraction of
  the latter (aim <= 5% for runs of >= 1 s).
- **ray**: the same runs with ``--executor ray`` on a local Ray of ``WORKERS`` CPUs, twice: on
  fresh Ray workers (they import the libraries during the first runs: "cold") and again on the
  same workers ("warm", a new store so that everything runs again); ratio of the local pool's
  time to Ray's (aim >= 0.9), Ray's own start-up reported apart. As the load may move between
  the phases, each also reports its efficiency: the runs' own fit and predict time over workers
  x wall time (the ratio of Ray's to the pool's is a load-robust Ray / local figure).
- **torch**: one ``torch.mlp`` epoch (default network) through the runner (the whole fit of fold
  0 of eeg-eye-state's task 9983 at ``epochs=1``: imputation, scaling, validation split, one
  epoch, its validation loss) against a hand-written loop of the same network on the same
  training rows, standardised beforehand, untimed (aim <= 1.1), one thread, alternating
  ``TORCH_REPEATS`` times, best and median of each; again on CUDA when there is one.

The load average (1 min) is recorded at the start and end of every part: the machine this was
written on is shared, and its load moves every figure.

Environment: ``METABASE_BENCH_RUNNER_N`` (default 40), ``METABASE_BENCH_RUNNER_TREES`` (32),
``METABASE_BENCH_RUNNER_WORKERS`` (2), ``METABASE_BENCH_RUNNER_PARTS`` (default
``throughput,overhead,ray,torch``), ``METABASE_BENCH_RUNNER_TORCH_REPEATS`` (5).

Run with:

    pytest -m benchmark tests/benchmarks/bench_runner.py -s
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pytest

RESULTS = Path(__file__).parent / "results" / "runner.json"
N = int(os.environ.get("METABASE_BENCH_RUNNER_N", 40))
TREES = int(os.environ.get("METABASE_BENCH_RUNNER_TREES", 32))
WORKERS = int(os.environ.get("METABASE_BENCH_RUNNER_WORKERS", 2))
PARTS = os.environ.get("METABASE_BENCH_RUNNER_PARTS", "throughput,overhead,ray,torch").split(",")
TORCH_REPEATS = int(os.environ.get("METABASE_BENCH_RUNNER_TORCH_REPEATS", 5))
TASK, RF = 31, "sklearn.random_forest"
logging.getLogger("openml").setLevel(logging.ERROR)


def _workspace(url: str, store: Path):
    from metabase.settings import Settings
    from metabase.workspace import Workspace

    return Workspace(Settings.resolve(store=store, openml_server=url, apikey="bench"))


def _timed_run(ws, **kwargs) -> tuple[float, object]:
    """Seconds from the pool's start to the last stored result (the task fetched before)."""
    marks = []
    report = ws.run(
        TASK,
        pipeline=RF,
        sample=N,
        seed=1,
        fidelity=f"n_estimators={TREES}",
        progress=lambda p: marks.append(time.perf_counter()),
        **kwargs,
    )
    return marks[-1] - marks[0], report


def _fit_predict_s(store: Path, keys: list[str]) -> list[float]:
    from metabase.store import open_reader

    with open_reader(store) as con:
        rows = con.execute(
            "SELECT run_key, value / 1000 FROM evaluations WHERE fold IS NULL AND "
            "measure = 'wall_clock_time_millis' AND run_key IN (SELECT unnest(?::VARCHAR[]))",
            [keys],
        ).fetchall()
    return [v for _, v in rows]


def _serial_peer(url: str, cache: Path, configs: list[dict]) -> float:
    import openml

    import pipelines
    from metabase.openml import Gateway
    from metabase.runner.execute import schema_for
    from pipelines import BuildOptions

    data = Gateway(url, "bench", cache).get_task_data(TASK)
    openml.config.server, openml.config.apikey = url, "bench"
    openml.config.set_root_cache_directory(str(cache))
    task = openml.tasks.get_task(TASK, download_splits=True)
    models = [
        pipelines.get(RF).build(
            c, schema_for(data), BuildOptions(max_estimators=TREES, random_state=1)
        )
        for c in configs
    ]
    start = time.perf_counter()
    for model in models:
        openml.runs.run_model_on_task(model, task, avoid_duplicate_runs=False, upload_flow=False)
    return time.perf_counter() - start


@pytest.mark.benchmark
@pytest.mark.realdata
def test_bench_runner(replay_server, tmp_path):
    import pipelines

    result = {
        "task": TASK,
        "runs": N,
        "trees": TREES,
        "workers": WORKERS,
        "cores": os.cpu_count(),
    }
    configs = pipelines.get(RF).sample(N, 1)
    cache = tmp_path / "openml-cache"
    if "torch" in PARTS:  # the quickest part first: a run cut short still has it
        _load(result, "torch", "start")
        result.update(_torch(replay_server.url, cache))
        _load(result, "torch", "end")
        _write(result)
    if "throughput" in PARTS:
        _load(result, "throughput", "start")
        pool_s, report = _timed_run(
            _workspace(replay_server.url, tmp_path / "pool.duckdb"), workers=WORKERS
        )
        assert {r["status"] for r in report.rows} == {"ok"}
        serial_s = _serial_peer(replay_server.url, cache, configs)
        result.update(
            pool_s=pool_s, serial_run_model_on_task_s=serial_s, throughput_ratio=serial_s / pool_s
        )
        result["pool_efficiency"] = _efficiency(tmp_path / "pool.duckdb", report, pool_s, WORKERS)
        _load(result, "throughput", "end")
        _write(result)
    if "overhead" in PARTS:
        _load(result, "overhead", "start")
        result.update(_overhead(replay_server.url, tmp_path / "one.duckdb"))
        _load(result, "overhead", "end")
        _write(result)
    if "ray" in PARTS:
        _load(result, "ray", "start")
        result.update(_ray(replay_server.url, tmp_path, result.get("pool_s")))
        _load(result, "ray", "end")
        _write(result)
    print()
    for key, value in result.items():
        print(
            f"{key:<36}{value:>12.3f}" if isinstance(value, float) else f"{key:<36}{value!s:>12}"
        )


def _write(result: dict) -> None:
    """After every part, so that a run cut short keeps what it measured."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))


def _load(result: dict, part: str, when: str) -> None:
    result[f"load_average_{part}_{when}"] = os.getloadavg()[0]


def _overhead(url: str, store: Path) -> dict:
    from metabase.store import open_writer

    open_writer(store).close()  # an existing store: creating one is not a run's cost
    one_s, report = _timed_run(_workspace(url, store), workers=1)
    assert {r["status"] for r in report.rows} == {"ok"}
    fit_predict = _fit_predict_s(store, [r["run_key"] for r in report.rows])
    per_run, own = one_s / len(fit_predict), sum(fit_predict) / len(fit_predict)
    return {
        "one_worker_s": one_s,
        "runner_s_per_run": per_run,
        "fit_predict_s_per_run": own,
        "shortest_run_fit_predict_s": min(fit_predict),
        "overhead_fraction": (per_run - own) / own,
    }


def _efficiency(store: Path, report, seconds: float, workers: int) -> float:
    """The runs' own fit and predict time over ``workers`` x the wall time: the share of the
    workers' time the pipelines had. Other jobs' load slows both terms alike, so comparing this
    between executors holds when the load moves between their phases (their wall times do not).
    """
    own = _fit_predict_s(store, [r["run_key"] for r in report.rows])
    return sum(own) / (workers * seconds)


def _ray(url: str, tmp_path: Path, pool_s: float | None) -> dict:
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)
    out = {"ray_start_s": time.perf_counter() - start}
    try:
        for phase in ("cold", "warm"):
            ray_s, report = _timed_run(
                _workspace(url, tmp_path / f"ray-{phase}.duckdb"), executor="ray"
            )
            assert {r["status"] for r in report.rows} == {"ok"}
            out[f"ray_{phase}_s"] = ray_s
            out[f"ray_{phase}_efficiency"] = _efficiency(
                tmp_path / f"ray-{phase}.duckdb", report, ray_s, WORKERS
            )
            if pool_s is not None:
                out[f"ray_ratio_local_over_ray_{phase}"] = pool_s / ray_s
    finally:
        ray.shutdown()
    return out


def _torch(url: str, cache: Path) -> dict:
    """Seconds of one torch.mlp epoch: through the runner (fit of fold 0, fidelity epochs=1) and
    a hand-written loop of the same network on the same rows (one thread each on the CPU),
    alternating; on the CPU and, where there is one, on CUDA.
    """
    import numpy as np
    import torch

    import pipelines
    from metabase.openml import Gateway
    from metabase.records import Fidelity, RunRequest, Splits, TaskData
    from metabase.runner import execute

    torch.set_num_threads(1)
    full = Gateway(url, "bench", cache).get_task_data(9983)
    fold0 = full.splits.indices[(0, 0, 0)]
    data = TaskData(
        full.task_id,
        full.dataset_id,
        full.task_type,
        full.target,
        full.X,
        full.y,
        Splits(1, 1, 1, {(0, 0, 0): fold0}),
        full.class_labels,
    )
    config = pipelines.get("torch.mlp").canonicalize({"patience": 30})
    X = full.X.to_numpy(dtype=np.float32)[fold0[0]]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (full.y.astype(str).to_numpy()[fold0[0]] == full.class_labels[1]).astype(np.int64)
    out = {}
    for device in ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]:
        request = RunRequest(
            9983,
            "torch.mlp",
            config,
            pipelines.config_hash("torch.mlp", config),
            seed=0,
            fidelity=Fidelity(epochs=1),
            device=device,
        )
        execute(request, data)  # first use: lazy imports, CUDA context
        _plain_epoch(X, y, config, device)
        runner, plain = [], []
        for _ in range(TORCH_REPEATS):
            run = execute(request, data)
            assert run.status == "ok", run.traceback
            runner.append(run.aggregate("wall_clock_time_millis_training") / 1000)
            plain.append(_plain_epoch(X, y, config, device))
        tag = "" if device == "cpu" else "_cuda"
        out.update(
            {
                f"torch{tag}_runner_epoch_s": min(runner),
                f"torch{tag}_plain_epoch_s": min(plain),
                f"torch{tag}_ratio_runner_over_plain": min(runner) / min(plain),
                f"torch{tag}_ratio_of_medians": float(np.median(runner) / np.median(plain)),
            }
        )
    return out


def _plain_epoch(X, y, config, device: str = "cpu") -> float:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(X.shape[1], config["units_1"]),
        nn.ReLU(),
        nn.Dropout(config["dropout"]),
        nn.Linear(config["units_1"], config["units_2"]),
        nn.ReLU(),
        nn.Dropout(config["dropout"]),
        nn.Linear(config["units_2"], 2),
    ).to(device)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config["learning_rate"], weight_decay=config["weight_decay"]
    )
    loss_fn = nn.CrossEntropyLoss()
    X, y = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    start = time.perf_counter()
    model.train()
    order = torch.randperm(len(X), device=device)
    for i in range(0, len(X), config["batch_size"]):
        idx = order[i : i + config["batch_size"]]
        optimiser.zero_grad()
        loss_fn(model(X[idx]), y[idx]).backward()
        optimiser.step()
    if device != "cpu":
        torch.cuda.synchronize()
    return time.perf_counter() - start
