"""Benchmark: ``metabase sync`` (the paged lister) against openml-python's list functions,
fetching the same synthetic evaluations from one replay server in scale mode.

The server (its own process) serves N synthetic runs, each with one ``predictive_accuracy``
evaluation and its own setup, on the openml-pimp tasks, with 10 synthetic flows (scale.py). All
three clients ask for the evaluations of those 10 flows:

- ``metabase sync --tasks <the tasks> --flows <the 10 flows>`` (a subprocess, so its peak memory is
  its own): evaluations, runs AND setups with typed configs, written to a fresh DuckDB store;
- ``openml.evaluations.list_evaluations`` (evaluations only, as a DataFrame);
- ``openml.evaluations.list_evaluations_setups`` (evaluations and setups) on the same 1M
  evaluations. It fetches setups 100 per call, one call at a time, and appends each chunk to a
  growing DataFrame (``pd.concat`` in a loop, quadratic in the number of chunks), so it takes
  several minutes; ``BENCH_SYNC_SETUPS_FRACTION=10`` runs it on every 10th task instead, with
  ``metabase sync`` on that slice too (a fresh store), for a quick like-for-like look.

Besides rows/s, it records where the time goes: the sync's phases, the CPU seconds of the sync
process and of the server process (both on the same 2 cores), and the sync's peak memory.

openml-python 0.15 asks for 10,000 rows per page and stops at the first short page, so against the
live server's 1,000-row cap it silently returns only the first page. The server here therefore
caps pages at 10,000 (``cap=10000``): the peer gets its natural page size, metabase keeps 1,000.

Run with (N defaults to 1,000,000; BENCH_SYNC_N=200000 for a quick look):

    pytest -m benchmark tests/benchmarks/bench_sync.py -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

N = int(os.environ.get("BENCH_SYNC_N", 1_000_000))
SETUPS_FRACTION = int(os.environ.get("BENCH_SYNC_SETUPS_FRACTION", 1))
RESULTS = Path(__file__).parent / "results" / "sync.json"
FLOWS = list(range(90_000_001, 90_000_011))  # scale.py: the 10 synthetic flows


def _pimp_tasks(openml_data: Path) -> list[int]:
    text = (openml_data / "openml-pimp/KDD2018/data/arff/random_forest.arff").read_text()
    rows = [line for line in text.splitlines() if line and not line.startswith(("@", "%"))]
    return sorted({int(float(r.rsplit(",", 1)[1])) for r in rows})


def _openml_configured(url: str, cache: Path):
    import openml

    openml.config.server = url
    openml.config.apikey = "bench"
    openml.config.set_root_cache_directory(str(cache))
    return openml


def _cpu_s(pid: int) -> float:
    """User+system CPU seconds of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _vm_hwm_kb(pid: int) -> int:
    """A live process's peak resident memory so far, in kB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _sync(server, store: Path, tasks: list[int]) -> dict:
    """``metabase sync`` in a subprocess: its summary, wall time, CPU (``wait4``) and peak memory.

    The peak is the child's own ``VmHWM`` (read until it exits), not ``ru_maxrss``: Linux starts a
    child's ``ru_maxrss`` at its parent's high-water mark when it execs, so a sync started after
    openml-python's peers had grown this process reported their 2.4 GB.
    """
    script = Path(sys.executable).with_name("metabase")
    cmd = [
        str(script),
        "--store",
        str(store),
        "--openml-server",
        server.url,
        "sync",
        "--tasks",
        ",".join(map(str, tasks)),
        "--flows",
        ",".join(map(str, FLOWS)),
        "-f",
        "json",
    ]
    out, err = store.with_suffix(".out"), store.with_suffix(".err")
    server_cpu = _cpu_s(server.proc.pid)
    t0 = time.perf_counter()
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, text=True)
        peak_kb = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, err.read_text()[-2000:]
    summary = json.loads(out.read_text())
    return {
        "summary": summary,
        "wall": wall,
        "peak_mb": peak_kb / 1024,
        "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "server_cpu_s": round(_cpu_s(server.proc.pid) - server_cpu, 1),
    }


def _python_speed() -> float:
    """Seconds for a fixed pure-Python loop: this machine's speed drifts by more than half from
    one minute to the next (shared host), so each measurement records it.
    """
    t0 = time.perf_counter()
    x = 0
    for i in range(5_000_000):
        x += i
    return round(time.perf_counter() - t0, 3)


@pytest.mark.benchmark
def test_sync_vs_openml_python(openml_data, tmp_path):
    from metabase.testing.replay import start_server_process

    tasks = _pimp_tasks(openml_data)
    part = tasks[::SETUPS_FRACTION]
    server = start_server_process(openml_data, faults="cap=10000", scale=N)
    peers, runs, speed = [], [], {}

    def sync_all(name: str) -> None:
        speed[f"before sync {name}"] = _python_speed()
        run = _sync(server, tmp_path / f"bench-{name}.duckdb", tasks)
        assert (
            run["summary"]["fetched"]["evaluations"] == N
            and run["summary"]["fetched"]["setups"] == N
        )
        runs.append(run)

    try:
        # the sync runs before, between and after the peers (the machine's speed drifts; the
        # median of the three is compared)
        sync_all("1")

        # -- openml-python: list_evaluations -----------------------------------------------------
        openml = _openml_configured(server.url, tmp_path / "openml-cache")
        speed["before list_evaluations"] = _python_speed()
        server_cpu = _cpu_s(server.proc.pid)
        t0 = time.perf_counter()
        frame = openml.evaluations.list_evaluations(
            "predictive_accuracy", flows=FLOWS, size=None, output_format="dataframe"
        )
        took = time.perf_counter() - t0
        assert len(frame) == N
        peers.append(
            {
                "client": "openml-python list_evaluations",
                "rows": len(frame),
                "seconds": took,
                "rows_per_s": len(frame) / took,
                "server_cpu_s": round(_cpu_s(server.proc.pid) - server_cpu, 1),
            }
        )
        del frame
        sync_all("2")

        # -- openml-python list_evaluations_setups (and metabase sync on the same tasks) ----------
        speed["before list_evaluations_setups"] = _python_speed()
        server_cpu = _cpu_s(server.proc.pid)
        t0 = time.perf_counter()
        frame = openml.evaluations.list_evaluations_setups(
            "predictive_accuracy",
            flows=FLOWS,
            tasks=None if part == tasks else part,
            output_format="dataframe",
        )
        took = time.perf_counter() - t0
        assert len(frame) > 0 and frame["parameters"].notna().all()
        peers.append(
            {
                "client": (
                    f"openml-python list_evaluations_setups ({len(part)} of {len(tasks)} tasks)"
                ),
                "rows": len(frame),
                "seconds": took,
                "rows_per_s": len(frame) / took,
                "server_cpu_s": round(_cpu_s(server.proc.pid) - server_cpu, 1),
            }
        )
        del frame
        speed["after list_evaluations_setups"] = _python_speed()
        sync_all("3")
        peer = peers[-1]
        if part != tasks:
            sliced = _sync(server, tmp_path / "slice.duckdb", part)
            rows = sliced["summary"]["fetched"]["evaluations"]
            assert rows == peer["rows"]  # the same evaluations
            peers.append(
                {
                    "client": f"metabase sync ({len(part)} of {len(tasks)} tasks, same slice)",
                    "rows": rows,
                    "seconds": sliced["wall"],
                    "rows_per_s": rows / sliced["wall"],
                    "phase_seconds": sliced["summary"].get("phase_seconds", {}),
                    "client_cpu_s": sliced["client_cpu_s"],
                    "server_cpu_s": sliced["server_cpu_s"],
                }
            )
        else:
            assert peer["rows"] == N  # the very evaluations the sync fetched
    finally:
        server.stop()

    run = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]  # the median sync
    summary, wall = run["summary"], run["wall"]
    phases = summary.get("phase_seconds", {})
    results = [
        {
            "client": "metabase sync (evaluations+runs+setups -> DuckDB)",
            "rows": N,
            "seconds": wall,
            "rows_per_s": N / wall,
            "calls": summary["calls"],
            "peak_rss_mb": round(max(r["peak_mb"] for r in runs), 1),
            "phase_seconds": phases,
            "client_cpu_s": run["client_cpu_s"],
            "server_cpu_s": run["server_cpu_s"],
            "all_walls_s": [round(r["wall"], 1) for r in runs],
        }
    ]
    if phases.get("evaluations"):
        results.append(
            {
                "client": "metabase sync, evaluations phase alone",
                "rows": N,
                "seconds": phases["evaluations"],
                "rows_per_s": N / phases["evaluations"],
            }
        )
    results += peers
    ours = results[0]["rows_per_s"]
    mine = results[0] if part == tasks else results[-1]  # metabase sync on the peer's evaluations
    like_for_like = round(mine["rows_per_s"] / peer["rows_per_s"], 2)
    for r in results:
        r["ratio_metabase_over_this"] = round(ours / r["rows_per_s"], 2)
        r["seconds"] = round(r["seconds"], 2)
        r["rows_per_s"] = round(r["rows_per_s"], 1)
    print(f"\nsync benchmark: {N:,} synthetic evaluations from the replay server (scale mode)")
    print(f"{'client':<62} {'rows':>9} {'s':>8} {'rows/s':>10} {'x':>7}")
    for r in results:
        print(
            f"{r['client']:<62} {r['rows']:>9,} {r['seconds']:>8.1f} {r['rows_per_s']:>10,.0f} "
            f"{r['ratio_metabase_over_this']:>7.2f}"
        )
    print(
        f"same evaluations ({len(part)} of {len(tasks)} tasks), metabase sync over "
        f"list_evaluations_setups: {like_for_like:.2f}x"
    )
    first = results[0]
    print(
        f"metabase sync: walls {first['all_walls_s']} s (median compared); peak memory "
        f"{first['peak_rss_mb']:.0f} MB; calls: {first['calls']}; "
        f"phases (s): {first['phase_seconds']}; "
        f"CPU s: sync {first['client_cpu_s']}, server {first['server_cpu_s']}"
    )
    print(f"python loop seconds (machine speed): {speed}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "n": N,
                "results": results,
                "python_speed_s": speed,
                "ratio_sync_over_list_evaluations_setups": like_for_like,
            },
            indent=2,
        )
    )


@pytest.mark.benchmark
def test_client_parse_throughput_without_the_server(openml_data):
    """The client's own parse rate, server work excluded: pages rendered once in-process, then
    parsed by the columnar parser and by the element-per-row parser (its fallback).
    """
    from metabase.openml.fastparse import FastPageParser
    from metabase.openml.listparse import SPECS, PageParser
    from metabase.sync.records import setups_table
    from metabase.testing.replay import routes
    from metabase.testing.replay.faults import Faults
    from metabase.testing.replay.server import ReplayServer

    server = ReplayServer(openml_data, Faults.parse(None), 100_000)

    def body(call: str) -> bytes:
        out = routes.api_get(server, call.split("/")).body
        return out if isinstance(out, bytes) else out.encode()

    pages = {
        "evaluation": [
            body(
                "evaluation/list/function/predictive_accuracy/uploader/999/run/"
                f"{100_000_001 + 1000 * j}.."
                "/limit/1000/offset/0"
            )
            for j in range(20)
        ],
        "setup": [
            body(
                f"setup/list/setup/{200_000_001 + 1000 * j}..{200_000_001 + 1000 * j + 999}"
                "/limit/1000/offset/0"
            )
            for j in range(20)
        ],
    }
    results = {}
    for entity, bodies in pages.items():
        for name, parser_class in (("columnar", FastPageParser), ("element-per-row", PageParser)):
            t0 = time.perf_counter()
            rows = 0
            for b in bodies:
                parser = parser_class(SPECS[entity])
                for i in range(0, len(b), 1 << 16):
                    parser.feed(b[i : i + (1 << 16)])
                rows += parser.close().num_rows
            took = time.perf_counter() - t0
            results[f"{entity} pages, {name} parser"] = {
                "rows": rows,
                "seconds": round(took, 3),
                "rows_per_s": round(rows / took),
            }
    batches = [FastPageParser(SPECS["setup"]) for _ in pages["setup"]]
    for parser, b in zip(batches, pages["setup"]):
        parser.feed(b)
    parsed = [p.close() for p in batches]
    setups_table(parsed[0].slice(0, 1), {})  # imports the pipeline catalogue outside the timing
    t0 = time.perf_counter()
    rows = sum(setups_table(b, {})[0].num_rows for b in parsed)
    took = time.perf_counter() - t0
    results["setup records (typed config + hash)"] = {
        "rows": rows,
        "seconds": round(took, 3),
        "rows_per_s": round(rows / took),
    }
    print(f"\n{'client work, no server':<48} {'rows':>8} {'rows/s':>10}")
    for name, r in results.items():
        print(f"{name:<48} {r['rows']:>8,} {r['rows_per_s']:>10,}")
    ratio = {
        e: results[f"{e} pages, columnar parser"]["rows_per_s"]
        / results[f"{e} pages, element-per-row parser"]["rows_per_s"]
        for e in pages
    }
    print("columnar / element-per-row: " + ", ".join(f"{e} {x:.1f}x" for e, x in ratio.items()))
    assert all(x > 1 for x in ratio.values())
    (RESULTS.parent / "sync_parse.json").write_text(
        json.dumps({"results": results, "ratio": ratio}, indent=2)
    )
