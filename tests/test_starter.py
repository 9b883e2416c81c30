"""The starter knowledge base: what ships, that it is what the build makes, and where it stands in.

Expected figures are facts about the exports (openml-data/README.md): openml-pimp holds 47,000 runs
of flow 6969 on 94 tasks with the qualities of the 100 OpenML100 tasks; task 14951 is the 10-fold
CV task on eeg-eye-state (dataset 1471, target Class, 14,980 instances), as is OpenML100's task
9983.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cli.main import main
from metabase import metadataset, starter
from metabase.store import open_reader, open_writer

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def con():
    connection = starter.open_starter()
    yield connection
    connection.close()


def test_the_starter_holds_openml_pimp_runs_with_typed_configs(con):
    runs, tasks, flows, pipelines = con.execute(
        "SELECT count(*), count(DISTINCT task_id), list(DISTINCT flow_id), "
        "list(DISTINCT pipeline) FROM runs"
    ).fetchone()
    assert (runs, tasks, flows, pipelines) == (47_000, 94, [6969], ["sklearn.random_forest"])
    assert (
        con.execute(
            "SELECT count(*) FROM run_configs WHERE measure = 'predictive_accuracy' "
            "AND score BETWEEN 0 AND 1"
        ).fetchone()[0]
        == 47_000
    )
    config = json.loads(
        con.execute("SELECT config FROM runs ORDER BY run_key LIMIT 1").fetchone()[0]
    )
    assert isinstance(config["bootstrap"], bool) and isinstance(config["max_features"], float)


def test_task_14951_is_known_with_its_datasets_qualities(con):
    task = con.df(
        "SELECT dataset_id, target, estimation_procedure FROM tasks WHERE task_id = 14951"
    )
    assert task.to_dict("records") == [
        {"dataset_id": 1471, "target": "Class", "estimation_procedure": "10-fold Crossvalidation"}
    ]
    both = con.df(
        "SELECT * FROM task_qualities_wide WHERE task_id IN (9983, 14951) ORDER BY task_id"
    )
    assert list(both["task_id"]) == [9983, 14951]
    assert both["NumberOfInstances"].tolist() == [14980.0, 14980.0]
    # the same dataset, so the same OpenML qualities: openml-pimp's values for 9983 hold for 14951
    values = both.drop(columns="task_id")
    assert values.notna().sum(axis=1).tolist()[1] >= 100
    assert values.iloc[0].equals(values.iloc[1])


def test_the_openml100_tasks_have_qualities(con):
    with_pimp_qualities = con.execute(
        "SELECT count(DISTINCT task_id) FROM task_qualities WHERE source = 'openml-pimp'"
    ).fetchone()[0]
    assert with_pimp_qualities == 100
    no_qualities = con.execute(
        "SELECT count(*) FROM tasks WHERE task_id NOT IN (SELECT task_id FROM task_qualities_long)"
    ).fetchone()[0]
    assert no_qualities == 0


def test_the_manifest_counts_what_the_files_hold():
    info = starter.manifest()
    for table, rows in info["tables"].items():
        assert pq.read_metadata(starter.DATA / f"{table}.parquet").num_rows == rows
    licensed = [s for s in info["sources"] if s["licence_file"]]
    assert {s["licence"] for s in licensed} == {"BSD-3-Clause", "Apache-2.0", "MIT"}
    for source in licensed:
        assert (starter.DATA / "LICENSES" / f"{source['name']}-{source['licence']}.txt").is_file()


def test_the_starter_files_are_small():
    size = sum(p.stat().st_size for p in starter.DATA.rglob("*") if p.is_file())
    assert size < 15e6


@pytest.mark.realdata
@pytest.mark.slow
def test_the_shipped_files_are_what_the_build_produces(openml_data, tmp_path):
    from metabase.starter.build import build

    info = build(openml_data, tmp_path / "out")
    shipped = starter.manifest()
    assert {k: v for k, v in info.items() if k != "built"} == {
        k: v for k, v in shipped.items() if k != "built"
    }
    for table in info["tables"]:
        built = pq.read_table(tmp_path / "out" / f"{table}.parquet")
        assert built.equals(pq.read_table(starter.DATA / f"{table}.parquet")), table
    names = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")
    )
    assert names == sorted(
        p.relative_to(starter.DATA).as_posix()
        for p in starter.DATA.rglob("*")
        if "__pycache__" not in p.parts
    )
    for extra in [
        "NOTICE.md",
        "default_parts.json",
        *(f"LICENSES/{p.name}" for p in (tmp_path / "out" / "LICENSES").iterdir()),
    ]:
        assert (tmp_path / "out" / extra).read_bytes() == (starter.DATA / extra).read_bytes()


@pytest.mark.slow
def test_the_wheel_carries_the_starter_within_15_mb(tmp_path):
    import setuptools

    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(
            f"building the wheel needs setuptools>=77 (the test extra); "
            f"here {setuptools.__version__}"
        )
    source = tmp_path / "src"  # a copy, so that the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in ("metabase", "cli", "pipelines"):
        shutil.copytree(
            REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "dist").glob("metabase-*.whl")
    assert wheel.stat().st_size <= 15 * 2**20
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    expected = {f"metabase/starter/data/{t}.parquet" for t in starter.manifest()["tables"]}
    assert (
        expected | {"metabase/starter/data/manifest.json", "metabase/starter/data/NOTICE.md"}
        <= names
    )


# -- where the starter stands in ----------------------------------------------------------------


def _recommend(store: Path, capsys, *args: str):
    """--offline: a task whose qualities the store (or starter) lacks would be an error."""
    rc = main(
        [
            "--store",
            str(store),
            "--offline",
            "recommend",
            "--task",
            "14951",
            "--format",
            "json",
            *args,
        ]
    )
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(autouse=True)
def _fresh_notices(monkeypatch):
    """The notice is once per store and process; each test here is a process of its own."""
    import metabase.starter

    monkeypatch.setattr(metabase.starter, "_announced", set())


def _notices(caplog) -> list[str]:
    """The starter's warnings (the CLI sends them to stderr; under pytest they reach caplog)."""
    return [r.getMessage() for r in caplog.records if r.name == "metabase.starter"]


