"""Benchmark: the full LCDB import against DuckDB's own ``read_csv`` of the same four files.

Both sides run in a fresh subprocess, one after the other in this one run, on the same machine:

- metabase: ``metabase --store S import lcdb .../lcdb/lcdb`` (pyarrow streaming CSV -> Arrow
  batches -> one transaction, plus ``datasets.csv`` qualities and provenance);
- peer: ``CREATE TABLE t AS SELECT * FROM read_csv([four files])`` into a bare DuckDB file.

Each side's peak memory is the child's ``ru_maxrss`` (``RUSAGE_CHILDREN`` read by a wrapper
process that runs only that child). Run with:

    pytest -m benchmark tests/benchmarks/bench_import.py -s
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

RESULTS = Path(__file__).parent / "results" / "import.json"
CURVES = [
    "database-accuracy.csv.gz",
    "database-logloss.csv.gz",
    "database-auc.csv.gz",
    "database-f1.csv.gz",
]
ROWS = 2 * 1_953_371 + 2 * 1_151_985  # documented in openml-data/README.md

# Runs one command as its only child and reports wall time and the child's peak RSS.
_WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": done.returncode, "wall_s": wall, "peak_mb": peak_kb / 1024,
                  "stderr": done.stderr[-2000:], "stdout": done.stdout[-2000:]}))
"""

_PEER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
files = sys.argv[2:]
con.execute("CREATE TABLE curves AS SELECT * FROM read_csv(?)", [files])
print(con.execute("SELECT count(*) FROM curves").fetchone()[0])
"""


def _measure(cmd: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    assert result["rc"] == 0, result["stderr"]
    return result


def _count(store: Path) -> int:
    from metabase.store import open_reader

    with open_reader(store) as con:
        return con.scalar("SELECT count(*) FROM learning_curves")


@pytest.mark.benchmark
@pytest.mark.realdata
def test_lcdb_import_against_duckdb_read_csv(tmp_path, openml_data):
    LCDB = openml_data / "lcdb" / "lcdb"
    metabase = Path(sys.executable).with_name("metabase")
    cli = [str(metabase)] if metabase.exists() else [sys.executable, "-m", "cli.main"]
    ours = _measure(
        [*cli, "--store", str(tmp_path / "metabase.duckdb"), "import", "lcdb", str(LCDB)]
    )
    assert _count(tmp_path / "metabase.duckdb") == ROWS

    peer = _measure(
        [
            sys.executable,
            "-c",
            _PEER,
            str(tmp_path / "peer.duckdb"),
            *(str(LCDB / f) for f in CURVES),
        ]
    )
    assert int(peer["stdout"].split()[-1]) == ROWS

    table = {
        "rows": ROWS,
        "metabase_import_lcdb": {
            "wall_s": ours["wall_s"],
            "rows_per_s": ROWS / ours["wall_s"],
            "peak_mb": ours["peak_mb"],
        },
        "duckdb_read_csv": {
            "wall_s": peer["wall_s"],
            "rows_per_s": ROWS / peer["wall_s"],
            "peak_mb": peer["peak_mb"],
        },
        "time_ratio": ours["wall_s"] / peer["wall_s"],
        "memory_ratio": ours["peak_mb"] / peer["peak_mb"],
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print()
    print(
        f"{'LCDB, ' + format(ROWS, ',') + ' rows':<34}{'wall s':>9}{'rows/s':>13}{'peak MB':>10}"
    )
    for name, key in (
        ("metabase import lcdb", "metabase_import_lcdb"),
        ("duckdb read_csv (peer)", "duckdb_read_csv"),
    ):
        r = table[key]
        print(f"{name:<34}{r['wall_s']:>9.1f}{r['rows_per_s']:>13,.0f}{r['peak_mb']:>10.0f}")
    print(
        f"{'ratio metabase / duckdb':<34}{table['time_ratio']:>9.2f}{'':>13}"
        f"{table['memory_ratio']:>10.2f}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(table, indent=2))
