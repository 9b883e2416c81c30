"""Benchmark: ``metabase publish`` against openml-python's ``run.publish()``, same runs, same
server.

``N`` local ``sklearn.random_forest`` runs on credit-g's task 31 (2 trees each, made once, not
timed) are published to one replay server that loses the answer of a share ``DROP`` of the run
uploads after storing the run (``drop=`` fault, only on run calls). metabase publishes them with
``publish --all``; openml-python publishes the same runs (same predictions, flow and evaluations,
its own tag per run) one at a time with ``OpenMLRun.publish()``, as users do. Reported: runs per
second of each, the ratio, and how many server runs each client left per run (counted by each
run's tag: openml-python retries a POST whose answer was lost, so it is expected to duplicate;
metabase must leave exactly one).

Environment: ``METABASE_BENCH_PUBLISH_N`` (default 200; 20 for a reduced run),
``METABASE_BENCH_PUBLISH_DROP`` (0.1).

    pytest -m benchmark tests/benchmarks/bench_publish.py -s
"""

from __future__ import annotations

import logging
import os
import time

import pytest

pytestmark = [pytest.mark.benchmark, pytest.mark.realdata]
N = int(os.environ.get("METABASE_BENCH_PUBLISH_N", "200"))
DROP = float(os.environ.get("METABASE_BENCH_PUBLISH_DROP", "0.1"))


def test_publish_against_openml_python(replay_factory, tmp_path, monkeypatch):
    import openml

    from cli.main import main
    from metabase.records import publish_tag
    from metabase.store import open_reader
    from metabase.store.outbox import fold_evaluations, predictions

    logging.getLogger("openml").setLevel(logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)
    monkeypatch.setenv("METABASE_OPENML_BACKOFF_S", "0.01")
    store = tmp_path / "bench.duckdb"
    clean = replay_factory()
    assert (
        main(
            [
                "--store",
                str(store),
                "--openml-server",
                clean.url,
                "run",
                "--task",
                "31",
                "--pipeline",
                "sklearn.random_forest",
                "--sample",
                str(N),
                "--fidelity",
                "n_estimators=2",
            ]
        )
        == 0
    )
    server = replay_factory(faults=f"drop={DROP},match=/run/,seed=3")
    start = time.perf_counter()
    assert (
        main(
            [
                "--store",
                str(store),
                "--openml-server",
                server.url,
                "--apikey",
                "k",
                "publish",
                "--all",
            ]
        )
        == 0
    )
    ours_s = time.perf_counter() - start
    with open_reader(store) as con:
        runs = con.execute(
            "SELECT r.run_key, r.openml_run_id, d.class_labels FROM runs r JOIN run_details d "
            "USING (run_key) WHERE source = 'local'"
        ).fetchall()
        material = [
            (
                key,
                server.state.uploaded_runs[rid],
                predictions(con, key),
                fold_evaluations(con, key),
            )
            for key, rid, _ in runs
        ]
    ours_left = [len(server.state.tagged("run", publish_tag(key))) for key, *_ in runs]

    openml.config.server = server.url
    openml.config.apikey = "k"
    openml.config.set_root_cache_directory(str(tmp_path / "openml-cache"))
    first = next(iter(server.state.uploaded_runs.values()))
    flow_id = int(first.split("<oml:flow_id>")[1].split("<")[0])
    start = time.perf_counter()
    for i, (key, _, frame, folds) in enumerate(material):
        rows = [
            [
                int(r.repeat),
                int(r.fold),
                int(r.sample),
                int(r.row_id),
                r.prediction,
                r.correct,
                *map(float, r.confidence),
            ]
            for r in frame.itertuples(index=False)
        ]
        evaluations: dict = {}
        for measure, rep, fold, value in folds:
            evaluations.setdefault(measure, {}).setdefault(rep, {})[fold] = value
        run = openml.runs.OpenMLRun(
            task_id=31,
            flow_id=flow_id,
            dataset_id=31,
            parameter_settings=[],
            data_content=rows,
            tags=[f"bench-openml-{i}"],
            fold_evaluations=evaluations,
        )
        try:
            run.publish()
        except Exception as exc:  # noqa: BLE001 - counted: openml-python gives up after its retries
            print(f"openml-python: run {i} failed: {type(exc).__name__}: {str(exc)[:200]}")
    theirs_s = time.perf_counter() - start
    theirs_left = [
        len(server.state.tagged("run", f"bench-openml-{i}")) for i in range(len(material))
    ]

    print(f"\n{N} runs, drop={DROP}")
    print(
        f"metabase publish: {N / ours_s:.1f} runs/s; server runs per run: max {max(ours_left)}, "
        f"duplicates {sum(c - 1 for c in ours_left if c > 1)}, missing {ours_left.count(0)}"
    )
    print(
        f"openml-python run.publish(): {N / theirs_s:.1f} runs/s; duplicates "
        f"{sum(c - 1 for c in theirs_left if c > 1)}, missing {theirs_left.count(0)}"
    )
    print(f"ratio (metabase / openml-python runs per second): {theirs_s / ours_s:.2f}")
    assert ours_left == [1] * N