@pytest.mark.slow
def test_recommend_without_a_store_answers_from_the_starter(tmp_path, capsys, caplog):
    rc, out, err = _recommend(tmp_path / "none.duckdb", capsys)
    assert rc == 0, err
    answer = json.loads(out)
    assert answer["task_id"] == 14951 and len(answer["recommendations"]) == 10
    assert [r["rank"] for r in answer["recommendations"]] == list(range(1, 11))
    similar = [e["task_id"] for e in answer["recommendations"][0]["evidence"] if "similarity" in e]
    assert similar[0] == 9983  # the other task on eeg-eye-state
    lines = _notices(caplog)
    assert len(lines) == 1 and "\n" not in lines[0]
    assert (
        "no store at" in lines[0]
        and "starter knowledge base" in lines[0]
        and "47,000 runs" in lines[0]
    )
    assert "metabase sync" in lines[0] and "built 20" in lines[0]
    assert not (tmp_path / "none.duckdb").exists()  # read-only: no store appears


@pytest.mark.slow
def test_an_empty_store_is_answered_from_the_starter(store_path, capsys, caplog):
    open_writer(store_path).close()
    rc, out, err = _recommend(store_path, capsys, "--k", "3")
    assert rc == 0, err
    assert len(json.loads(out)["recommendations"]) == 3
    (line,) = _notices(caplog)
    assert "holds no runs" in line and "starter knowledge base" in line
    with open_reader(store_path) as con:
        assert con.scalar("SELECT count(*) FROM runs") == 0


def test_without_the_starter_a_missing_store_is_still_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(starter, "DATA", tmp_path / "no-starter")
    rc, out, err = _recommend(tmp_path / "none.duckdb", capsys)
    assert rc == 1 and out == "" and "no store at" in err


def test_the_starter_connection_refuses_transactions(con):
    from metabase.errors import ReadOnlyError

    with pytest.raises(ReadOnlyError):
        with con.transaction():
            pass


# -- init and seeding ---------------------------------------------------------------------------


def _runs(store: Path) -> int:
    with open_reader(store) as con:
        return con.scalar("SELECT count(*) FROM runs")


