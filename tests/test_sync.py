"""``metabase sync`` against the replay server: the OpenML100 slice, incremental syncs, resume
after SIGKILL, injected faults and bad input.

Expected numbers are counted here from the source files (the openml-pimp ARFF, the qualities
CSV), never taken from the sync. The replay server's documented id rule (ids.py: ARFF row i is
run and setup 50,000,001 + i) links a stored setup back to its ARFF row.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from metabase.errors import OpenMLError
from metabase.openml import Gateway, RetryPolicy
from metabase.settings import Settings
from metabase.store import open_reader
from metabase.sync import SyncRequest
from metabase.workspace import Workspace

pytestmark = pytest.mark.realdata

PIMP_ARFF = "openml-pimp/KDD2018/data/arff/random_forest.arff"
FAST = RetryPolicy(attempts=8, base_delay_s=0.01, max_delay_s=0.2)
COMPARED = (
    "datasets",
    "dataset_qualities",
    "tasks",
    "task_inputs",
    "estimation_procedures",
    "flows",
    "setups",
    "runs",
    "evaluations",
)
SUBSET = dict(tasks=(3, 6, 11), flows=(6969,), max_runs=150)  # 450 runs: the kill tests' slice


def pimp_rows(openml_data: Path) -> tuple[list[str], list[list[str]]]:
    names, rows = [], []
    for line in (openml_data / PIMP_ARFF).read_text().splitlines():
        if line.upper().startswith("@ATTRIBUTE"):
            names.append(line.split()[1])
        elif line and not line.startswith(("@", "%")):
            rows.append(line.split(","))
    return names, rows


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of the compared tables, sorted (bookkeeping tables left out)."""
    con = open_reader(path)
    try:
        return {
            t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in COMPARED
        }
    finally:
        con.close()


def sync(store: Path, url: str, **request) -> object:
    settings = Settings(
        store_path=store,
        openml_server=url,
        apikey="sync-test-key",
        cache_dir=store.parent / "cache",
    )
    gateway = Gateway.from_settings(settings, policy=FAST)
    return Workspace(settings).sync(SyncRequest(**request), gateway=gateway)


def metabase_cmd() -> list[str]:
    script = Path(sys.executable).with_name("metabase")
    return (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from cli.main import main; main()"]
    )


def cli_sync(
    store: Path, url: str, *args: str, env: dict | None = None
) -> subprocess.CompletedProcess:
    command = metabase_cmd() + [
        "--store",
        str(store),
        "--openml-server",
        url,
        "sync",
        *args,
        "-f",
        "json",
    ]
    full_env = {**os.environ, "METABASE_OPENML_BACKOFF_S": "0.01", **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=300)


SUBSET_ARGS = ("--tasks", "3,6,11", "--flows", "6969", "--max-runs", "150")


@pytest.fixture(scope="module")
def replay_server(openml_data):
    """A replay server in its own process (module-wide): the sync and the server then use two
    cores instead of sharing one interpreter.
    """
    from metabase.testing.replay import start_server_process

    handle = start_server_process(openml_data)
    yield handle
    handle.stop()


# -- the OpenML100 slice ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_store(replay_server, tmp_path_factory):
    store = tmp_path_factory.mktemp("full") / "store.duckdb"
    result = sync(store, replay_server.url, suite="OpenML100", flows=(6969,))
    return store, result


