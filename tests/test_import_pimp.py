"""openml-pimp importer on the real random_forest.arff (slices and the whole file)."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metabase.settings import Settings
from metabase.store import open_reader
from metabase.workspace import Workspace

pytestmark = pytest.mark.realdata

PIMP = Path("openml-pimp/KDD2018/data")
DOCUMENTED_RUNS = 47_000  # README: 47,000 runs of flow 6969


def _ws(store: Path) -> Workspace:
    return Workspace(Settings.resolve(store=str(store)))


def _data_lines(arff: Path) -> tuple[list[str], list[str]]:
    """(header lines up to and including @DATA, data lines), by plain text splitting."""
    lines = arff.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().upper() == "@DATA")
    return lines[: at + 1], [
        line for line in lines[at + 1 :] if line.strip() and not line.startswith("%")
    ]


def pimp_slice(openml_data: Path, tmp: Path, n_tasks: int, with_qualities: bool = True) -> Path:
    """A copy of the export holding the rows of its first ``n_tasks`` tasks (same folder
    layout).
    """
    source = openml_data / PIMP / "arff" / "random_forest.arff"
    header, rows = _data_lines(source)
    keep, tasks = [], []
    for row in rows:
        task = row.rsplit(",", 1)[1]
        if task not in tasks:
            if len(tasks) == n_tasks:
                continue
            tasks.append(task)
        keep.append(row)
    target = tmp / "KDD2018" / "data" / "arff" / "random_forest.arff"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(header + keep) + "\n")
    if with_qualities:
        shutil.copy(
            openml_data / PIMP / "task_qualities.json",
            target.parent.parent / "task_qualities.json",
        )
    return target


def _counts(store: Path) -> dict[str, int]:
    with open_reader(store) as con:
        return {
            t: con.scalar(f"SELECT count(*) FROM {t}")
            for t in ("runs", "evaluations", "tasks", "flows", "task_qualities", "imports")
        }


def test_header_gives_flow_parameters_and_measures(openml_data, tmp_path):
    arff = pimp_slice(openml_data, tmp_path, n_tasks=2)
    meta = json.loads(arff.read_text().splitlines()[0].lstrip("% "))
    _, rows = _data_lines(arff)
    store = tmp_path / "s.duckdb"
    _ws(store).import_("openml-pimp", arff)
    with open_reader(store) as con:
        assert con.scalar("SELECT count(*) FROM runs") == len(rows)
        assert con.scalar("SELECT count(DISTINCT flow_id) FROM runs") == 1
        assert con.scalar("SELECT min(flow_id) FROM runs") == meta["flow_id"]
        assert con.scalar("SELECT count(*) FROM evaluations WHERE fold IS NULL") == len(
            rows
        ) * len(meta["col_measures"])
        measures = con.df("SELECT DISTINCT measure FROM evaluations")["measure"].tolist()
        assert measures == meta["col_measures"]
        # the accuracies are the file's, row for row (first row of the slice)
        first = rows[0].split(",")
        task = int(first[-1])
        value = con.scalar(
            "SELECT value FROM evaluations WHERE run_key = ?",
            [f"openml-pimp:{meta['flow_id']}:{task}:0"],
        )
        assert value == pytest.approx(float(first[-2]))
        assert (
            con.scalar("SELECT count(*) FROM runs WHERE config IS NULL OR config_hash IS NULL")
            == 0
        )
        assert con.scalar("SELECT count(DISTINCT status) FROM runs") == 1


def test_configs_are_typed(openml_data, tmp_path):
    arff = pimp_slice(openml_data, tmp_path, n_tasks=1, with_qualities=False)
    store = tmp_path / "s.duckdb"
    _ws(store).import_("openml-pimp", arff)
    with open_reader(store) as con:
        configs = [json.loads(c) for c in con.df("SELECT config FROM runs")["config"]]
    values = [v for config in configs for v in config.values()]
    # booleans, integers, floats and strings, not the ARFF's text tokens
    assert any(isinstance(v, bool) for v in values)
    assert any(isinstance(v, int) and not isinstance(v, bool) for v in values)
    assert any(isinstance(v, float) for v in values)
    assert not any(v in ("True", "False", "None") for v in values)


def test_task_qualities_from_json(openml_data, tmp_path):
    arff = pimp_slice(openml_data, tmp_path, n_tasks=1)
    raw = json.loads((openml_data / PIMP / "task_qualities.json").read_text())
    finite = sum(1 for q in raw.values() for v in q.values() if v is not None and math.isfinite(v))
    store = tmp_path / "s.duckdb"
    _ws(store).import_("openml-pimp", arff)
    with open_reader(store) as con:
        assert (
            con.scalar("SELECT count(*) FROM task_qualities WHERE source = 'openml-pimp'")
            == finite
        )
        assert con.scalar("SELECT count(DISTINCT task_id) FROM task_qualities") == len(raw)
        task, quality = next(
            (t, q) for t, qs in raw.items() for q, v in qs.items() if math.isfinite(v)
        )
        stored = con.scalar(
            "SELECT value FROM task_qualities WHERE task_id = ? AND quality = ?",
            [int(task), quality],
        )
        assert stored == pytest.approx(raw[task][quality])


def test_import_twice_keeps_counts(openml_data, tmp_path):
    arff = pimp_slice(openml_data, tmp_path, n_tasks=2)
    store = tmp_path / "s.duckdb"
    _ws(store).import_("openml-pimp", arff)
    first = _counts(store)
    _ws(store).import_("openml-pimp", arff)
    second = _counts(store)
    assert (
        first.pop("imports") == 1 and second.pop("imports") == 2
    )  # provenance: one row per import
    assert first == second


def test_whole_file_documented_counts(openml_data, tmp_path):
    arff = openml_data / PIMP / "arff" / "random_forest.arff"
    _, rows = _data_lines(arff)
    run_tasks = {row.rsplit(",", 1)[1] for row in rows}
    json_tasks = set(json.loads((openml_data / PIMP / "task_qualities.json").read_text()))
    store = tmp_path / "s.duckdb"
    started = time.perf_counter()
    _ws(store).import_("openml-pimp", arff)
    elapsed = time.perf_counter() - started
    with open_reader(store) as con:
        assert (
            con.scalar("SELECT count(*) FROM runs WHERE flow_id = 6969")
            == DOCUMENTED_RUNS
            == len(rows)
        )
        assert con.scalar("SELECT count(DISTINCT task_id) FROM runs") == len(run_tasks)
        # the OpenML100 tasks: those with runs plus those the qualities file describes
        assert con.scalar("SELECT count(*) FROM tasks") == len(run_tasks | json_tasks) == 100
        assert (
            con.scalar("SELECT count(*) FROM run_configs WHERE measure = 'predictive_accuracy'")
            == DOCUMENTED_RUNS
        )
    print(f"openml-pimp: {DOCUMENTED_RUNS} runs imported in {elapsed:.1f} s")


_KILL_SCRIPT = """
import sys, time
from metabase.store.writer import Writer

