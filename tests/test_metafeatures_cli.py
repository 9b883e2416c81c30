"""``metabase features``: output formats, storing computed qualities, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cli.main import main


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame(
        {"a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "b": list("xyxyxz"), "label": list("ppnnpn")}
    ).to_csv(path, index=False)
    return path


def _json(capsys):
    return {row["quality"]: row for row in json.loads(capsys.readouterr().out)}


def test_features_json_for_a_file(table, store_path, capsys):
    rc = main(
        [
            "--store",
            str(store_path),
            "features",
            str(table),
            "--target",
            "label",
            "--no-landmarkers",
            "-f",
            "json",
        ]
    )
    assert rc == 0
    rows = _json(capsys)
    assert rows["NumberOfInstances"]["value"] == 6
    assert rows["NumberOfFeatures"]["value"] == 3
    assert rows["kNN1NErrRate"]["value"] is None and rows["kNN1NErrRate"]["reason"] == "skipped"
    assert not store_path.exists()  # nothing stored without --store-result


def test_groups_option_limits_the_output(table, store_path, capsys):
    rc = main(
        [
            "--store",
            str(store_path),
            "features",
            str(table),
            "--target",
            "label",
            "--groups",
            "general,missing",
            "-f",
            "csv",
        ]
    )
    assert rc == 0
    frame = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert set(frame["group"]) == {"general", "missing"}


def test_store_result_writes_computed_rows_beside_openml_ones(table, store_path, capsys):
    from metabase.store import open_reader, open_writer

    with open_writer(store_path) as w:
        # --dataset-id must name a stored dataset
        w.upsert("datasets", pd.DataFrame([{"dataset_id": 99, "name": "t", "source": "openml"}]))
        w.upsert(
            "dataset_qualities",
            pd.DataFrame(
                [
                    {
                        "dataset_id": 99,
                        "quality": "NumberOfInstances",
                        "value": 12345.0,
                        "source": "openml",
                    }
                ]
            ),
        )
    rc = main(
        [
            "--store",
            str(store_path),
            "features",
            str(table),
            "--target",
            "label",
            "--no-landmarkers",
            "--dataset-id",
            "99",
            "--store-result",
            "-f",
            "json",
        ]
    )
    assert rc == 0
    with open_reader(store_path) as r:
        rows = r.df("SELECT quality, value, source FROM dataset_qualities WHERE dataset_id = 99")
    mine = rows[rows["source"] == "computed"].set_index("quality")["value"]
    assert mine["NumberOfInstances"] == 6
    assert "kNN1NErrRate" not in mine.index  # skipped qualities are not stored
    theirs = rows[rows["source"] == "openml"]
    assert theirs["value"].tolist() == [12345.0]  # OpenML's row untouched


@pytest.mark.parametrize(
    "args,message",
    [
        (["--store-result"], "needs --dataset-id"),
        (["--target", "nope"], "no column named 'nope'"),
        (["--groups", "bogus"], "unknown meta-feature group"),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_store(table, store_path, capsys, args, message):
    base = ["--store", str(store_path), "features", str(table)]
    if "--target" not in args:
        base += ["--target", "label"]
    rc = main(base + args)
    err = capsys.readouterr().err
    assert rc == 1 and message in err and err.count("\n") == 1
    assert not store_path.exists()


def test_no_source_or_two_sources_is_an_error(table, store_path, capsys):
    assert main(["--store", str(store_path), "features"]) == 1
    assert "exactly one of PATH" in capsys.readouterr().err
    assert main(["--store", str(store_path), "features", str(table), "--dataset", "31"]) == 1


def test_empty_and_unreadable_files(tmp_path, store_path, capsys):
    (tmp_path / "empty.csv").write_text("")
    assert (
        main(
            ["--store", str(store_path), "features", str(tmp_path / "empty.csv"), "--target", "x"]
        )
        == 1
    )
    assert "empty" in capsys.readouterr().err
    (tmp_path / "junk.parquet").write_bytes(b"\x00\xff" * 50)
    assert (
        main(
            [
                "--store",
                str(store_path),
                "features",
                str(tmp_path / "junk.parquet"),
                "--target",
                "x",
            ]
        )
        == 1
    )
    assert "cannot read" in capsys.readouterr().err


def test_console_script_end_to_end(table, store_path):
    script = Path(sys.executable).parent / "metabase"
    if not script.exists():
        pytest.skip("the metabase console script is not installed in this environment")
    proc = subprocess.run(
        [
            str(script),
            "--store",
            str(store_path),
            "features",
            str(table),
            "--target",
            "label",
            "--groups",
            "general",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {r["quality"]: r["value"] for r in json.loads(proc.stdout)}
    assert rows["NumberOfInstances"] == 6
    bad = subprocess.run(
        [str(script), "features", str(table), "--target", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and bad.stdout == ""


@pytest.mark.realdata
def test_features_of_an_openml_dataset_and_task_through_the_gateway(
    replay_server, tmp_path, capsys
):
    store = tmp_path / "s.duckdb"
    base = ["--store", str(store), "--openml-server", replay_server.url, "features"]
    rc = main(base + ["--dataset", "1471", "--groups", "general,class", "-f", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    rows = _json_text(out.out)
    # eeg-eye-state (d/1471): 14,980 x 15, Class 1/2 = 8257/6723 (openml-data README)
    assert rows["NumberOfInstances"]["value"] == 14980 and rows["NumberOfFeatures"]["value"] == 15
    assert rows["MajorityClassSize"]["value"] == 8257
    rc = main(base + ["--task", "14951", "--groups", "class", "--store-result", "-f", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert _json_text(out.out)["MinorityClassSize"]["value"] == 6723
    from metabase.store import open_reader

    with open_reader(store) as r:
        stored = r.df(
            "SELECT value FROM dataset_qualities WHERE dataset_id = 1471 AND source = 'computed' "
            "AND quality = 'MinorityClassSize'"
        )
    assert stored["value"].tolist() == [6723.0]


def _json_text(text):
    return {row["quality"]: row for row in json.loads(text)}


def test_numeric_class_labels_get_a_hint_and_task_type_overrides(tmp_path, store_path, capsys):
    path = tmp_path / "ints.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}).to_csv(path, index=False)
    assert (
        main(
            [
                "--store",
                str(store_path),
                "features",
                str(path),
                "--target",
                "y",
                "--groups",
                "class",
                "-f",
                "json",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    assert (
        "--task-type classification" in out.err
        and _json_text(out.out)["NumberOfClasses"]["value"] == 0
    )
    assert (
        main(
            [
                "--store",
                str(store_path),
                "features",
                str(path),
                "--target",
                "y",
                "--groups",
                "class",
                "--task-type",
                "classification",
                "-f",
                "json",
            ]
        )
        == 0
    )
    assert _json_text(capsys.readouterr().out)["NumberOfClasses"]["value"] == 2
