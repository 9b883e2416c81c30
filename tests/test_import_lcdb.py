"""LCDB importer: streamed learning curves, slices of the real files, idempotence and rollback."""

from __future__ import annotations

import csv
import gzip
import io

import pytest

from cli.main import main
from metabase.store import open_reader

pytestmark = pytest.mark.realdata

LCDB = "lcdb/lcdb"
# Documented in openml-data/README.md.
FULL_ROWS = {
    "predictive_accuracy": 1_953_371,
    "log_loss": 1_953_371,
    "area_under_roc_curve": 1_151_985,
    "f1": 1_151_985,
}


def snapshot(store) -> dict:
    """Row count and an order-independent checksum of every table: equal means unchanged."""
    with open_reader(store) as con:
        return {
            t: con.execute(
                f"SELECT count(*), coalesce(sum(hash(x::VARCHAR)), 0) FROM {t} x"
            ).fetchone()
            for t in con.tables()
        }


def head_lines(src, n: int) -> list[str]:
    with gzip.open(src, "rt") as f:
        return [next(f) for _ in range(n + 1)]  # header + n rows


def write_gz(path, lines) -> None:
    with gzip.open(path, "wt") as f:
        f.writelines(lines)


def run(store, *args) -> int:
    return main(["--store", str(store), "import", "lcdb", *map(str, args)])


@pytest.fixture(scope="module")
def acc_lines(openml_data):
    return head_lines(openml_data / LCDB / "database-accuracy.csv.gz", 3000)


def test_slice_maps_columns_and_measure(tmp_path, store_path, acc_lines):
    folder = tmp_path / "lcdb"
    folder.mkdir()
    write_gz(folder / "database-accuracy.csv.gz", acc_lines)
    assert run(store_path, folder) == 0
    rows = list(csv.DictReader(io.StringIO("".join(acc_lines))))
    with open_reader(store_path) as con:
        got = con.execute(
            "SELECT count(*), count(DISTINCT dataset_id), sum(score_valid), sum(size_train), "
            "min(measure), max(measure), min(source) FROM learning_curves"
        ).fetchone()
    assert got[0] == len(rows) == 3000
    assert got[1] == len({r["openmlid"] for r in rows})
    assert got[2] == pytest.approx(sum(float(r["score_valid"]) for r in rows))
    assert got[3] == sum(int(r["size_train"]) for r in rows)
    assert got[4:] == ("predictive_accuracy", "predictive_accuracy", "lcdb")


def test_single_file_and_idempotent(tmp_path, store_path, acc_lines):
    f = tmp_path / "database-logloss.csv.gz"
    write_gz(f, acc_lines[:501])
    assert run(store_path, f) == 0
    first = snapshot(store_path)
    assert run(store_path, f) == 0
    second = snapshot(store_path)
    assert first["learning_curves"] == second["learning_curves"]
    assert first["learning_curves"][0] == 500
    assert second["imports"][0] == 2  # provenance: one row per import


def test_datasets_csv_qualities(openml_data, store_path):
    src = openml_data / LCDB / "datasets.csv"
    with open(src, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    expected = sum(1 for r in body for v in r[2:] if v != "")
    assert run(store_path, src) == 0
    with open_reader(store_path) as con:
        n, datasets = con.execute(
            "SELECT count(*), count(DISTINCT dataset_id) FROM dataset_qualities "
            "WHERE source='lcdb'"
        ).fetchone()
        kr = con.scalar(
            "SELECT value FROM dataset_qualities "
            "WHERE dataset_id=3 AND quality='NumberOfInstances'"
        )
    assert len(body) == 219 and len(header) == 66
    assert n == expected
    assert datasets == len({r[0] for r in body if any(v != "" for v in r[2:])})
    assert kr == 3196  # kr-vs-kp


def test_truncated_gzip_rolls_back(tmp_path, store_path, acc_lines, monkeypatch):
    import metabase.imports.lcdb as lcdb

    good = tmp_path / "good"
    good.mkdir()
    write_gz(good / "database-accuracy.csv.gz", acc_lines[:101])
    assert run(store_path, good) == 0
    before = snapshot(store_path)

    # small blocks: several batches are written before the truncation is reached
    monkeypatch.setattr(lcdb, "BLOCK_SIZE", 16 << 10)
    bad = tmp_path / "bad"
    bad.mkdir()
    write_gz(bad / "database-auc.csv.gz", acc_lines)
    data = (bad / "database-auc.csv.gz").read_bytes()
    (bad / "database-auc.csv.gz").write_bytes(data[: len(data) * 3 // 4])
    assert run(store_path, bad) == 1
    assert snapshot(store_path) == before


def test_bad_value_mid_stream_rolls_back(tmp_path, store_path, acc_lines, monkeypatch, capsys):
    import metabase.imports.lcdb as lcdb

    monkeypatch.setattr(lcdb, "BLOCK_SIZE", 16 << 10)
    assert run(store_path, tmp_path / "nothing") == 1  # a missing path: exit 1
    assert "no such file" in capsys.readouterr().err
    lines = list(acc_lines)
    lines[2500] = "44,SVC_linear,notanumber,461,0,0,0.1,0.5,0.5,0.5\n"
    f = tmp_path / "database-f1.csv.gz"
    write_gz(f, lines)
    assert run(store_path, f) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "database-f1.csv.gz" in err[-1]
    assert not store_path.exists() or snapshot(store_path)["learning_curves"][0] == 0


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("database-accuracy.csv.gz", "a,b,c\n1,2,3\n", "unexpected header"),
        ("database-accuracy.csv.gz", "not gzip at all", "not a readable"),
        ("database-precision.csv.gz", None, "unknown LCDB metric"),
        ("curves.csv", "x\n", "not an LCDB file"),
    ],
)
def test_bad_input_one_line_error(tmp_path, store_path, acc_lines, capsys, name, content, message):
    f = tmp_path / name
    if content is None:
        write_gz(f, acc_lines[:10])
    elif name.endswith(".gz") and content.startswith("a,b"):
        write_gz(f, [content])
    else:
        f.write_text(content)
    assert run(store_path, f) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_folder_without_lcdb_files(tmp_path, store_path, capsys):
    (tmp_path / "empty").mkdir()
    assert run(store_path, tmp_path / "empty") == 1
    assert "no LCDB files" in capsys.readouterr().err


@pytest.mark.slow
def test_full_import_documented_counts(openml_data, store_path):
    assert run(store_path, openml_data / LCDB) == 0
    with open_reader(store_path) as con:
        got = dict(
            con.execute(
                "SELECT measure, count(*) FROM learning_curves GROUP BY measure"
            ).fetchall()
        )
        nulls = con.scalar(
            "SELECT count(*) FROM learning_curves WHERE dataset_id IS NULL OR learner IS NULL"
        )
        learners = con.scalar("SELECT count(DISTINCT learner) FROM learning_curves")
    assert got == FULL_ROWS
    assert nulls == 0 and learners == 20