def test_openml100_slice_matches_the_source_files(full_store, openml_data):
    store, result = full_store
    names, rows = pimp_rows(openml_data)
    task_col, acc_col = names.index("task_id"), names.index("predictive_accuracy")
    per_task = Counter(int(float(r[task_col])) for r in rows)
    assert len(rows) == 47_000  # README: 47,000 runs of flow 6969
    con = open_reader(store)
    try:
        assert con.scalar(
            "SELECT count(*) FROM runs WHERE flow_id = 6969 AND source = 'openml'"
        ) == len(rows)
        assert con.scalar("SELECT count(DISTINCT run_key) FROM runs") == len(rows)
        assert con.scalar(
            "SELECT count(*) FROM evaluations WHERE measure = 'predictive_accuracy' "
            'AND fold IS NULL AND "repeat" IS NULL'
        ) == len(rows)
        assert con.scalar("SELECT count(*) FROM setups WHERE flow_id = 6969") == len(rows)
        stored = dict(con.execute("SELECT task_id, count(*) FROM runs GROUP BY 1").fetchall())
        assert stored == dict(per_task)
        total = con.scalar("SELECT sum(value) FROM evaluations")
        assert total == pytest.approx(sum(float(r[acc_col]) for r in rows), rel=1e-9)
        assert con.scalar("SELECT count(*) FROM tasks") == 100  # OpenML100
        assert (
            con.scalar(
                "SELECT count(*) FROM tasks t LEFT JOIN datasets d USING (dataset_id) "
                "WHERE d.dataset_id IS NULL"
            )
            == 0
        )
        assert (
            con.scalar("SELECT count(*) FROM runs WHERE pipeline IS NULL OR config IS NULL") == 0
        )
        assert con.scalar("SELECT pipeline FROM flows WHERE flow_id = 6969") is not None
    finally:
        con.close()
    assert result.added["runs"] == len(rows) and result.added["evaluations"] == len(rows)


def test_setups_have_typed_values_of_their_arff_row(full_store, openml_data):
    store, _ = full_store
    names, rows = pimp_rows(openml_data)
    con = open_reader(store)
    try:
        for i in (0, 1, 23_456, 46_999):
            config = json.loads(
                con.scalar("SELECT config FROM setups WHERE setup_id = ?", [50_000_001 + i])
            )
            row = dict(zip(names, rows[i]))
            assert config["min_samples_leaf"] == int(
                row["randomforestclassifier__min_samples_leaf"]
            )
            assert config["max_features"] == pytest.approx(
                float(row["randomforestclassifier__max_features"])
            )
            assert config["criterion"] == row["randomforestclassifier__criterion"]
            assert config["bootstrap"] is (row["randomforestclassifier__bootstrap"] == "True")
            run = con.execute(
                "SELECT config, config_hash FROM runs WHERE run_key = ?",
                [f"openml:{50_000_001 + i}"],
            ).fetchone()
            assert json.loads(run[0]) == config and run[1]
    finally:
        con.close()


def test_qualities_come_from_the_qualities_export(full_store, openml_data):
    store, _ = full_store
    with open(openml_data / "qualities/openml_dataset_qualities_2872.csv", newline="") as f:
        export = {int(r["Id"]): r for r in csv.DictReader(f)}
    con = open_reader(store)
    try:
        stored = con.execute(
            "SELECT dataset_id, value FROM dataset_qualities WHERE quality = 'NumberOfInstances' "
            "AND source = 'openml'"
        ).fetchall()
    finally:
        con.close()
    checked = [
        (d, v)
        for d, v in stored
        if d in export and export[d]["NumberOfInstances"] not in ("", None)
    ]
    assert len(checked) >= 10
    for dataset_id, value in checked:
        assert value == pytest.approx(float(export[dataset_id]["NumberOfInstances"]))


def test_a_second_sync_fetches_only_what_is_new(full_store, replay_server, tmp_path):
    store, first = full_store
    copy = tmp_path / "again.duckdb"
    shutil.copy(store, copy)
    before = dump(copy)
    again = sync(copy, replay_server.url, suite="OpenML100", flows=(6969,))
    assert all(n == 0 for n in again.added.values()), again.added
    assert again.fetched["evaluations"] == 0 and again.fetched["setups"] == 0
    con = open_reader(copy)
    no_qualities = con.scalar(
        "SELECT count(*) FROM datasets WHERE dataset_id NOT IN "
        "(SELECT dataset_id FROM dataset_qualities)"
    )
    con.close()
    # one call per window (100 tasks), a few for the suite and the task list, and the datasets
    # that OpenML has no qualities for (asked again)
    assert again.calls <= 100 + 5 + no_qualities
    assert dump(copy) == before


