"""``metabase sql`` stays inside the store: no extension installs, no URLs, no files unless
``--allow-files`` opens a folder, no table functions with side effects, and cell text shown
literally (a dataset name on OpenML is anyone's to choose).

The expected values come from the store built here; whether DuckDB would install an extension is
checked by running the probes with ``HOME`` pointing at an empty folder, where DuckDB keeps
``~/.duckdb/extensions``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cli.main import main
from metabase.errors import StoreError
from metabase.store import open_reader, open_writer

HOSTILE = {
    1: "[/oops]",
    2: "[link=https://evil.example]click[/link]",
    3: "\x1b[31mred\x1b[0m\x07",
    4: "[bold]loud[/bold] :smile:",
    5: "plain",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("confined") / "store.duckdb"
    w = open_writer(path)
    w.upsert(
        "datasets",
        pd.DataFrame({"dataset_id": list(HOSTILE), "name": list(HOSTILE.values()), "source": "t"}),
    )
    w.upsert(
        "tasks", pd.DataFrame({"task_id": [101, 102, 103], "dataset_id": [1, 2, 3], "source": "t"})
    )
    w.upsert("flows", pd.DataFrame({"flow_id": [5], "name": ["[/flow]"], "source": "t"}))
    w.close()
    return {"path": path}


def sql(capsys, store, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["--store", str(store["path"]), "sql", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def sql_json(capsys, store, *args) -> pd.DataFrame:
    rc, out, err = sql(capsys, store, *args, "--format", "json")
    assert rc == 0, err
    return pd.DataFrame(json.loads(out))


# -- the reader connection ------------------------------------------------------------------------
SETTINGS = (
    "SELECT current_setting('autoinstall_known_extensions'), "
    "current_setting('autoload_known_extensions'), current_setting('enable_external_access'), "
    "current_setting('lock_configuration'), current_setting('allowed_directories'), "
    "current_setting('temp_directory')"
)


def test_reader_connection_installs_nothing_and_reaches_nothing(store):
    con = open_reader(store["path"])
    try:
        install, load, external, locked, allowed, temp = con.execute(SETTINGS).fetchone()
        assert (install, load, external, locked) == (False, False, False, True)
        assert set(allowed) <= {temp.rstrip("/") + "/"}  # DuckDB's own spill folder at most
        with pytest.raises(duckdb.Error):  # the settings are locked: no query can undo them
            con.con.execute("SET enable_external_access = true")
    finally:
        con.close()


def test_reader_with_allowed_folders_reads_those_only(store, tmp_path):
    con = open_reader(store["path"], allow_files=[tmp_path / "a" / ".."])
    try:
        *_, external, locked, allowed, temp = con.execute(SETTINGS).fetchone()
        assert (external, locked) == (False, True)
        assert set(allowed) - {temp.rstrip("/") + "/"} == {str(tmp_path.resolve()) + "/"}
        with pytest.raises(StoreError):  # the same process cannot read it with other folders
            open_reader(store["path"])
    finally:
        con.close()
    open_reader(store["path"]).close()  # once that reader is closed it can


NO_EXTENSION_PROBES = r"""
import json, sys
from cli.main import main
store, lite, folder = sys.argv[1:4]
probes = [
    [store, "SELECT * FROM 'https://example.com/x.csv'"],
    [store, "--allow-files", folder, "SELECT * FROM read_csv('http://example.com/x.csv')"],
    [store, "--allow-files", folder, "SELECT * FROM 'https://example.com/x.parquet'"],
    [store, "--allow-files", folder, "SELECT * FROM read_json('s3://bucket/x.json')"],
    [lite, "SELECT 1"],
]
print(json.dumps([main(["--store", p[0], "sql", *p[1:]]) for p in probes]))
"""


def test_no_extension_is_installed_or_downloaded(store, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    lite = tmp_path / "lite.db"
    with sqlite3.connect(lite) as db:  # a SQLite file given as the store
        db.execute("CREATE TABLE t (x)")
    env = {**os.environ, "HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-c", NO_EXTENSION_PROBES, str(store["path"]), str(lite), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [1] * 5
    assert not (home / ".duckdb").exists()  # where DuckDB would install httpfs or sqlite
    assert "not a DuckDB database" in proc.stderr.splitlines()[-1]


# -- table functions ------------------------------------------------------------------------------
SIDE_EFFECTS = [
    "SELECT * FROM enable_logging()",
    "SELECT * FROM enable_profiling()",
    "SELECT * FROM checkpoint()",
    "SELECT * FROM force_checkpoint()",
    "SELECT * FROM truncate_duckdb_logs()",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM json_execute_serialized_sql('{{}}')",
    'SELECT * FROM "system".main.enable_logging()',
    "SELECT * FROM range(2), LATERAL (SELECT * FROM disable_logging())",
    "WITH x AS (SELECT * FROM enable_profiling()) SELECT 1",
    "SELECT (SELECT count(*) FROM checkpoint())",
    "DESCRIBE SELECT * FROM enable_logging()",
    "SUMMARIZE (SELECT * FROM checkpoint())",
    "EXPLAIN ANALYZE SELECT * FROM enable_logging()",
    "SELECT * FROM read_duckdb('{dir}/other.duckdb')",
]


@pytest.mark.parametrize("opened", [False, True], ids=["plain", "allow-files"])
@pytest.mark.parametrize("statement", SIDE_EFFECTS)
def test_table_functions_with_side_effects_are_refused_even_in_a_select(
    capsys, store, tmp_path, statement, opened
):
    before = store["path"].read_bytes()
    extra = ["--allow-files", str(tmp_path)] if opened else []
    rc, out, err = sql(capsys, store, *extra, statement.format(dir=tmp_path))
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and "read-only" in err and "refuses the table function" in err
    assert store["path"].read_bytes() == before


def test_call_refusal_does_not_suggest_the_select_form(capsys, store):
    rc, _, err = sql(capsys, store, "CALL enable_logging()")
    assert rc == 1 and "SELECT * FROM" not in err
    assert "read-only" in err


def test_read_only_table_functions_are_allowed(capsys, store):
    con = duckdb.connect(str(store["path"]), read_only=True)
    tables = sorted(
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
    )
    con.close()
    got = sql_json(capsys, store, "SELECT table_name FROM duckdb_tables() ORDER BY table_name")
    assert list(got["table_name"]) == tables
    got = sql_json(
        capsys, store, "SELECT * FROM generate_series(2, 8, 3) g(v), unnest([10, 20]) u(w)"
    )
    assert sorted(zip(got["v"], got["w"])) == [(v, w) for v in (2, 5, 8) for w in (10, 20)]
    got = sql_json(
        capsys, store, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'flows'"
    )
    assert {"flow_id", "name"} <= set(got["column_name"])


# -- files: refused unless --allow-files opens a folder ------------------------------------------
@pytest.fixture
def folders(tmp_path):
    inside, outside = tmp_path / "inside", tmp_path / "inside-private"  # a prefix, not a parent
    inside.mkdir()
    outside.mkdir()
    (inside / "ids.csv").write_text("task_id\n101\n102\n")
    (outside / "secret.csv").write_text("task_id\n103\n")
    (inside / "link.csv").symlink_to(outside / "secret.csv")
    (inside / "sub").mkdir()
    (inside / "sub" / "more.csv").write_text("task_id\n104\n")
    return inside, outside


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('{inside}/ids.csv')",
        "SELECT * FROM '{inside}/ids.csv'",
        "SELECT * FROM read_text('{inside}/ids.csv')",
        "SELECT * FROM read_blob('{inside}/ids.csv')",
        "SELECT * FROM glob('{inside}/*')",
        "SELECT * FROM read_parquet('{inside}/x.parquet')",
        "SELECT * FROM read_json('{inside}/x.json')",
        "DESCRIBE '{inside}/ids.csv'",
        "SELECT * FROM tasks WHERE task_id IN (SELECT task_id FROM read_csv('{inside}/ids.csv'))",
    ],
)
def test_files_are_refused_without_allow_files(capsys, store, folders, query):
    rc, out, err = sql(capsys, store, query.format(inside=folders[0]))
    assert rc == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "--allow-files" in err


def test_allow_files_reads_inside_the_folder(capsys, store, folders):
    inside, _ = folders
    got = sql_json(
        capsys,
        store,
        "--allow-files",
        str(inside),
        "SELECT count(*) AS n FROM tasks WHERE task_id IN "
        f"(SELECT task_id FROM read_csv('{inside}/ids.csv'))",
    )
    assert got["n"].item() == 2  # tasks 101 and 102 exist
    got = sql_json(
        capsys, store, "--allow-files", str(inside), f"SELECT * FROM '{inside}/sub/more.csv'"
    )
    assert list(got["task_id"]) == [104]
    got = sql_json(
        capsys, store, "--allow-files", str(inside), f"SELECT file FROM glob('{inside}/*.csv')"
    )
    assert sorted(Path(f).name for f in got["file"]) == ["ids.csv", "link.csv"]


@pytest.mark.parametrize(
    "target",
    [
        "{outside}/secret.csv",  # another folder whose name starts with the allowed one's
        "{inside}/../inside-private/secret.csv",
        "{inside}/link.csv",  # a link that leads out of the folder
        "/etc/hostname",
    ],
)
def test_allow_files_reads_nothing_outside_the_folder(capsys, store, folders, target):
    inside, outside = folders
    path = target.format(inside=inside, outside=outside)
    rc, out, err = sql(
        capsys, store, "--allow-files", str(inside), f"SELECT * FROM read_csv('{path}')"
    )
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and "--allow-files" in err and "cannot read" in err


@pytest.mark.parametrize("opened", [False, True], ids=["plain", "allow-files"])
@pytest.mark.parametrize(
    "query, function",
    [
        ("SELECT * FROM 'https://example.com/ids.csv'", False),  # no function: DuckDB refuses it
        ("SELECT * FROM read_csv('http://example.com/ids.csv')", True),
        ("SELECT * FROM read_parquet('s3://bucket/x.parquet')", True),
    ],
)
def test_urls_are_never_read(capsys, store, tmp_path, query, function, opened):
    extra = ["--allow-files", str(tmp_path)] if opened else []
    rc, out, err = sql(capsys, store, *extra, query)
    assert rc == 1 and out == "" and err.count("\n") == 1
    # without --allow-files the guard refuses the file function before DuckDB sees it
    assert ("reads files" if function and not opened else "reads no URLs") in err


def test_allow_files_goes_with_an_adhoc_query(capsys, store, tmp_path):
    rc, out, err = sql(capsys, store, "--allow-files", str(tmp_path), "--named", "best-configs")
    assert rc != 0 and out == "" and "--allow-files goes with QUERY" in err


# -- cell text is shown literally -----------------------------------------------------------------
def _shown(name: str) -> str:
    r"""How a cell shows ``name``: as typed, control characters written out (ESC as \x1b)."""
    return "".join(repr(c)[1:-1] if ord(c) < 32 else c for c in name)


def test_markup_and_escapes_in_names_are_shown_literally(capsys, store):
    rc, out, err = sql(
        capsys, store, 'SELECT dataset_id, name AS "[/h]" FROM datasets ORDER BY dataset_id'
    )
    assert rc == 0, err
    assert (
        "\x1b" not in out and "\x07" not in out
    )  # nothing reaches the terminal as a control code
    for name in HOSTILE.values():
        assert _shown(name) in out
    assert "[/h]" in out and "😄" not in out  # headers too; no emoji codes expanded
    rc, out, _ = sql(capsys, store, "SELECT name FROM flows")
    assert rc == 0 and "[/flow]" in out


def test_csv_and_json_keep_the_names_as_stored(capsys, store):
    got = sql_json(capsys, store, "SELECT dataset_id, name FROM datasets ORDER BY dataset_id")
    assert dict(zip(got["dataset_id"], got["name"])) == HOSTILE


def test_every_table_part_is_literal(capsys):
    from cli.output import print_table

    capsys.readouterr()
    print_table(["[/col]"], [{"[/col]": "[/cell]"}], title="[/title] \x1b[2J")
    out = capsys.readouterr().out
    assert "[/col]" in out and "[/cell]" in out and "[/title]" in out
    assert "\\x1b[2J" in out and "\x1b" not in out  # the title wraps; its escape is written out
