"""An import may only replace stored rows with a complete, validated input (issue 20, section 1).

Each case starts from a store filled from a slice of the real exports, feeds the bad variant that
used to delete or overwrite stored rows, and checks: exit code 1, one line on stderr, and every
table's content unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from cli.main import main
from metabase.store import open_reader

pytestmark = pytest.mark.realdata

LCDB_ACCURACY = Path("lcdb/lcdb/database-accuracy.csv.gz")
QUALITIES = Path("qualities/openml_dataset_qualities_2872.csv")
SEED_DATASETS = Path("openml-server/data/sql/dataset.sql")


def fingerprint(store: Path) -> dict[str, tuple]:
    """Row count and an order-independent digest of every table: equal means unchanged."""
    with open_reader(store) as con:
        return {
            t: con.execute(
                f"SELECT count(*), coalesce(sum(hash(x::VARCHAR)), 0) FROM {t} x"
            ).fetchone()
            for t in con.tables()
        }


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(store: Path, capsys, *args: str) -> str:
    """Run ``metabase --store STORE *args``; assert exit 1 and one error line; return it."""
    capsys.readouterr()
    rc = main(["--store", str(store), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def imported(store: Path, *args: str) -> None:
    assert main(["--store", str(store), "import", *args]) == 0


def _head(openml_data: Path, n: int) -> list[str]:
    with gzip.open(openml_data / LCDB_ACCURACY, "rt") as f:
        return [next(f) for _ in range(n + 1)]


@pytest.fixture
def curves_store(openml_data, tmp_path) -> Path:
    folder = tmp_path / "lcdb-good"
    folder.mkdir()
    (folder / "database-accuracy.csv").write_text("".join(_head(openml_data, 2000)))
    store = tmp_path / "s.duckdb"
    imported(store, "lcdb", str(folder))
    assert fingerprint(store)["learning_curves"][0] == 2000
    return store


def test_lcdb_header_only_file_keeps_the_curves(openml_data, tmp_path, curves_store, capsys):
    folder = tmp_path / "lcdb-empty"
    folder.mkdir()
    (folder / "database-accuracy.csv").write_text(_head(openml_data, 0)[0])
    before = fingerprint(curves_store)
    assert "no data rows" in refused(curves_store, capsys, "import", "lcdb", str(folder))
    assert fingerprint(curves_store) == before


def test_lcdb_csv_and_csv_gz_of_one_metric_are_refused(
    openml_data, tmp_path, curves_store, capsys
):
    folder = tmp_path / "lcdb-twice"
    folder.mkdir()
    lines = _head(openml_data, 3000)
    (folder / "database-accuracy.csv").write_text("".join(lines[:1001]))
    with gzip.open(folder / "database-accuracy.csv.gz", "wt") as f:
        f.writelines([lines[0], *lines[1001:]])
    before = fingerprint(curves_store)
    line = refused(curves_store, capsys, "import", "lcdb", str(folder))
    assert "database-accuracy.csv" in line and "database-accuracy.csv.gz" in line
    assert fingerprint(curves_store) == before


@pytest.fixture
def qualities_store(openml_data, tmp_path) -> tuple[Path, list[str]]:
    lines = (openml_data / QUALITIES).read_text().splitlines()[:51]
    good = tmp_path / "good.csv"
    good.write_text("\n".join(lines) + "\n")
    store = tmp_path / "s.duckdb"
    imported(store, "qualities-csv", str(good))
    return store, lines


def test_qualities_csv_short_last_row_is_refused(tmp_path, qualities_store, capsys):
    store, lines = qualities_store
    cut = lines[-1].rsplit(",", 5)[0]  # the last row loses its last five fields
    bad = tmp_path / "short.csv"
    bad.write_text("\n".join(lines[:-1] + [cut]) + "\n")
    n_fields = len(lines[0].split(","))
    before = fingerprint(store)
    line = refused(store, capsys, "import", "qualities-csv", str(bad))
    header = lines[0].split(",")
    assert (
        f"line 51, column {header[n_fields - 5]!r}: expected {n_fields} values as in the header, "
        f"found {n_fields - 5}"
    ) in line
    assert fingerprint(store) == before


def test_qualities_csv_header_only_is_refused(tmp_path, qualities_store, capsys):
    store, lines = qualities_store
    bad = tmp_path / "header.csv"
    bad.write_text(lines[0] + "\n")
    before = fingerprint(store)
    assert "no data rows" in refused(store, capsys, "import", "qualities-csv", str(bad))
    assert fingerprint(store) == before


@pytest.fixture
def seed_store(openml_data, tmp_path) -> Path:
    store = tmp_path / "s.duckdb"
    imported(store, "openml-sql", str(openml_data / SEED_DATASETS))
    return store


def _renamed_dump(openml_data: Path, encoding: str, prefix: str = "") -> tuple[bytes, str, str]:
    """The seed's dataset dump with one dataset renamed to hold an 'é', encoded as asked."""
    text = (openml_data / SEED_DATASETS).read_text(encoding="utf-8")
    old = "'anneal'"
    assert old in text
    return (prefix + text.replace(old, "'annéal'", 1)).encode(encoding), "anneal", "annéal"