def test_incremental_sync_adds_what_a_larger_sync_brings(replay_server, tmp_path):
    small, big = tmp_path / "small.duckdb", tmp_path / "big.duckdb"
    sync(small, replay_server.url, tasks=(3, 6), flows=(6969,), max_runs=100)
    more = sync(small, replay_server.url, tasks=(3, 6), flows=(6969,), max_runs=250)
    assert more.added["runs"] == 2 * 150 and more.fetched["evaluations"] == 2 * 150
    sync(big, replay_server.url, tasks=(3, 6), flows=(6969,), max_runs=250)
    assert dump(small) == dump(big)


# -- resume after SIGKILL ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_subset(replay_server, tmp_path_factory):
    store = tmp_path_factory.mktemp("clean") / "store.duckdb"
    sync(store, replay_server.url, **SUBSET)
    return dump(store)


CRASH_POINTS = [
    "metadata:1:before",
    "evaluations:1:after",
    "evaluations:2:before",
    "setups:2:after",
    "link:1:before",
    "finish:1:before",
]  # plus a kill at a random moment below


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_resume_after_sigkill_gives_a_clean_runs_rows(
    point, replay_server, clean_subset, tmp_path
):
    store = tmp_path / "store.duckdb"
    killed = cli_sync(
        store,
        replay_server.url,
        *SUBSET_ARGS,
        "--jobs",
        "1",
        "--commit-rows",
        "1",
        env={"METABASE_SYNC_CRASH_AT": point},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-500:]
    committed = 0
    if store.exists():
        partial = dump(store)
        committed = len(partial["evaluations"])
        if point.startswith("finish"):  # all data was in; the provenance row was not
            con = open_reader(store)
            assert con.scalar("SELECT count(*) FROM imports") == 0
            con.close()
        else:
            assert partial != clean_subset  # it really stopped part way
    rerun = cli_sync(store, replay_server.url, *SUBSET_ARGS)
    assert rerun.returncode == 0, rerun.stderr[-800:]
    assert dump(store) == clean_subset
    # the re-run asked only for what was not committed: no window was fetched again from the start
    assert json.loads(rerun.stdout)["fetched"]["evaluations"] == 450 - committed


