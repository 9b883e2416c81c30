"""``metabase export meta-dataset``: selection, score direction, errors and the round trip."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cli.main import main
from metabase.exports import export_meta_dataset
from metabase.store import open_reader, open_writer

PIMP = Path("openml-pimp/KDD2018/data")


def pimp_slice(openml_data: Path, tmp: Path, n_tasks: int) -> Path:
    """A copy of openml-pimp's export with the rows of its first ``n_tasks`` tasks, same layout."""
    lines = (openml_data / PIMP / "arff" / "random_forest.arff").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().upper() == "@DATA")
    rows = [line for line in lines[at + 1 :] if line.strip()]
    tasks = list(dict.fromkeys(row.rsplit(",", 1)[1] for row in rows))[:n_tasks]
    keep = [row for row in rows if row.rsplit(",", 1)[1] in tasks]
    target = tmp / "KDD2018" / "data" / "arff" / "random_forest.arff"
    target.parent.mkdir(parents=True)
    target.write_text("\n".join(lines[: at + 1] + keep) + "\n")
    (target.parent.parent / "task_qualities.json").write_text(
        (openml_data / PIMP / "task_qualities.json").read_text()
    )
    return target


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


def _toy_store(store: Path) -> None:
    """Two runs of one flow with an error measure and accuracy, one crashed run."""
    with open_writer(store) as w:
        w.upsert("flows", pd.DataFrame({"flow_id": [7], "name": ["toy"], "source": ["t"]}))
        w.upsert(
            "runs",
            pd.DataFrame(
                {
                    "run_key": ["a", "b", "c"],
                    "task_id": [1, 2, 2],
                    "flow_id": [7, 7, 7],
                    "config": ['{"x":1}', '{"x":2}', '{"x":3}'],
                    "source": "t",
                    "status": ["ok", "ok", "crashed"],
                }
            ),
        )
        w.append(
            "evaluations",
            pd.DataFrame(
                {
                    "run_key": ["a", "b", "c", "a", "b", "a"],
                    "measure": ["mean_absolute_error"] * 3
                    + ["predictive_accuracy"] * 2
                    + ["predictive_accuracy"],
                    "value": [0.5, 0.25, 0.1, 0.8, 0.9, 0.7],
                    "fold": [None, None, None, None, None, 0],
                    "source": "t",
                }
            ),
        )
        w.upsert(
            "task_qualities",
            pd.DataFrame(
                {
                    "task_id": [1, 2],
                    "quality": ["NumberOfInstances"] * 2,
                    "value": [10.0, 20.0],
                    "source": "t",
                }
            ),
        )
        w.refresh_views()


def test_errors_are_negated_and_crashed_runs_left_out(tmp_path):
    store = tmp_path / "s.duckdb"
    _toy_store(store)
    with open_reader(store) as con:
        result = export_meta_dataset(con, tmp_path / "out", flow=7, measure="mean_absolute_error")
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert result.negated and result.runs == 2
    assert sorted(runs["score"]) == [-0.5, -0.25]  # higher is better; the crashed run is not there
    assert set(runs["pipeline"]) == {"flow-7"}  # no catalogue pipeline: named after the flow
    # and importing that back keeps the flow id, so `--flow 7` selects the same runs again
    again = tmp_path / "again.duckdb"
    assert main(["--store", str(again), "import", "meta-dataset", str(tmp_path / "out")]) == 0
    assert (
        main(
            [
                "--store",
                str(again),
                "export",
                "meta-dataset",
                str(tmp_path / "out2"),
                "--flow",
                "7",
                "--measure",
                "score",
            ]
        )
        == 0
    )
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out2" / "runs.parquet"), runs)
    tasks = pd.read_parquet(tmp_path / "out" / "tasks.parquet")
    assert tasks["NumberOfInstances"].tolist() == [10.0, 20.0]


def test_accuracy_uses_aggregates_only(tmp_path):
    store = tmp_path / "s.duckdb"
    _toy_store(store)
    with open_reader(store) as con:
        result = export_meta_dataset(con, tmp_path / "out")
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert not result.negated
    assert sorted(runs["score"]) == [0.8, 0.9]  # the per-fold 0.7 is not a run's score


def test_nothing_matches_gives_one_line_and_a_hint(tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    _toy_store(store)
    before = _fingerprint(store)
    rc = main(
        [
            "--store",
            str(store),
            "export",
            "meta-dataset",
            str(tmp_path / "out"),
            "--pipeline",
            "sklearn.svc",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1
    assert "no runs for pipeline sklearn.svc" in err[0] and "metabase import openml-pimp" in err[0]
    assert not (tmp_path / "out").exists()
    rc = main(
        [
            "--store",
            str(store),
            "export",
            "meta-dataset",
            str(tmp_path / "out"),
            "--measure",
            "f_measure",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "mean_absolute_error" in err[0]
    assert _fingerprint(store) == before


def test_missing_store_is_an_error(tmp_path, capsys, monkeypatch):
    """Without the starter knowledge base (which otherwise stands in for a missing store)."""
    from metabase import starter

    monkeypatch.setattr(starter, "DATA", tmp_path / "no-starter")
    rc = main(
        ["--store", str(tmp_path / "none.duckdb"), "export", "meta-dataset", str(tmp_path / "out")]
    )
    assert rc == 1 and "no store" in capsys.readouterr().err


def test_a_missing_store_exports_the_starter(tmp_path, capsys):
    """The starter stands in for a missing store, so a fresh install can export and evaluate."""
    store = tmp_path / "none.duckdb"
    rc = main(
        [
            "--store",
            str(store),
            "export",
            "meta-dataset",
            str(tmp_path / "out"),
            "--flow",
            "6969",
            "-f",
            "json",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert len(runs) == 47_000 and set(runs["pipeline"]) == {"sklearn.random_forest"}
    assert not store.exists()


@pytest.mark.realdata
def test_round_trip_through_an_empty_store(openml_data, tmp_path, capsys):
    arff = pimp_slice(openml_data, tmp_path / "src", n_tasks=3)
    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    assert main(["--store", str(first), "import", "openml-pimp", str(arff)]) == 0
    assert (
        main(
            [
                "--store",
                str(first),
                "export",
                "meta-dataset",
                str(tmp_path / "out1"),
                "--flow",
                "6969",
                "--format",
                "json",
            ]
        )
        == 0
    )
    capsys.readouterr()
    out1 = {f: pd.read_parquet(tmp_path / "out1" / f"{f}.parquet") for f in ("runs", "tasks")}
    pipeline = out1["runs"]["pipeline"].iloc[0]
    assert main(["--store", str(second), "import", "meta-dataset", str(tmp_path / "out1")]) == 0
    # a meta-dataset's runs carry the format's measure, "score"
    assert (
        main(
            [
                "--store",
                str(second),
                "export",
                "meta-dataset",
                str(tmp_path / "out2"),
                "--pipeline",
                pipeline,
                "--measure",
                "score",
            ]
        )
        == 0
    )
    out2 = {f: pd.read_parquet(tmp_path / "out2" / f"{f}.parquet") for f in ("runs", "tasks")}
    with open_reader(first) as con:
        assert len(out1["runs"]) == con.scalar("SELECT count(*) FROM runs")
        assert len(out1["tasks"]) == con.scalar("SELECT count(DISTINCT task_id) FROM runs")
    assert out1["tasks"].shape[1] > 2  # the tasks' qualities travelled too
    pd.testing.assert_frame_equal(out1["runs"], out2["runs"])
    pd.testing.assert_frame_equal(out1["tasks"], out2["tasks"])