def test_openml_sql_latin1_dump_is_refused(openml_data, tmp_path, seed_store, capsys):
    data, old, _ = _renamed_dump(openml_data, "latin-1")
    bad = tmp_path / "dataset.sql"
    bad.write_bytes(data)
    before = fingerprint(seed_store)
    line = refused(seed_store, capsys, "import", "openml-sql", str(bad))
    assert "not utf-8 text" in line.lower() and "line " in line
    assert fingerprint(seed_store) == before
    with open_reader(seed_store) as con:
        assert con.scalar("SELECT count(*) FROM datasets WHERE name = ?", [old]) >= 1


def test_openml_sql_latin1_dump_that_declares_it_is_read(openml_data, tmp_path, seed_store):
    data, _, new = _renamed_dump(openml_data, "latin-1", prefix="/*!40101 SET NAMES latin1 */;\n")
    dump = tmp_path / "dataset.sql"
    dump.write_bytes(data)
    imported(seed_store, "openml-sql", str(dump))
    with open_reader(seed_store) as con:
        assert con.scalar("SELECT count(*) FROM datasets WHERE name = ?", [new]) == 1
        assert con.scalar("SELECT count(*) FROM datasets WHERE name LIKE '%\ufffd%'") == 0


@pytest.fixture
def foreign_db(tmp_path) -> Path:
    """Someone's own DuckDB database: tables, but no metabase schema history."""
    path = tmp_path / "mine.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE measurements (id INTEGER, value DOUBLE)")
    con.execute("INSERT INTO measurements VALUES (1, 2.5), (2, 3.5)")
    con.close()
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["import", "qualities-csv", "{good}"],
        ["info"],
        ["sql", "SELECT 1"],
    ],
)
def test_unrelated_duckdb_store_is_refused_untouched(
    tmp_path, foreign_db, qualities_store, capsys, command
):
    good = tmp_path / "good.csv"
    digest = file_digest(foreign_db)
    line = refused(foreign_db, capsys, *[c.format(good=good) for c in command])
    assert "not a metabase store" in line and str(foreign_db) in line
    assert file_digest(foreign_db) == digest
    con = duckdb.connect(str(foreign_db), read_only=True)
    assert [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()] == [
        "measurements"
    ]
    con.close()


def test_store_of_a_newer_schema_is_refused(tmp_path, qualities_store, capsys):
    store, _ = qualities_store
    con = duckdb.connect(str(store))
    con.execute("INSERT INTO schema_migrations VALUES (999, '999_future.sql', now())")
    con.close()
    newer = tmp_path / "newer.duckdb"
    shutil.copy(store, newer)
    digest = file_digest(newer)
    good = tmp_path / "good.csv"
    for command in (["import", "qualities-csv", str(good)], ["info"]):
        assert "schema version 999" in refused(newer, capsys, *command)
    assert file_digest(newer) == digest