def _alive_with(marker: str) -> list[int]:
    """Live processes whose environment carries ``marker`` (the sync and any child it started)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_list_worker_process_gives_the_same_rows_and_dies_with_a_killed_sync(
    replay_server, clean_subset, tmp_path
):
    marker = f"METABASE_TEST_MARK={os.getpid()}-{time.monotonic_ns()}"
    env = {"METABASE_SYNC_PROCESS": "1", marker.split("=")[0]: marker.split("=")[1]}
    whole = tmp_path / "whole.duckdb"
    done = cli_sync(whole, replay_server.url, *SUBSET_ARGS, env=env)
    assert done.returncode == 0, done.stderr[-800:]
    assert dump(whole) == clean_subset
    store = tmp_path / "store.duckdb"
    killed = cli_sync(
        store,
        replay_server.url,
        *SUBSET_ARGS,
        "--jobs",
        "1",
        "--commit-rows",
        "1",
        env={**env, "METABASE_SYNC_CRASH_AT": "setups:1:after"},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-500:]
    deadline = time.monotonic() + 10
    while _alive_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive_with(marker) == []  # the worker went with its parent
    rerun = cli_sync(store, replay_server.url, *SUBSET_ARGS, env=env)
    assert rerun.returncode == 0, rerun.stderr[-800:]
    assert dump(store) == clean_subset


def test_resume_after_a_kill_at_a_random_moment(replay_server, clean_subset, tmp_path):
    store = tmp_path / "store.duckdb"
    command = metabase_cmd() + [
        "--store",
        str(store),
        "--openml-server",
        replay_server.url,
        "sync",
        *SUBSET_ARGS,
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = cli_sync(store, replay_server.url, *SUBSET_ARGS)
    assert rerun.returncode == 0, rerun.stderr[-800:]
    assert dump(store) == clean_subset


def _bulk_pages(server) -> dict[str, int]:
    """List pages the server answered, by path; the id-range capability probe (one row, asked
    by every sync) left out: a re-run must ask again which tasks and flows it syncs.
    """
    return {
        path: n
        for path, n in server.server.served.items()
        if ("/evaluation/list/" in path or "/setup/list/" in path)
        and "/run/1..1/limit/1/" not in path
    }


@pytest.mark.parametrize("point", ["evaluations:1:before", "setups:1:before"])
def test_a_killed_sync_fetches_no_received_page_again(point, replay_factory, tmp_path):
    """With the default commit groups (several pages per transaction: here all three windows'
    pages) a kill loses no page that had arrived: the re-run takes them from the spool beside
    the store. One request at a time (``--jobs 1``), so no answer is on its way at the kill.
    """
    server = replay_factory()
    clean = tmp_path / "clean.duckdb"
    assert cli_sync(clean, server.url, *SUBSET_ARGS).returncode == 0
    expected, pages = dump(clean), _bulk_pages(server)
    assert len(pages) >= 4 and max(pages.values()) == 1
    server.server.served.clear()

    store = tmp_path / "store.duckdb"
    killed = cli_sync(
        store, server.url, *SUBSET_ARGS, "--jobs", "1", env={"METABASE_SYNC_CRASH_AT": point}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-500:]
    spool = tmp_path / "store.duckdb.sync-spool"
    assert len(list(spool.rglob("seg-*.pages"))) >= 1
    rerun = cli_sync(store, server.url, *SUBSET_ARGS)
    assert rerun.returncode == 0, rerun.stderr[-800:]
    assert dump(store) == expected
    assert _bulk_pages(server) == pages  # every page once over both runs: none fetched twice
    assert json.loads(rerun.stdout)["fetched"]["spooled_pages"] >= 2  # the group had several pages
    assert not spool.exists()  # a finished sync leaves no spool behind


# -- faults --------------------------------------------------------------------------------------
def test_injected_faults_give_identical_contents(replay_server, replay_factory, tmp_path):
    request = dict(tasks=(3, 6, 11, 12, 14, 15, 16, 18, 20, 22), flows=(6969,), max_runs=100)
    clean = tmp_path / "clean.duckdb"
    sync(clean, replay_server.url, **request)
    faulty = replay_factory(
        faults="5xx=0.1,429=0.05,retry_after=1,truncate=0.02,reset=0.02,seed=7"
    )
    store = tmp_path / "faulty.duckdb"
    result = sync(store, faulty.url, **request)
    assert result.retries > 0
    assert dump(store) == dump(clean)


# -- a server that caps pages below the page size asked for, and answers that are not the list ----
WHOLE = dict(
    tasks=(3, 6), flows=(6969,)
)  # 1,000 runs: each window ends on its own, not at --max-runs


@pytest.fixture(scope="module")
def uncapped(replay_server, tmp_path_factory):
    store = tmp_path_factory.mktemp("uncapped") / "store.duckdb"
    sync(store, replay_server.url, **WHOLE)
    return dump(store)


@pytest.mark.parametrize("cap", [7, 999])
def test_a_server_cap_below_the_page_size_gives_every_row(
    cap, uncapped, replay_factory, openml_data, tmp_path
):
    names, rows = pimp_rows(openml_data)
    task_col = names.index("task_id")
    expected = sum(1 for r in rows if int(float(r[task_col])) in WHOLE["tasks"])
    server = replay_factory(faults=f"cap={cap}")
    store = tmp_path / "store.duckdb"
    result = sync(store, server.url, **WHOLE)
    assert (
        result.added["runs"] == result.added["setups"] == result.added["evaluations"] == expected
    )
    assert len(uncapped["runs"]) == expected
    assert dump(store) == uncapped


def test_html_pages_answered_with_status_200_are_retried_never_an_empty_list(
    uncapped, replay_factory, tmp_path
):
    """Three answers in ten are a maintenance page: the sync gives every row (after retries) or
    fails; it never succeeds with fewer rows.
    """
    server = replay_factory(faults="html=0.3,seed=5")
    store = tmp_path / "store.duckdb"
    try:
        result = sync(store, server.url, **WHOLE)
    except OpenMLError as exc:
        assert "not OpenML's XML" in str(exc) or "list asked for" in str(exc)
    else:
        assert result.retries > 0
        assert dump(store) == uncapped


def test_a_server_that_only_answers_html_fails_the_sync_in_one_line(
    replay_factory, tmp_path, capsys, monkeypatch
):
    from cli.main import main

    monkeypatch.setenv("METABASE_OPENML_RETRIES", "3")
    monkeypatch.setenv("METABASE_OPENML_BACKOFF_S", "0.01")
    server = replay_factory(faults="html=1.0,match=setup/list")
    store = tmp_path / "store.duckdb"
    rc = main(
        [
            "--store",
            str(store),
            "--openml-server",
            server.url,
            "sync",
            "--tasks",
            "3",
            "--flows",
            "6969",
            "--max-runs",
            "20",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "\n" not in err
    assert "after 3 attempts (not the <oml:setups> list asked for (<html> instead))" in err
    con = open_reader(store)
    try:
        assert con.scalar("SELECT count(*) FROM setups") == 0
        assert con.scalar("SELECT count(*) FROM imports") == 0  # not recorded as a finished sync
    finally:
        con.close()


class _Tampering:
    """Damages evaluation pages as they arrive, before they are parsed: a non-numeric value,
    ``inf`` and ``NaN``, a negative run id, and one row twice.
    """

    def __init__(self, client) -> None:
        self.client = client

    def __getattr__(self, name):
        return getattr(self.client, name)

    def request(self, call, consume, **kwargs):
        if "evaluation/list" in call and "/run/1..1/" not in call:
            return self.client.request(
                call, lambda body, url: consume(self.damage(body), url), **kwargs
            )
        return self.client.request(call, consume, **kwargs)

    @staticmethod
    def damage(body: bytes) -> bytes:
        import re

        head, *rows = body.decode().split("<oml:evaluation>")
        rows[-1], tail = rows[-1].split("</oml:evaluations>")
        rows = ["<oml:evaluation>" + r for r in rows]
        for i, text in ((1, "abc0.96"), (2, "inf"), (3, "NaN")):
            rows[i] = re.sub(r"<oml:value>[^<]*<", f"<oml:value>{text}<", rows[i])
        rows[4] = re.sub(r"<oml:run_id>(\d+)<", r"<oml:run_id>-\1<", rows[4])
        rows.insert(6, rows[5])
        return (head + "".join(rows) + "</oml:evaluations>" + tail).encode()


def test_malformed_evaluation_rows_are_counted_and_never_stored(replay_server, tmp_path, caplog):
    request = dict(tasks=(3,), flows=(6969,), max_runs=20)
    clean = tmp_path / "clean.duckdb"
    sync(clean, replay_server.url, **request)
    expected = dump(clean)
    settings = Settings(
        store_path=tmp_path / "store.duckdb",
        openml_server=replay_server.url,
        apikey="sync-test-key",
        cache_dir=tmp_path / "cache",
    )
    gateway = Gateway.from_settings(settings, policy=FAST)
    gateway._client = _Tampering(gateway.client)
    with caplog.at_level("WARNING", logger="metabase.sync.engine"):
        result = Workspace(settings).sync(SyncRequest(**request), gateway=gateway)
    got = dump(settings.store_path)
    clean_runs = sorted(
        r[0] for r in expected["runs"]
    )  # run keys in id order, as the page lists them
    negative = clean_runs[4]
    assert sorted(r[0] for r in got["runs"]) == [k for k in clean_runs if k != negative]
    assert set(got["evaluations"]) < set(expected["evaluations"])  # only clean values, none twice
    assert (
        len(got["evaluations"]) == len(expected["evaluations"]) - 4 == len(set(got["evaluations"]))
    )
    assert {r[0] for r in expected["evaluations"]} - {r[0] for r in got["evaluations"]} == set(
        clean_runs[1:5]
    )
    assert result.extra["skipped_rows"] == {
        "value not a finite number": 3,
        "bad id": 1,
        "repeated evaluation": 1,
    }
    assert "skipped 5 evaluation rows OpenML sent malformed" in caplog.text


# -- bad input -----------------------------------------------------------------------------------
@pytest.fixture
def populated(replay_server, tmp_path):
    store = tmp_path / "store.duckdb"
    sync(store, replay_server.url, tasks=(3,), flows=(6969,), max_runs=20)
    return store


@pytest.mark.parametrize(
    "args,expected",
    [
        (("--tasks", "999999999"), "unknown task id(s) on OpenML: 999999999"),
        (("--tasks", "3", "--flows", "99999999"), "unknown flow id(s) on OpenML: 99999999"),
        (("--suite", "no-such-suite"), "unknown study or suite 'no-such-suite'"),
        (
            ("--tasks", "3", "--measures", "bogus_measure"),
            "unknown evaluation measure(s) on OpenML: bogus_measure",
        ),
        (
            ("--tasks", "3", "--measures", "predictive_acuracy"),
            "(did you mean predictive_accuracy?)",
        ),
    ],
)
def test_unknown_ids_fail_in_one_line_and_leave_the_store(
    populated, replay_server, capsys, args, expected
):
    from cli.main import main

    before = dump(populated)
    rc = main(["--store", str(populated), "--openml-server", replay_server.url, "sync", *args])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.startswith("error: ") and expected in err and "\n" not in err
    assert dump(populated) == before


def test_unreachable_server_fails_in_one_line(populated, capsys, monkeypatch):
    from cli.main import main

    monkeypatch.setenv("METABASE_OPENML_BACKOFF_S", "0.01")
    before = dump(populated)
    t0 = time.perf_counter()
    rc = main(
        [
            "--store",
            str(populated),
            "--openml-server",
            "http://127.0.0.1:9/api/v1/xml",
            "sync",
            "--tasks",
            "3",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "cannot reach OpenML" in err and "\n" not in err
    assert time.perf_counter() - t0 < 15
    assert dump(populated) == before


def test_malformed_pages_are_retried_then_fail_with_the_page_url(
    replay_factory, tmp_path, capsys, monkeypatch
):
    from cli.main import main

    monkeypatch.setenv("METABASE_OPENML_RETRIES", "3")
    monkeypatch.setenv("METABASE_OPENML_BACKOFF_S", "0.01")
    server = replay_factory(faults="malformed=1.0,match=evaluation/list")
    store = tmp_path / "store.duckdb"
    rc = main(
        [
            "--store",
            str(store),
            "--openml-server",
            server.url,
            "--apikey",
            "SECRETKEY123",
            "sync",
            "--tasks",
            "3",
            "--flows",
            "6969",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "\n" not in err
    assert "after 3 attempts" in err and "malformed" in err
    assert f"{server.url}/evaluation/list/function/predictive_accuracy/flow/6969/task/3" in err
    assert "SECRETKEY123" not in err
    assert dump(store)["runs"] == []  # nothing of the failed list was written


def test_dry_run_prints_the_plan_and_writes_nothing(replay_server, tmp_path, capsys):
    from cli.main import main

    store = tmp_path / "store.duckdb"
    rc = main(
        [
            "--store",
            str(store),
            "--openml-server",
            replay_server.url,
            "sync",
            "--suite",
            "14",
            "--flows",
            "6969",
            "--dry-run",
            "-f",
            "json",
        ]
    )
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert rc == 0 and not store.exists()
    assert plan["tasks"] == 100 and plan["windows"] == 100 and plan["estimated_calls"] >= 100