def test_init_seeds_a_new_store_once(store_path, capsys):
    assert main(["--store", str(store_path), "init", "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["created"] and first["seeded"] and first["row_counts"]["runs"] == 47_000
    assert _runs(store_path) == 47_000
    with open_reader(store_path) as con:
        assert con.df("SELECT source FROM imports")["source"].tolist() == ["starter"]
        assert con.scalar("SELECT dataset_id FROM tasks WHERE task_id = 14951") == 1471
    assert main(["--store", str(store_path), "init"]) == 0
    assert "already holds 47,000 runs" in capsys.readouterr().out
    assert _runs(store_path) == 47_000


def test_init_empty_creates_the_schema_only(store_path, capsys):
    assert main(["--store", str(store_path), "init", "--empty"]) == 0
    assert "empty store" in capsys.readouterr().out
    assert _runs(store_path) == 0


def test_init_merges_the_starter_into_a_store_without_runs(store_path, capsys):
    with open_writer(store_path) as writer:
        writer.upsert(
            "datasets", pd.DataFrame({"dataset_id": [999_999], "name": ["mine"], "source": ["x"]})
        )
    assert main(["--store", str(store_path), "init", "-f", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert not result["created"] and result["seeded"]
    assert _runs(store_path) == 47_000
    with open_reader(store_path) as con:
        assert con.scalar("SELECT name FROM datasets WHERE dataset_id = 999999") == "mine"
        assert con.scalar("SELECT count(*) FROM evaluations") == 47_000


def _meta_dataset(directory: Path) -> Path:
    runs = pd.DataFrame(
        {
            "task_id": [1, 1, 2, 2],
            "pipeline": "toy.pipeline",
            "config": ['{"a": 1}', '{"a": 2}', '{"a": 1}', '{"a": 2}'],
            "score": [0.1, 0.2, 0.3, 0.4],
        }
    )
    tasks = pd.DataFrame(
        {
            "task_id": [1, 2],
            "dataset_id": pd.array([None, None], dtype="Int64"),
            "NumberOfInstances": np.array([10.0, 20.0]),
        }
    )
    return metadataset.write(metadataset.MetaDataset(runs=runs, tasks=tasks), directory)


@pytest.mark.parametrize(
    "flag, expected_runs", [("--seed-starter", 47_004), ("--empty", 4), (None, 4)]
)
def test_import_into_a_new_store_seeds_it_when_asked(
    tmp_path, store_path, capsys, flag, expected_runs
):
    """Without a flag and without a terminal on stdin (as under pytest) the new store
    starts empty.
    """
    directory = _meta_dataset(tmp_path / "md")
    args = ["--store", str(store_path), "import", "meta-dataset", str(directory)] + (
        [flag] if flag else []
    )
    assert main(args) == 0, capsys.readouterr().err
    assert _runs(store_path) == expected_runs


def test_seeding_applies_only_to_a_new_store(tmp_path, store_path, capsys):
    directory = _meta_dataset(tmp_path / "md")
    assert (
        main(["--store", str(store_path), "import", "meta-dataset", str(directory), "--empty"])
        == 0
    )
    assert (
        main(
            [
                "--store",
                str(store_path),
                "import",
                "meta-dataset",
                str(directory),
                "--seed-starter",
            ]
        )
        == 0
    )
    assert _runs(store_path) == 4


@pytest.mark.parametrize("answer, expected_runs", [(True, 47_004), (False, 4)])
def test_at_a_terminal_import_asks_whether_to_seed(
    tmp_path, store_path, monkeypatch, capsys, answer, expected_runs
):
    import types

    import click

    import cli.seeding

    terminal = types.SimpleNamespace(isatty=lambda: True)
    monkeypatch.setattr(cli.seeding, "sys", types.SimpleNamespace(stdin=terminal, stderr=terminal))
    asked = []
    monkeypatch.setattr(click, "confirm", lambda text, **kw: asked.append(text) or answer)
    directory = _meta_dataset(tmp_path / "md")
    assert main(["--store", str(store_path), "import", "meta-dataset", str(directory)]) == 0
    assert (
        len(asked) == 1
        and "does not exist yet" in asked[0]
        and "starter knowledge base" in asked[0]
    )
    assert _runs(store_path) == expected_runs
    assert main(["--store", str(store_path), "import", "meta-dataset", str(directory)]) == 0
    assert len(asked) == 1  # an existing store is never asked about
