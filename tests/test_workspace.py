"""The Workspace is the one front door: every store-facing command calls one of its methods, with
the Workspace the global options built, and the facade itself answers as the services do.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cli.main import main
from metabase.errors import InputError, MetabaseError
from metabase.settings import Settings
from metabase.store import open_writer
from metabase.workspace import Workspace


class _Called(MetabaseError):
    """Raised by a stand-in facade method: the CLI prints it as one line and exits 1."""


# command line -> the Workspace method it must call
COMMANDS = {
    "info": (["info"], "info"),
    "sql": (["sql", "SELECT 1"], "sql"),
    "sql --named": (["sql", "--named", "run-counts"], "sql"),
    "sql --list": (["sql", "--list"], "named_queries"),
    "sql --show": (["sql", "--named", "run-counts", "--show"], "named_query"),
    "import": (["import", "openml-pimp", "x.arff"], "import_"),
    "export": (["export", "meta-dataset", "out"], "export"),
    "recommend": (["recommend", "--task", "3"], "recommend"),
    "evaluate": (["evaluate", "dir"], "evaluate"),
    "features": (["features", "x.csv", "--target", "y"], "features"),
    "sync": (["sync", "--tasks", "3"], "sync"),
}


@pytest.mark.parametrize("label", list(COMMANDS))
def test_each_command_calls_one_workspace_method(label, tmp_path, monkeypatch, capsys):
    args, method = COMMANDS[label]
    calls = []

    def stand_in(self, *a, **kw):
        calls.append(self)
        raise _Called(f"{method} called")

    monkeypatch.setattr(Workspace, method, stand_in)
    store = tmp_path / "s.duckdb"
    rc = main(["--store", str(store), "--offline", *args])
    err = capsys.readouterr().err
    assert rc == 1 and f"{method} called" in err, err
    assert len(calls) == 1 and isinstance(calls[0], Workspace)
    assert calls[0].store_path == store and calls[0].settings.offline


@pytest.fixture
def ws(store_path):
    with open_writer(store_path) as w:
        w.upsert(
            "datasets", pd.DataFrame({"dataset_id": [1, 2], "name": ["a", "b"], "source": "t"})
        )
    return Workspace(Settings.resolve(store=store_path))


def test_sql_runs_a_statement_or_a_named_query_but_not_both(ws):
    assert ws.sql("SELECT count(*) AS n FROM datasets")["n"].tolist() == [2]
    assert ws.sql("SELECT name FROM datasets WHERE dataset_id = $id", params={"id": "2"})[
        "name"
    ].tolist() == ["b"]
    assert "run-counts" in {q.name for q in ws.named_queries()}
    assert ws.named_query("run-counts").name == "run-counts"
    assert isinstance(ws.sql(named="run-counts"), pd.DataFrame)
    with pytest.raises(InputError):
        ws.sql("SELECT 1", named="run-counts")
    with pytest.raises(InputError):
        ws.sql()


def test_info_counts_what_the_store_holds(ws):
    info = ws.info()
    assert info.path == ws.store_path
    assert {t.name: t.rows for t in info.tables}["datasets"] == 2
    assert "run_configs" in info.views


def test_the_reader_is_read_only_and_closed_after_use(ws):
    from metabase.errors import ReadOnlyError

    with ws.reader(wait_s=1) as con, pytest.raises(ReadOnlyError):
        con.execute("DELETE FROM datasets")
    with ws.writer() as w:  # the reader above let go of the file
        assert w.scalar("SELECT count(*) FROM datasets") == 2