original = Writer.replace

def replace_then_hang(self, *args, **kwargs):
    n = original(self, *args, **kwargs)
    print("WROTE", flush=True)  # rows are in the open transaction; the parent kills us now
    time.sleep(120)
    return n

Writer.replace = replace_then_hang
from cli.main import main
main(["--store", sys.argv[1], "import", "openml-pimp", sys.argv[2]])
"""


def _fingerprint(store: Path) -> dict[str, tuple]:
    with open_reader(store) as con:
        return {
            t: tuple(
                con.execute(
                    "SELECT count(*), coalesce(md5(string_agg(CAST(x AS VARCHAR), '|' "
                    "ORDER BY CAST(x AS VARCHAR))), '') "
                    f"FROM {t} x"
                ).fetchone()
            )
            for t in con.tables()
        }


def test_sigkill_mid_import_leaves_store_as_before(openml_data, tmp_path):
    store = tmp_path / "s.duckdb"
    before_slice = pimp_slice(openml_data, tmp_path / "one", n_tasks=1)
    _ws(store).import_("openml-pimp", before_slice)
    before = _fingerprint(store)
    bigger = pimp_slice(openml_data, tmp_path / "three", n_tasks=3)
    child = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(store), str(bigger)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "WROTE", child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert _fingerprint(store) == before
