"""Replay server throughput in scale mode: paging 1M synthetic evaluations.

Side by side in one run, against a server in a child process (so the client does not share its
interpreter lock): offset paging, as openml-python does (one filter, ever deeper offsets), and
id-range paging (``run/LOW..``, offset 0), as the gateway can. Both fetch the same rows.

Run: pytest -m benchmark tests/benchmarks/bench_replay.py -s
"""

from __future__ import annotations

import http.client
import json
import re
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.benchmark, pytest.mark.realdata]
N = 1_000_000
FIRST = 100_000_001
RESULTS = Path(__file__).parent / "results" / "replay.json"
RUN_ID = re.compile(rb"<oml:run_id>(\d+)</oml:run_id>")


def _pages(conn, calls):
    rows, last = 0, None
    for call in calls():
        conn.request("GET", call, headers={"Accept-Encoding": "gzip"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            break
        import gzip

        if resp.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        ids = RUN_ID.findall(body)
        rows += len(ids)
        last = int(ids[-1])
        yield rows, last


def test_bench_replay_paging(openml_data):
    from metabase.testing.replay import start_server_process

    base = "/api/v1/xml/evaluation/list/function/predictive_accuracy/uploader/999"
    with start_server_process(openml_data, scale=N) as h:
        results = {}
        conn = http.client.HTTPConnection(h.host, h.port, timeout=120)

        def by_offset():
            offset = 0
            while True:
                yield f"{base}/limit/1000/offset/{offset}"
                offset += 1000

        state = {"low": FIRST}

        def by_range():
            while True:
                yield f"{base}/run/{state['low']}../limit/1000/offset/0"

        for name, calls in (("offset paging", by_offset), ("id-range paging", by_range)):
            state["low"] = FIRST
            t = time.perf_counter()
            rows = 0
            for rows, last in _pages(conn, calls):
                state["low"] = last + 1
            dt = time.perf_counter() - t
            results[name] = {"rows": rows, "seconds": round(dt, 2), "rows_per_s": round(rows / dt)}
            assert rows == N
    ratio = results["id-range paging"]["rows_per_s"] / results["offset paging"]["rows_per_s"]
    print(f"\n{'paging':<18}{'rows':>10}{'seconds':>10}{'rows/s':>10}")
    for name, r in results.items():
        print(f"{name:<18}{r['rows']:>10}{r['seconds']:>10}{r['rows_per_s']:>10}")
    print(f"id-range / offset: {ratio:.2f}x")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"evaluations": N, "results": results, "ratio": ratio}, indent=2)
    )
