"""Benchmark: typical analyst queries through ``metabase sql`` against the same SQL on raw DuckDB.

The store holds everything in openml-data (every registered importer, LCDB included), built once
here, or the store named by ``METABASE_BENCH_STORE`` (e.g. one left by an earlier run). Queries:

- best configuration per task over all imported runs: the ``best-configs`` named query (k=1);
- mean accuracy per flow over all study runs: ``flow-performance`` with
  ``source=openml-study-arff``.

Each is timed, in this one run, along these paths (median of REPEATS, the paths taking turns,
each call opening and closing its own read-only connection, as an analyst's command does):

- ``metabase sql --named ... --format csv`` in-process (reader open with lock back-off, statement
  guard, parameter binding, DataFrame, CSV to stdout, here /dev/null);
- ``metabase sql "<the same SQL>" --format csv`` (ad-hoc);
- ``Workspace.sql(named=...)`` (the library, no output formatting);
- peer: ``duckdb.connect(path, read_only=True).execute(sql, params).fetchall()``;
- the ``metabase`` console script as a new process (adds interpreter start-up and imports).

Run with:

    pytest -m benchmark tests/benchmarks/bench_queries.py -s
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from cli.main import main
from metabase.imports import REGISTRY
from metabase.settings import Settings
from metabase.store import named_queries as nq
from metabase.workspace import Workspace

RESULTS = Path(__file__).parent / "results" / "queries.json"
REPEATS = 5
SOURCES = [
    ("openml-sql", "openml-server/data/sql"),
    ("qualities-csv", "qualities/openml_dataset_qualities_2872.csv"),
    ("openml-pimp", "openml-pimp/KDD2018/data/arff/random_forest.arff"),
    ("openml-study-arff", "openml-aslib/openmlmetadata/output"),
    ("tabrepo-metadata", "tabrepo"),
    ("autosklearn", "auto-sklearn/autosklearn/metalearning/files"),
    ("autosklearn", "auto-sklearn/_history/830822b23/autosklearn/metalearning/files"),
    ("lcdb", "lcdb/lcdb"),
]
QUERIES = {
    "best configuration per task (all runs)": ("best-configs", {}),
    "mean accuracy per flow (study runs)": ("flow-performance", {"source": "openml-study-arff"}),
}


def _build(path: Path, data: Path) -> list[str]:
    workspace = Workspace(Settings.resolve(store=path))
    done = []
    for name, rel in SOURCES:
        if name in REGISTRY:
            workspace.import_(name, data / rel)
            done.append(f"{name}:{rel}")
    return done


def _medians(paths: dict) -> dict:
    """Median seconds per path, the paths taking turns (after one warm-up each) so that load
    changes on the shared machine fall on all of them alike.
    """
    results = {name: fn() for name, fn in paths.items()}  # warm-up, and the results to check
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(REPEATS):
        for name, fn in paths.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(t), results[name]) for name, t in times.items()}


def _cli(args: list[str]) -> int:
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        return main(args)


@pytest.mark.benchmark
@pytest.mark.realdata
def test_analyst_queries_against_raw_duckdb(tmp_path, openml_data):
    given = os.environ.get("METABASE_BENCH_STORE")
    store = Path(given) if given else tmp_path / "store.duckdb"
    build_s, imported = 0.0, ["(given store)"]
    if not given:
        start = time.perf_counter()
        imported = _build(store, openml_data)
        build_s = time.perf_counter() - start
    workspace = Workspace(Settings.resolve(store=store))
    with workspace.reader() as con:
        runs = con.scalar("SELECT count(*) FROM runs")
        evaluations = con.scalar("SELECT count(*) FROM evaluations")
    script = Path(sys.executable).with_name("metabase")
    console = [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]

    rows = []
    for label, (name, params) in QUERIES.items():
        query = nq.get_query(name)
        bound = nq.bind(query, params)
        param_args = [a for k, v in params.items() for a in ("--param", f"{k}={v}")]

        def raw():
            con = duckdb.connect(str(store), read_only=True)
            try:
                return con.execute(query.sql, bound).fetchall()
            finally:
                con.close()

        named_args = [
            "--store",
            str(store),
            "sql",
            "--named",
            name,
            *param_args,
            "--format",
            "csv",
        ]
        # ad-hoc SQL binds what it is given, so NULL defaults are spelled out; "--" because the
        # query text starts with a comment
        adhoc_args = [
            "--store",
            str(store),
            "sql",
            "--format",
            "csv",
            *[
                a
                for k, v in bound.items()
                for a in ("--param", f"{k}={'NULL' if v is None else v}")
            ],
            "--",
            query.sql,
        ]

        def process():
            done = subprocess.run([*console, *named_args], capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            return done.returncode

        timed = _medians(
            {
                "raw": raw,
                "library": lambda: workspace.sql(named=name, params=params),
                "named": lambda: _cli(named_args),
                "adhoc": lambda: _cli(adhoc_args),
                "process": process,
            }
        )
        (raw_s, raw_rows), (lib_s, df) = timed["raw"], timed["library"]
        (named_s, rc1), (adhoc_s, rc2), (proc_s, _) = (
            timed["named"],
            timed["adhoc"],
            timed["process"],
        )
        assert rc1 == 0 and rc2 == 0
        assert len(df) == len(raw_rows) > 0

        rows.append(
            {
                "query": label,
                "named": name,
                "result_rows": len(raw_rows),
                "raw_duckdb_s": raw_s,
                "analyst_run_named_s": lib_s,
                "metabase_sql_named_s": named_s,
                "metabase_sql_adhoc_s": adhoc_s,
                "metabase_process_s": proc_s,
                "ratio_named_vs_raw": named_s / raw_s,
                "ratio_adhoc_vs_raw": adhoc_s / raw_s,
                "ratio_library_vs_raw": lib_s / raw_s,
            }
        )

    print(
        f"\nstore: {store} ({store.stat().st_size / 1e6:.0f} MB, {runs:,} runs, "
        f"{evaluations:,} evaluations; built in {build_s:.0f} s from {len(imported)} imports)"
    )
    header = (
        f"{'query':42} {'rows':>6} {'raw s':>7} {'lib s':>7} {'sql -n':>7} {'sql adhoc':>9} "
        f"{'process':>8} {'ratio':>6}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['query']:42} {r['result_rows']:>6} {r['raw_duckdb_s']:>7.3f} "
            f"{r['analyst_run_named_s']:>7.3f} "
            f"{r['metabase_sql_named_s']:>7.3f} {r['metabase_sql_adhoc_s']:>9.3f} "
            f"{r['metabase_process_s']:>8.2f} {r['ratio_named_vs_raw']:>6.2f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "store_mb": store.stat().st_size / 1e6,
                "runs": runs,
                "evaluations": evaluations,
                "imports": imported,
                "build_s": build_s,
                "repeats": REPEATS,
                "queries": rows,
            },
            indent=2,
        )
    )
    for r in rows:  # the CLI adds a reader open, a guard and CSV output around the same SQL
        assert r["ratio_named_vs_raw"] < 10
